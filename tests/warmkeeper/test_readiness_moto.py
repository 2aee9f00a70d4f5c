"""The readiness watch through the real handler against moto: started by a wake, checks that hand traffic back
without SERVICE_STEADY_STATE, and a watch that cannot start costing the wake nothing."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.warmkeeper.helpers import REGION, FakeContext, emitted_metrics, load_event
from tests.warmkeeper.moto_account import MotoAccount, build_account
from warmkeeper.adapters.aws import default_clients
from warmkeeper.models.settings import get_settings

ASLEEP = (0, 1)
AWAKE = (1, 0)


@pytest.fixture
def account(controller_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoAccount]:
    with mock_aws():
        built = build_account()
        for name, value in built.environment.items():
            monkeypatch.setenv(name, value)
        yield built
        default_clients.cache_clear()


def _machine(definition: dict[str, Any]) -> str:
    states = boto3.client("stepfunctions", region_name=REGION)
    answer = states.create_state_machine(
        name="warmkeeper-readiness",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/warmkeeper-readiness",
        type="EXPRESS",
    )
    return str(answer["stateMachineArn"])


@pytest.fixture
def watched(account: MotoAccount, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = _machine({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    monkeypatch.setenv("READINESS_STATE_MACHINE_ARN", arn)
    get_settings.cache_clear()
    default_clients.cache_clear()
    return arn


def invoke(name: str) -> dict[str, Any]:
    handler = importlib.import_module("warmkeeper.handler")
    event = load_event(name) | {"time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    result: dict[str, Any] = handler.lambda_handler(event, FakeContext())
    return result


def executions(arn: str) -> list[dict[str, Any]]:
    states = boto3.client("stepfunctions", region_name=REGION)
    listed = states.list_executions(stateMachineArn=arn)["executions"]
    return [dict(states.describe_execution(executionArn=e["executionArn"])) for e in listed]


def test_a_wake_starts_one_watch_of_that_wake(account: MotoAccount, watched: str) -> None:
    account.set_desired_count(0)
    result = invoke("wake-requested")
    assert result["outcome"] == "woke"
    assert result["actions"] == ["save-state", "desired:1", "watch-readiness"]
    assert result["awsCalls"][-1] == "states:StartExecution"
    started = executions(watched)
    assert len(started) == 1
    assert json.loads(started[0]["input"]) == {"wakeStartedAt": account.state()["wakeStartedAt"], "checks": 0}
    # A second request during the wake starts nothing more.
    assert invoke("wake-requested")["outcome"] == "wake-in-progress"
    assert len(executions(watched)) == 1


def test_checks_hand_traffic_back_without_steady_state(
    account: MotoAccount, watched: str, capsys: pytest.CaptureFixture[str]
) -> None:
    account.set_alarm("warmkeeper-idle", "ALARM")
    invoke("idle-alarm-to-alarm")
    account.simulate_tasks_gone()
    invoke("wake-requested")
    capsys.readouterr()
    not_yet = invoke("readiness-check")
    assert not_yet["outcome"] == "not-healthy-yet"
    assert not_yet["awsCalls"] == ["ssm:GetParameter", "elbv2:DescribeTargetHealth"]
    assert account.weights() == ASLEEP
    account.simulate_task_healthy()
    ready = invoke("readiness-check")
    assert ready["outcome"] == "ready"
    assert ready["awsCalls"] == [
        "ssm:GetParameter",
        "elbv2:DescribeTargetHealth",
        "elbv2:ModifyRule",
        "ssm:PutParameter",
    ]
    assert account.weights() == AWAKE
    assert "wakeStartedAt" not in account.state()
    assert len(emitted_metrics(capsys.readouterr().out)["WakeLatency"]) == 1
    # The watch's tick after the wake ended costs one read and changes nothing.
    late = invoke("readiness-check")
    assert late["outcome"] == "check-no-wake" and late["awsCalls"] == ["ssm:GetParameter"]
    assert account.weights() == AWAKE


def test_a_watch_that_cannot_start_leaves_the_wake_standing(
    account: MotoAccount,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(
        "READINESS_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:deleted-by-hand"
    )
    get_settings.cache_clear()
    default_clients.cache_clear()
    account.set_desired_count(0)
    result = invoke("wake-requested")
    assert result["outcome"] == "woke"
    assert account.desired_count() == 1 and "wakeStartedAt" in account.state()
    out = capsys.readouterr().out
    assert emitted_metrics(out)["ReadinessWatchFailures"] == [1.0]
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and r.getMessage() == "best-effort action failed"]
    assert len(warnings) == 1
    assert "readiness watch did not start" in str(vars(warnings[0]).get("fault"))


def test_without_a_watch_configured_a_wake_calls_no_step_functions(
    account: MotoAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever an earlier test in this process left in the environment: no watch here.
    monkeypatch.delenv("READINESS_STATE_MACHINE_ARN", raising=False)
    get_settings.cache_clear()
    account.set_desired_count(0)
    result = invoke("wake-requested")
    assert result["outcome"] == "woke"
    assert not any(call.startswith("states:") for call in result["awsCalls"])


def test_a_wake_leaves_its_timeline_in_the_record(account: MotoAccount, watched: str) -> None:
    account.set_desired_count(0)
    assert invoke("wake-requested")["outcome"] == "woke"
    started = account.state()["wakeStartedAt"]
    # The task's RUNNING event (its createdAt after the wake, startedAt a moment later).
    running = load_event("task-running")
    running["detail"]["createdAt"] = started
    running["detail"]["startedAt"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    handler = importlib.import_module("warmkeeper.handler")
    marked = handler.lambda_handler(running | {"time": running["detail"]["startedAt"][:19] + "Z"}, FakeContext())
    assert marked["outcome"] == "task-running-recorded"
    assert marked["awsCalls"] == ["ssm:GetParameter", "ssm:PutParameter"]
    assert "taskRunningAt" in account.state()
    account.simulate_task_healthy()
    assert invoke("readiness-check")["outcome"] == "ready"
    record = account.state()
    assert {"wakeStartedAt", "taskRunningAt", "wakeRequestedAt"}.isdisjoint(record)
    last = record["lastWake"]
    assert last["startedAt"] == started and last["signal"] == "readiness-check"
    assert {"runningAt", "readyAt"} <= set(last)
    assert len(json.dumps(record)) < 1024
    # A task RUNNING with no wake under way (a deployment) reads the record and writes nothing.
    again = handler.lambda_handler(running | {"time": running["detail"]["startedAt"][:19] + "Z"}, FakeContext())
    assert again["outcome"] == "task-running" and again["awsCalls"] == ["ssm:GetParameter"]
