"""Reports what the function sees in the local Lambda image (used by tests/toolchain only)."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import boto3
from botocore.config import Config

import warmkeeper_shared


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name = os.environ.get("PROBE_PARAMETER", "")
    value = None
    if name:
        # Through AWS_ENDPOINT_URL, which botocore reads itself: the local endpoint on the bridge gateway.
        # One attempt: a refused connection is the answer the tests look for, retries only delay it.
        ssm = boto3.client("ssm", config=Config(retries={"total_max_attempts": 1}, connect_timeout=5))
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "boto3": boto3.__version__,
        "boto3_file": boto3.__file__,
        "layer_file": warmkeeper_shared.__file__,
        "sys_path": sys.path,
        "handler": os.environ.get("_HANDLER"),
        "request_id": context.aws_request_id,
        "echo": event,
        "parameter": value,
    }
