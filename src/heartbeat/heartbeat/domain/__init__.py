"""Pure decisions of the HTTP face: no boto3, no clock, no environment."""
