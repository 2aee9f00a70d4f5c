"""The Warmkeeper controller: the only writer of the service's desiredCount and the listener's weights."""
