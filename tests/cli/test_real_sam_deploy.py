"""The users' real deploy path against the local endpoint: `sam build`, then `warmkeeper deploy`, which runs the
real `sam deploy` (samconfig environment, --parameter-overrides for the local network, resolve_s3) and creates the
stack, then a second `warmkeeper deploy` with a new image tag, which updates it; bridged by local_aws.samdeploy."""

from __future__ import annotations

import io
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_aws.endpoint import LocalEndpoint
from local_aws.stack import create_network
from tests.samlocal import sam_build_lock
from warmkeeper_cli.main import Runtime, main

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / ".aws-sam" / "build" / "template.yaml"

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning:moto.cloudformation.parsing")]


@pytest.fixture(scope="module")
def built() -> Path:
    """`sam build` of template.yaml (cached: a second build of unchanged code takes seconds)."""
    environment = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
    # The sam local invoke tests build and read the same .aws-sam folder on other workers.
    with sam_build_lock(exclusive=True):
        result = subprocess.run(  # noqa: S603 - the SAM CLI of the virtual environment
            [str(ROOT / ".venv" / "bin" / "sam"), "build", "--cached", "--parallel"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return BUILT


@pytest.fixture(scope="module")
def endpoint() -> Iterator[LocalEndpoint]:
    with LocalEndpoint() as running:
        running.reset()
        yield running


def test_sam_deploy_creates_then_updates_the_stack(
    built: Path, endpoint: LocalEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert built.is_file()
    for key, value in endpoint.function_environment().items():
        monkeypatch.setenv(key, value)
    # moto reads the bucket out of the template URL sam deploy sends only when the host is a name.
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url.replace("127.0.0.1", "localhost"))
    monkeypatch.setenv("PATH", f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setenv("SAM_CLI_TELEMETRY", "0")
    monkeypatch.chdir(ROOT)
    network = create_network(endpoint)
    subnets = ",".join(network["SubnetIds"])
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        'version = 0.1\n[local.global.parameters]\nstack_name = "warmkeeper"\n'
        '[local.deploy.parameters]\ncapabilities = "CAPABILITY_IAM"\nconfirm_changeset = false\nresolve_s3 = true\n'
        's3_prefix = "warmkeeper"\nregion = "us-east-1"\nparameter_overrides = "MinAwakeMinutes=0"\n',
        encoding="utf-8",
    )
    network_overrides = f"VpcId={network['VpcId']} AlbSubnetIds={subnets} TaskSubnetIds={subnets}"
    seconds = []
    for tag in ("v1", "v2"):
        out, err = io.StringIO(), io.StringIO()
        started = time.monotonic()
        with sam_build_lock(exclusive=False):  # sam deploy packages the built folder
            code = main(
                [
                    "deploy",
                    "--config-env",
                    "local",
                    "--config-file",
                    str(samconfig),
                    "--tag",
                    tag,
                    "--no-confirm",
                    "--parameter-overrides",
                    *network_overrides.split(),
                ],
                Runtime(out=out, err=err),
            )
        seconds.append(time.monotonic() - started)
        assert code == 0, out.getvalue() + err.getvalue()
        assert out.getvalue().splitlines()[-1] == f"deployed: warmkeeper ImageTag={tag}"
    cloudformation = endpoint.client("cloudformation")
    stack = cloudformation.describe_stacks(StackName="warmkeeper")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert {"Key": "warmkeeper:image-tag", "Value": "v2"} in stack["Tags"]
    assert {"Key": "warmkeeper:previous-image-tag", "Value": "v1"} in stack["Tags"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    ecs = endpoint.client("ecs")
    service = ecs.describe_services(cluster=outputs["ClusterName"], services=[outputs["ServiceName"]])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert definition["revision"] == 2
    assert all(c["image"].endswith(":v2") for c in definition["containerDefinitions"])
    assert outputs["StateParameterName"] == "/warmkeeper/warmkeeper/state"
    print(f"sam deploy via warmkeeper deploy: create {seconds[0]:.1f} s, update {seconds[1]:.1f} s")  # noqa: T201
