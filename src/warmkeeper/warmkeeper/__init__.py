"""The Warmkeeper controller: the only writer of the service's desiredCount and the weights of its listener rule."""
