"""Every ``warmkeeper`` command against the demo's local stack, in the order an operator would use them.

The tests share one local stack (module scope) and run in file order: each starts from the state the
previous one left, as the demo's steps do; with pytest-xdist they stay together on one worker
(``--dist loadfile`` in pyproject.toml)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from local_aws import demo
from local_aws.runtime import LocalAws
from tests.cli.conftest import Cli
from warmkeeper_cli import aws


def _status(cli: Cli) -> dict[str, Any]:
    result = cli("status --stack warmkeeper --json")
    assert result.code == 0, result.err
    document: dict[str, Any] = json.loads(result.out)
    return document


def test_help_lists_every_command() -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "warmkeeper_cli", "--help"], capture_output=True, text=True, check=False
    )
    assert answer.returncode == 0
    for command in ("status", "wake", "sleep", "pin", "unpin", "logs", "deploy", "verify", "rollback"):
        assert f"    {command}" in answer.stdout


def test_status_table_of_the_awake_stack(cli: Cli) -> None:
    result = cli("status --stack warmkeeper")
    assert result.code == 0, result.err
    lines = dict(line.split("  ", 1) for line in result.out.splitlines() if "  " in line and line[0] != " ")
    assert lines["phase"].strip() == "AWAKE"
    assert "desired 1, running 1" in lines["tasks"]
    assert lines["healthy targets"].strip() == "1 of 1 registered"
    assert lines["traffic"].strip().startswith("service (ecs=1 waker=0 on the listener rule)")
    assert lines["pin"].strip() == "none"


def test_status_json_and_watch(cli: Cli) -> None:
    document = _status(cli)
    assert (document["phase"], document["route"], document["healthyTargets"]) == ("awake", "service", 1)
    assert document["imageTag"] == "latest"
    watched = cli("status --stack warmkeeper --json --watch --count 2 --interval 0")
    assert watched.code == 0
    assert [json.loads(line)["phase"] for line in watched.out.splitlines()] == ["awake", "awake"]


def test_pin_for_two_hours_then_unpin(cli: Cli) -> None:
    before = datetime.now(UTC)
    result = cli("pin --stack warmkeeper --for 2h --requested-by alice")
    assert result.code == 0, result.err
    record = _status(cli)["record"]
    until = datetime.fromisoformat(record["pinnedUntil"])
    assert timedelta(hours=1, minutes=59) < until - before < timedelta(hours=2, minutes=1)
    assert record["pinnedBy"] == "alice"
    assert "until" in cli("status --stack warmkeeper").out.split("pin", 1)[1].splitlines()[0]
    assert cli("unpin --stack warmkeeper").code == 0
    assert "pinnedUntil" not in _status(cli)["record"]


def test_pin_until_a_time_in_the_past_is_a_usage_error(cli: Cli) -> None:
    result = cli("pin --stack warmkeeper --until 2020-01-01T00:00Z")
    assert result.code == 2
    assert "in the past" in result.err


def test_sleep_routes_traffic_to_the_waker(cli: Cli, local: LocalAws) -> None:
    assert cli("sleep --stack warmkeeper --reason maintenance").code == 0
    local.ecs.tasks_stop_for_scale_in()
    local.bus.settle()
    document = _status(cli)
    assert (document["phase"], document["route"], document["desiredCount"]) == ("sleeping", "waker", 0)


def test_wake_wait_shows_progress_until_traffic_is_back(cli: Cli, local: LocalAws) -> None:
    cli.between_polls.extend([None, local.ecs.task_comes_up])
    result = cli("wake --stack warmkeeper --wait --interval 0", settle=False)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("Wake Requested sent for warmkeeper")
    assert any("waking: desired 1, running 0, healthy 0, traffic to the waker" in line for line in lines)
    assert lines[-1].startswith("awake: traffic is back on the service")
    assert _status(cli)["route"] == "service"


def test_logs_show_the_decisions_one_line_each(cli: Cli) -> None:
    result = cli("logs --stack warmkeeper --since 1h")
    assert result.code == 0, result.err
    outcomes = [line.split(" ", 2)[2].split(":", 1)[0] for line in result.out.splitlines()]
    assert "slept" in outcomes
    assert "woke" in outcomes
    assert "ready" in outcomes
    woke = next(line for line in result.out.splitlines() if " woke:" in line)
    assert "desired:1" in woke
    assert woke.endswith("<- WakeRequested")


def test_status_tells_the_last_wake_from_the_log(cli: Cli) -> None:
    document = _status(cli)
    assert document["lastWake"]["readyAt"] is not None
    assert document["lastWake"]["seconds"] >= 0
    assert "traffic back after" in cli("status --stack warmkeeper").out


def _fake_sam_deploy(local: LocalAws) -> Any:
    """Stands in for `sam deploy` (the real one against the local endpoint is not bridged yet): applies the
    command line's parameter overrides and tags through CloudFormation, as sam deploy's change set would,
    with UsePreviousValue for the parameters it does not name, then plays ECS's rollout."""

    def run(command: list[str]) -> int:
        assert command[:4] == ["sam", "deploy", "--config-env", "local"]
        overrides = dict(a.split("=", 1) for a in command[command.index("--parameter-overrides") + 1 :] if "=" in a)
        tags_at = command.index("--tags")
        tags = dict(a.split("=", 1) for a in command[tags_at + 1 : command.index("--no-fail-on-empty-changeset")])
        cloudformation = local.stack.endpoint.client("cloudformation")
        known = local.stack.translated["Parameters"]
        parameters = {**local.stack.parameters, **{k: v for k, v in overrides.items() if k in known}}
        cloudformation.update_stack(
            StackName=local.stack.name,
            TemplateBody=json.dumps(local.stack.translated),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
        local.stack.parameters = parameters
        local.ecs.deployment_rolls_out()
        local.bus.settle()
        return 0

    return run


@pytest.fixture
def samconfig(tmp_path: Any) -> str:
    path = tmp_path / "samconfig.toml"
    path.write_text(
        'version = 0.1\n[local.global.parameters]\nstack_name = "warmkeeper"\n'
        '[local.deploy.parameters]\nregion = "us-east-1"\nparameter_overrides = "IdleMinutes=5 ImageTag=old"\n',
        encoding="utf-8",
    )
    return str(path)


def test_deploy_a_new_tag_then_verify(cli: Cli, local: LocalAws, samconfig: str) -> None:
    cli.run_command = _fake_sam_deploy(local)
    cli.between_polls.append(local.ecs.task_comes_up)
    result = cli(f"deploy --config-env local --config-file {samconfig} --tag v2 --no-confirm --verify --interval 0")
    assert result.code == 0, result.out + result.err
    command = cli.commands[-1]
    assert "ImageTag=v2" in command and "ImageTag=old" not in command
    assert "IdleMinutes=5" in command
    assert "warmkeeper:previous-image-tag=latest" in command
    assert "--no-confirm-changeset" in command
    assert "PASS  GET /api/health -> 200 (expected 200)" in result.out
    assert not cli.between_polls, "verify passed before the new revision's task came up"
    assert _status(cli)["imageTag"] == "v2"


def test_verify_fails_on_a_failing_smoke_check(cli: Cli) -> None:
    result = cli("verify --stack warmkeeper --check /api/health --check /api/missing=200 --interval 0")
    assert result.code == 1
    assert "FAIL  GET /api/missing -> 404 (expected 200)" in result.out
    assert "FAILED" in result.out


def test_verify_wakes_a_sleeping_service(cli: Cli, local: LocalAws) -> None:
    assert cli("sleep --stack warmkeeper").code == 0
    local.ecs.tasks_stop_for_scale_in()
    local.bus.settle()
    cli.between_polls.append(local.ecs.task_comes_up)
    result = cli("verify --stack warmkeeper --interval 0")
    assert result.code == 0, result.out + result.err
    assert "woke the service and waited" in result.out
    assert "passed" in result.out


def test_rollback_deploys_the_previous_tag(cli: Cli, local: LocalAws, samconfig: str) -> None:
    cli.run_command = _fake_sam_deploy(local)
    cli.between_polls.append(local.ecs.task_comes_up)
    result = cli(f"rollback --config-env local --config-file {samconfig} --no-confirm --verify --interval 0")
    assert result.code == 0, result.out + result.err
    assert "deploying latest to warmkeeper (was v2)" in result.out
    assert "warmkeeper:previous-image-tag=v2" in cli.commands[-1]
    assert "passed" in result.out
    assert _status(cli)["imageTag"] == "latest"


def test_deploys_record_the_tags_and_an_unknown_stack_is_refused(cli: Cli, local: LocalAws, samconfig: str) -> None:
    cloudformation = local.stack.endpoint.client("cloudformation")
    tags = cloudformation.describe_stacks(StackName="warmkeeper")["Stacks"][0]["Tags"]
    assert {"Key": "warmkeeper:previous-image-tag", "Value": "v2"} in tags
    result = cli("rollback --stack no-such-stack --config-env local --config-file " + samconfig)
    assert result.code == 4
    assert "no stack 'no-such-stack'" in result.err


# ------------------------------------------------------------------ errors


def test_unknown_stack(cli: Cli) -> None:
    result = cli("status --stack no-such-stack")
    assert result.code == 4
    assert "no stack 'no-such-stack'" in result.err
    assert "Traceback" not in result.err


def test_no_credentials(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = cli("wake --stack warmkeeper", settle=False)
    assert result.code == 3
    assert result.err.startswith("warmkeeper wake: no AWS credentials")


def test_timeout(cli: Cli, local: LocalAws) -> None:
    assert cli("sleep --stack warmkeeper").code == 0
    local.ecs.tasks_stop_for_scale_in()
    local.bus.settle()
    result = cli("wake --stack warmkeeper --wait --timeout 0", settle=False)
    assert result.code == 6
    assert "timed out after 0 s" in result.err
    local.bus.settle()
    local.ecs.task_comes_up()
    local.bus.settle()


def test_refused_event(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    original = aws.Aws._client

    def stubbed(self: aws.Aws, service: str) -> Any:
        client = original(self, service)
        if service == "events" and not hasattr(client, "_stubbed"):
            stubber = Stubber(client)
            stubber.add_response(
                "put_events",
                {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try later"}]},
            )
            stubber.activate()
            client._stubbed = stubber
        return client

    monkeypatch.setattr(aws.Aws, "_client", stubbed)
    result = cli("unpin --stack warmkeeper")
    assert result.code == 5
    assert "EventBridge refused the 'Unpin Requested' event: InternalFailure: try later" in result.err


def test_demo_keep_leaves_the_stack_up_and_delivers_events(cli: Cli, local: LocalAws) -> None:
    naps: list[float] = []

    def nap(seconds: float) -> None:
        if naps:
            raise KeyboardInterrupt  # the user's Ctrl-C, after one round of an operator's command
        naps.append(seconds)
        assert cli("pin --stack warmkeeper --for 1h", settle=False).code == 0

    out = io.StringIO()
    demo.keep_running(local, out, sleep=nap)
    printed = out.getvalue()
    assert f"stays up at {local.stack.endpoint.url} until Ctrl-C" in printed
    assert f"export AWS_ENDPOINT_URL={local.stack.endpoint.url}" in printed
    assert printed.endswith("stopping the local stack\n")
    assert "pinnedUntil" in _status(cli)["record"], "the pin put while kept up reached the controller"
    assert cli("unpin --stack warmkeeper").code == 0
