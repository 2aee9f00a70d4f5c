"""Benchmarks: each module's ``main()`` prints a table. ``python -m bench`` runs them all."""

# Fake credentials, one region and no config files (nothing can reach AWS), and the functions' Powertools names:
# the environment every benchmark that runs a function starts from.
OFFLINE_FUNCTION_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "POWERTOOLS_SERVICE_NAME": "warmkeeper",
    "POWERTOOLS_METRICS_NAMESPACE": "Warmkeeper",
}
