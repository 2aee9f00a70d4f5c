"""The cold-start trims (bench/_cold_page.py, bench/controller.py) keep tracing on: in a fresh interpreter
with Lambda's environment and tracing not disabled, each function's tracer patches botocore before its
first AWS call, and that call is traced (a subsegment reaches the X-Ray emitter). What the trims leave out
(the libraries the X-Ray SDK would patch but the functions never use) is not imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATHS = [ROOT / "src" / "heartbeat", ROOT / "src" / "warmkeeper", ROOT / "src" / "shared", ROOT]
LAMBDA = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "POWERTOOLS_SERVICE_NAME": "warmkeeper",
    "LAMBDA_TASK_ROOT": str(ROOT),
    "AWS_LAMBDA_FUNCTION_NAME": "warmkeeper-cold",
    "_X_AMZN_TRACE_ID": "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
}

# Run in the fresh interpreter: import the handler, note what is loaded, make one AWS call (answered by
# botocore's Stubber, so nothing leaves the process) and collect what the X-Ray recorder emitted.
PROBE = """
import json, sys
import {handler} as handler
loaded = {{name: name in sys.modules for name in ("boto3", "requests", "sqlite3", "aws_xray_sdk")}}
from aws_xray_sdk.core import patcher, xray_recorder
patched_at_import = sorted(patcher._PATCHED_MODULES)
client_module_at_import = "botocore.client" in sys.modules
emitted = []
class Emitter:
    def send_entity(self, entity):
        emitted.append(entity.name)
    def set_daemon_address(self, address):
        pass
xray_recorder.emitter = Emitter()
{make_client}
from botocore.stub import Stubber
with Stubber(client) as stub:
    stub.add_response("{operation_snake}", {response})
    with xray_recorder.in_subsegment("probe"):
        client.{operation_snake}(**{params})
print(json.dumps({{"loaded": loaded, "patched": patched_at_import, "disabled": handler.tracer.disabled,
                  "patched_before_call": sorted(patcher._PATCHED_MODULES), "emitted": emitted,
                  "client_module_at_import": client_module_at_import}}))
"""


def _probe(
    handler: str, make_client: str, operation: str, params: dict[str, str], response: dict[str, object]
) -> dict[str, Any]:
    code = PROBE.format(
        handler=handler, make_client=make_client, operation_snake=operation, params=params, response=response
    )
    env = {**os.environ, **LAMBDA, "PYTHONPATH": os.pathsep.join(map(str, PATHS))}
    env.pop("POWERTOOLS_TRACE_DISABLED", None)  # unset, as in Lambda
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("function", ["heartbeat", "controller"])
def test_tracing_is_on_and_traces_the_first_aws_call(function: str) -> None:
    if function == "heartbeat":
        handler, make_client = "heartbeat.handler", "from heartbeat.adapters import aws\nclient = aws._ssm()"
    else:
        # The handler's own way to its clients: the controller patches there, not at import.
        handler, make_client = "warmkeeper.handler", "client = handler.aws_clients().ssm"
    result = _probe(handler, make_client, "get_parameter", {"Name": "/x"}, {"Parameter": {"Value": "{}"}})
    assert result["disabled"] is False
    # The HTTP face patches with its import; the controller with its first clients. Both before any call.
    assert result["patched"] == (["botocore"] if function == "heartbeat" else [])
    assert result["patched_before_call"] == ["botocore"]
    assert result["loaded"]["aws_xray_sdk"] is True
    # Not loaded for nothing: the X-Ray SDK would import these to patch them.
    assert result["loaded"]["requests"] is False
    assert result["loaded"]["sqlite3"] is False
    # The call was traced: its subsegment (named after the service) was emitted inside ours.
    assert result["emitted"] == ["ssm", "probe"]


def test_the_controller_handler_imports_no_boto3_before_its_first_client() -> None:
    result = _probe("warmkeeper.handler", "client = handler.aws_clients().ssm", "get_parameter", {"Name": "/x"}, {})
    assert result["loaded"]["boto3"] is False
    assert result["client_module_at_import"] is False


def test_the_cold_page_floor_makes_the_faces_two_calls_with_the_faces_client_configuration() -> None:
    from bench import _cold_page  # noqa: PLC0415 - the bench's module, not a function's
    from heartbeat.adapters.aws import _BOTO_CONFIG  # noqa: PLC0415

    for name, value in _cold_page.FACE_CLIENT_CONFIG.items():
        assert getattr(_BOTO_CONFIG, name) == value, name
    env = {**os.environ, **_cold_page.ENVIRONMENT, "PYTHONPATH": os.pathsep.join(map(str, PATHS))}
    # The floor exits 1 when its calls are not exactly the waiting page's two (GetParameter, PutEvents), or
    # when it loaded any of the face's own modules.
    done = subprocess.run(
        [sys.executable, "-m", "bench._cold_page", "--floor"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
