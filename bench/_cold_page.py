"""A cold HTTP face, as the first visitor after a sleep meets it, in this fresh interpreter.

Run by bench/heartbeat.py (``python -m bench._cold_page``, timed as a whole process): the Lambda
environment (tracing on), the handler imported, settings read, one waiting-page request answered. AWS is
mocked where botocore would send a request over the network, so clients are created and requests signed
and parsed as in Lambda; only the network round trips are left out. The X-Ray segments go to the daemon
address on loopback, as in Lambda.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

from bench import OFFLINE_FUNCTION_ENV

ROOT = Path(__file__).resolve().parents[1]
EVENT = ROOT / "events" / "heartbeat" / "waiting-page.json"
ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/warmkeeper-ecs/0123456789abcdef"
ENVIRONMENT = {
    **OFFLINE_FUNCTION_ENV,
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # As Lambda sets them with active tracing: the Tracer is on, and the SDK finds its trace header.
    "LAMBDA_TASK_ROOT": str(ROOT / "src" / "heartbeat"),
    "AWS_LAMBDA_FUNCTION_NAME": "warmkeeper-heartbeat",
    "_X_AMZN_TRACE_ID": "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "STACK_NAME": "warmkeeper",
    "CLUSTER_NAME": "warmkeeper",
    "SERVICE_NAME": "warmkeeper",
    "STATE_PARAMETER_NAME": "/warmkeeper/warmkeeper/state",
    "ECS_TARGET_GROUP_ARN": ARN,
    "TOKEN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:warmkeeper/heartbeat-token",
    "SERVICE_DISPLAY_NAME": "City Guided",
    "HOLD_SECONDS": "20",
    "HOLD_TABLE_NAME": "warmkeeper-holds",
    "HTTP_FACE_CONCURRENCY": "10",
}
# What AWS answers, by the X-Amz-Target of the request (both calls of a waiting-page hit are JSON APIs).
ANSWERS = {
    "AmazonSSM.GetParameter": {
        "Parameter": {"Name": "/warmkeeper/warmkeeper/state", "Type": "String", "Value": "{}", "Version": 1}
    },
    "AWSEvents.PutEvents": {"FailedEntryCount": 0, "Entries": [{"EventId": "11710aed-b79e-4468-a20b-bb3c0c3b4860"}]},
}


# The HTTP face's client configuration (heartbeat/adapters/aws.py), repeated here because importing it would
# load the face into the floor; tests/coldpath keeps the two equal.
FACE_CLIENT_CONFIG: dict[str, Any] = {
    "connect_timeout": 0.5,
    "read_timeout": 1,
    "retries": {"mode": "standard", "total_max_attempts": 2},
}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def _mock_the_network() -> list[str]:
    import botocore.awsrequest  # noqa: PLC0415 - boto3 loads them anyway; the environment is set first
    import botocore.endpoint  # noqa: PLC0415

    sent: list[str] = []

    def send(_endpoint: Any, request: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else str(target)
        sent.append(target)
        body = json.dumps(ANSWERS[target]).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "cold"}
        return botocore.awsrequest.AWSResponse(request.url, 200, headers, _Raw(body))  # type: ignore[arg-type]

    botocore.endpoint.Endpoint._send = send  # type: ignore[attr-defined]
    return sent


class _Context:
    function_name = "warmkeeper-heartbeat"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:warmkeeper-heartbeat"
    aws_request_id = "7d3a5e3c-0a3b-4f5e-9f0e-2f5a2b9c1d11"

    def get_remaining_time_in_millis(self) -> int:
        return 35_000


def floor() -> int:
    """What any traced Powertools function pays to make the page's two AWS calls, and nothing of the face:
    boto3, the Tracer patching botocore, the Logger and Metrics, the two clients and their two requests.
    The face's own code, pydantic and the event handler come on top of this."""
    os.environ.update(ENVIRONMENT)
    sent = _mock_the_network()
    import boto3  # noqa: PLC0415 - the cold path being measured
    from aws_lambda_powertools import Logger, Metrics, Tracer  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    Tracer(patch_modules=("botocore",))
    Logger()
    Metrics()
    config = Config(**FACE_CLIENT_CONFIG)
    boto3.client("ssm", config=config).get_parameter(Name=ENVIRONMENT["STATE_PARAMETER_NAME"])
    boto3.client("events", config=config).put_events(
        Entries=[{"Source": "warmkeeper", "DetailType": "Wake Requested", "Detail": "{}"}]
    )
    if sorted(sent) != sorted(ANSWERS):
        sys.stderr.write(f"the floor made other calls: {sent}\n")
        return 1
    face = sorted(name for name in sys.modules if name.partition(".")[0] in ("heartbeat", "warmkeeper_shared"))
    if face:
        sys.stderr.write(f"the floor loaded the face's own modules: {face}\n")
        return 1
    return 0


def main() -> int:
    if sys.argv[1:] == ["--floor"]:
        return floor()
    os.environ.update(ENVIRONMENT)
    event = json.loads(EVENT.read_text())
    sent = _mock_the_network()
    from heartbeat.handler import lambda_handler  # noqa: PLC0415 - the cold path being measured

    response = lambda_handler(event, _Context())
    body = str(response.get("body", ""))
    if response["statusCode"] != 503 or "<html" not in body or sorted(sent) != sorted(ANSWERS):
        sys.stderr.write(f"not the waiting page: {response['statusCode']} {body[:200]!r} calls {sent}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def packages_beyond_boto3() -> list[str]:
    """Third-party packages this cold path loads that ``import boto3`` alone does not (run in a fresh
    interpreter: ``python -c 'from bench._cold_page import packages_beyond_boto3 as p; print(p())'``)."""
    import boto3  # noqa: F401, PLC0415 - what boto3 alone loads, first

    def third_party() -> set[str]:
        tops = {name.partition(".")[0] for name in list(sys.modules)}
        return {name for name in tops if name not in sys.stdlib_module_names and not name.startswith("_")}

    before = third_party()
    os.environ.update(ENVIRONMENT)
    sent = _mock_the_network()
    from heartbeat.handler import lambda_handler  # noqa: PLC0415

    with contextlib.redirect_stdout(io.StringIO()):
        lambda_handler(json.loads(EVENT.read_text()), _Context())
    if sorted(sent) != sorted(ANSWERS):
        raise RuntimeError(f"the cold page made other calls: {sent}")
    return sorted(third_party() - before - {"heartbeat", "warmkeeper_shared", "bench"})
