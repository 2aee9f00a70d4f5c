"""What a function sees under `sam local invoke` in the local image, through a probe function
(tests/toolchain/probe): the interpreter, boto3 from the runtime, the shared layer under /opt, the import
path of AWS's runtime, and a local AWS endpoint on the Docker bridge, or no endpoint at all."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.samlocal import NO_ENDPOINT, REGION, REPO_ROOT, SamLocal, require_docker

pytestmark = pytest.mark.docker

PROBE_TEMPLATE = REPO_ROOT / "tests" / "toolchain" / "probe" / "template.yaml"


@pytest.fixture(scope="session")
def probe() -> SamLocal:
    require_docker()
    project = SamLocal(template=PROBE_TEMPLATE)
    project.build()
    return project


def test_probe_runs_in_the_local_image_with_the_layer_and_the_runtime_path(probe: SamLocal) -> None:
    result = probe.invoke("ProbeFunction", {"ping": 1})

    assert result.error is None, result.logs
    seen: dict[str, Any] = result.payload
    assert seen["python"].startswith("3.13.")
    assert seen["executable"] == "/var/lang/bin/python3.13"
    assert seen["handler"] == "probe.handler"
    assert seen["echo"] == {"ping": 1}
    # boto3 comes from the runtime, the shared contract from the layer SAM put under /opt.
    assert seen["boto3_file"] == "/var/runtime/boto3/__init__.py"
    assert seen["layer_file"] == "/opt/python/warmkeeper_shared/__init__.py"
    # Function code first, then layers, then the runtime, as in AWS's python3.13 runtime.
    path = [entry for entry in seen["sys_path"] if entry.startswith(("/var/task", "/opt", "/var/runtime"))]
    assert list(dict.fromkeys(path)) == [
        "/var/task",
        "/opt/python/lib/python3.13/site-packages",
        "/opt/python",
        "/var/runtime",
    ]
    assert result.duration_ms is not None


def test_probe_reads_the_local_endpoint_on_the_bridge(probe: SamLocal, moto_bridge_endpoint: str) -> None:
    ssm = boto3.client("ssm", endpoint_url=moto_bridge_endpoint, region_name=REGION)
    ssm.put_parameter(Name="/probe/greeting", Value="hello from moto", Type="String")

    result = probe.invoke(
        "ProbeFunction",
        {},
        env={"AWS_ENDPOINT_URL": moto_bridge_endpoint, "PROBE_PARAMETER": "/probe/greeting"},
    )

    assert result.error is None, result.logs
    assert result.payload["parameter"] == "hello from moto"


def test_without_an_endpoint_aws_calls_fail_locally_instead_of_reaching_aws(probe: SamLocal) -> None:
    result = probe.invoke("ProbeFunction", {}, env={"PROBE_PARAMETER": "/probe/greeting"})

    assert result.error is not None
    assert "EndpointConnectionError" in result.error
    assert NO_ENDPOINT in result.error
