"""The controller under hostile input: the audit's findings, each with its regression test, and the
Hypothesis properties every event must satisfy (strategies in tests/hostile.py).

Everything goes through the real handler, over the in-memory AWS of the property tests (fast enough for
a thousand events a run); the record's loss is also shown against moto in test_handler_moto.py.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import hostile
from tests.warmkeeper.fake_aws import World, _Ssm
from tests.warmkeeper.helpers import ECS_TG_ARN, WAKER_TG_ARN, FakeContext, emitted_metrics, load_event
from warmkeeper.adapters.aws import AwsClients
from warmkeeper.models.events import MalformedEventError
from warmkeeper_shared.state import MAX_REASON_BYTES, bounded_text, parse_state

SCALE = float(os.environ.get("WARMKEEPER_HOSTILE_SCALE", "1"))
HOSTILE = settings(
    max_examples=max(1, int(800 * SCALE)),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
NEVER_DELIVERED = settings(HOSTILE, max_examples=max(1, int(200 * SCALE)))


class _DeletableSsm(_Ssm):
    """SSM as AWS answers for a deleted parameter (``World.parameter`` None)."""

    def get_parameter(self, *, Name: str) -> dict[str, Any]:
        if self.world.parameter is None:
            self.world.before_call("ssm:GetParameter", {"Name": Name})
            error: Any = {"Error": {"Code": "ParameterNotFound", "Message": ""}, "ResponseMetadata": {}}
            raise ClientError(error, "GetParameter")
        return super().get_parameter(Name=Name)


class Harness:
    """The real handler over an in-memory world; ``world`` can be replaced between invocations."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.world = World()
        self.handler = importlib.import_module("warmkeeper.handler")
        monkeypatch.setattr(self.handler, "default_clients", self.clients)

    def clients(self) -> AwsClients:
        base = self.world.clients()
        return AwsClients(
            ecs=base.ecs, elbv2=base.elbv2, cloudwatch=base.cloudwatch, ssm=cast(Any, _DeletableSsm(self.world))
        )

    def asleep(self) -> World:
        self.world = World(desired=0, healthy=0, weights={ECS_TG_ARN: 0, WAKER_TG_ARN: 1})
        self.world.now = datetime.now(UTC)
        self.world.alarms["warmkeeper-idle"] = "ALARM"
        return self.world

    def snapshot(self) -> tuple[int, dict[str, int], str | None]:
        return self.world.desired, dict(self.world.weights), self.world.parameter

    def invoke(self, event: Any, context: Any = None) -> dict[str, Any]:
        result: dict[str, Any] = self.handler.lambda_handler(event, context or FakeContext())
        return result


@pytest.fixture
def harness(controller_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    yield Harness(monkeypatch)


def now_text(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(name: str, **changes: Any) -> dict[str, Any]:
    """A fixture from events/warmkeeper/, delivered now unless ``time`` says otherwise."""
    return load_event(name) | {"time": now_text()} | changes


# ---------------------------------------------------------------- the record


def test_a_deleted_record_is_rebuilt_and_a_sleeping_service_still_wakes(
    harness: Harness, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Finding: a deleted record stopped the controller for good (ParameterNotFound on every event)."""
    world = harness.asleep()
    world.parameter = cast(Any, None)
    result = harness.invoke(event("wake-requested"))
    assert result["outcome"] == "woke"
    assert world.desired == 1
    assert parse_state(world.parameter).wake_started_at is not None  # the parameter exists again
    assert emitted_metrics(capsys.readouterr().out)["StateRecovered"] == [1.0]
    [decision] = [r for r in caplog.records if r.getMessage() == "decision"]
    assert decision.levelname == "ERROR" and "record was lost" in decision.__dict__["reason"]


@pytest.mark.parametrize("garbage", ["pinned until friday", "[]", '{"version": 2}', '{"failure": {"kind": 1}}', "\x00"])
def test_a_corrupt_record_is_rebuilt_from_what_aws_tells(harness: Harness, garbage: str) -> None:
    """Finding: a corrupt record failed 56 of 56 invocations (StateDocumentError) and nothing repaired it."""
    world = harness.world  # awake, serving
    world.now = datetime.now(UTC)
    world.parameter = garbage
    world.alarms["warmkeeper-idle"] = "ALARM"
    result = harness.invoke(event("idle-alarm-to-alarm"))
    # Rebuilt as awake from now: the minimum awake time protects the service from a sleep on a lost record.
    assert result["outcome"] == "sleep-skipped"
    assert world.desired == 1
    rebuilt = parse_state(world.parameter)
    assert rebuilt.awake_since is not None and rebuilt.wake_started_at is None


def test_a_corrupt_record_with_tasks_wanted_but_none_healthy_is_rebuilt_as_a_wake_with_a_deadline(
    harness: Harness,
) -> None:
    world = harness.world
    world.now = datetime.now(UTC)
    world.healthy = 0
    world.weights = {ECS_TG_ARN: 0, WAKER_TG_ARN: 1}
    world.parameter = "{not json"
    result = harness.invoke(event("reconcile-tick"))
    assert result["outcome"] in ("in-sync", "reconciled")
    assert parse_state(world.parameter).wake_started_at is not None


# ---------------------------------------------------------------- bounded text


@pytest.mark.parametrize("length", [2029, 2049, 5000, 100_000])
def test_long_ecs_failure_reasons_never_raise_and_the_record_stays_small(harness: Harness, length: int) -> None:
    """Finding: a reason over 2,048 characters raised a ValidationError inside decide; two long reasons made
    a record of 4,281 characters (SSM's standard parameters hold 4,096)."""
    world = harness.asleep()
    harness.invoke(event("wake-requested"))
    stopped = event("task-stopped")
    stopped["detail"] = stopped["detail"] | {
        "stoppedReason": 'é"\\\x01' * (length // 4),
        "createdAt": now_text(timedelta(seconds=1)),  # the wake's tasks come after its start
    }
    assert harness.invoke(stopped)["outcome"] == "wake-failed"
    failed = event("deployment-failed")
    failed["detail"] = failed["detail"] | {"reason": "\u2028" * length}
    harness.invoke(failed)
    record = world.parameter
    state = parse_state(record)
    assert state.failure is not None and state.last_deployment_failure is not None
    assert len(record.encode("utf-8")) < 2048, len(record.encode("utf-8"))


@given(st.text(max_size=3000))
@settings(max_examples=300, deadline=None, database=None)
def test_bounded_text_fits_its_json_size_whatever_the_text(text: str) -> None:
    cut = bounded_text(text, MAX_REASON_BYTES)
    assert len(json.dumps(cut, ensure_ascii=False).encode("utf-8")) - 2 <= MAX_REASON_BYTES
    if (
        len(json.dumps(text, ensure_ascii=False).encode("utf-8", "replace")) - 2 <= MAX_REASON_BYTES
        and text.isprintable()
    ):
        assert cut == text


# ---------------------------------------------------------------- origin and time


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("wake-requested", {"account": "999999999999"}),
        ("sleep-requested", {"account": "999999999999"}),
        ("pin-requested", {"account": "999999999999"}),
        ("wake-requested", {"region": "eu-west-1"}),
        ("idle-alarm-to-alarm", {"region": "eu-west-1"}),
    ],
)
def test_events_of_another_account_or_region_change_nothing(
    harness: Harness, name: str, change: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Finding: ``account`` and ``region`` were never checked (13 wrong state changes)."""
    harness.asleep() if name == "wake-requested" else None
    harness.world.alarms["warmkeeper-idle"] = "ALARM"
    before = harness.snapshot()
    result = harness.invoke(event(name, **change))
    assert result["outcome"] == "ignored"
    assert harness.snapshot() == before
    assert harness.world.calls == []
    assert emitted_metrics(capsys.readouterr().out)["ForeignEventsIgnored"] == [1.0]


def test_the_origin_comes_from_the_function_arn_and_the_region(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.asleep()
    other = FakeContext(invoked_function_arn="arn:aws:lambda:eu-west-1:555555555555:function:x")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert harness.invoke(event("wake-requested", region="eu-west-1"), other)["outcome"] == "ignored"
    assert harness.invoke(event("wake-requested", account="555555555555", region="eu-west-1"), other)["outcome"] == (
        "woke"
    )


def test_an_account_id_variable_wins_over_the_arn(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    harness.asleep()
    monkeypatch.setenv("ACCOUNT_ID", "555555555555")
    assert harness.invoke(event("wake-requested"))["outcome"] == "ignored"


def test_under_the_lambda_emulator_only_the_region_is_checked(harness: Harness) -> None:
    """``sam local invoke`` (the runtime interface emulator) puts the placeholder account 012345678912 in
    every function ARN; the events it is given carry the real one."""
    harness.asleep()
    emulator = FakeContext(invoked_function_arn="arn:aws:lambda:us-east-1:012345678912:function:WarmkeeperFunction")
    assert harness.invoke(event("wake-requested", region="eu-west-1"), emulator)["outcome"] == "ignored"
    assert harness.invoke(event("wake-requested"), emulator)["outcome"] == "woke"


def test_a_forged_wake_alarm_event_wakes_nothing_while_the_alarm_is_ok(harness: Harness) -> None:
    """Finding: 38 of 38 forged wake-alarm ALARM events woke a service whose alarm was OK."""
    world = harness.asleep()
    before = harness.snapshot()
    result = harness.invoke(event("wake-alarm-to-alarm"))
    assert result["outcome"] == "wake-alarm-not-in-alarm"
    assert harness.snapshot() == before
    world.alarms["warmkeeper-wake"] = "ALARM"
    assert harness.invoke(event("wake-alarm-to-alarm"))["outcome"] == "woke"


def test_a_wake_request_delivered_an_hour_late_wakes_nothing(harness: Harness) -> None:
    """Finding: the event time was never read; EventBridge may deliver for up to a day."""
    harness.asleep()
    before = harness.snapshot()
    result = harness.invoke(event("wake-requested", time=now_text(-timedelta(hours=1))))
    assert result["outcome"] == "wake-request-stale"
    assert result["awsCalls"] == []
    assert harness.snapshot() == before
    # Lambda's own retries (about 1 and 2 minutes later) still act.
    assert harness.invoke(event("wake-requested", time=now_text(-timedelta(minutes=3))))["outcome"] == "woke"


def test_a_stale_task_start_impaired_does_not_fail_the_new_wake(harness: Harness) -> None:
    """Finding: a SERVICE_TASK_START_IMPAIRED from before a retry failed the new wake at once."""
    world = harness.asleep()
    harness.invoke(event("wake-requested"))
    assert parse_state(world.parameter).wake_started_at is not None
    stale = event("service-task-start-impaired", time=now_text(-timedelta(minutes=2)))
    result = harness.invoke(stale)
    assert result["outcome"] == "failure-outside-wake"
    assert parse_state(world.parameter).failure is None
    assert (
        harness.invoke(event("service-task-start-impaired", time=now_text(timedelta(seconds=1))))["outcome"]
        == "wake-failed"
    )


# ---------------------------------------------------------------- faults


def test_a_failed_update_service_during_a_wake_is_completed_by_the_lambda_retry(harness: Harness) -> None:
    """Finding: the retry of the same event saw "wake in progress"; only the reconcile fixed it."""
    world = harness.asleep()
    wake = event("wake-requested")
    world.persistent_faults["ecs:UpdateService"] = "throttling"
    with pytest.raises(ClientError):
        harness.invoke(wake)
    assert world.desired == 0 and parse_state(world.parameter).wake_started_at is not None
    world.persistent_faults.clear()
    result = harness.invoke(wake)  # Lambda's retry: the very same event
    assert result["outcome"] == "wake-resumed"
    assert world.desired == 1


# ---------------------------------------------------------------- what the SAM CLI generates


SAM_SCHEDULED = "sam-generated-scheduled-event"


def test_sam_cli_scheduled_events_are_accepted(harness: Harness) -> None:
    """Finding: ``sam local generate-event cloudwatch scheduled-event`` (no ``version``) was refused.

    The stored file is what the installed SAM CLI prints (checked here when it is on PATH); it is the only
    event kind the SAM CLI generates that the controller's rules deliver.
    """
    sam = shutil.which("sam")
    if sam is not None:
        printed = subprocess.run(  # noqa: S603
            [sam, "local", "generate-event", "cloudwatch", "scheduled-event"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        ).stdout
        assert json.loads(printed) == load_event(SAM_SCHEDULED)
    scheduled = load_event(SAM_SCHEDULED)
    assert "version" not in scheduled
    result = harness.invoke(scheduled)  # its 1970 time is no reason to refuse a reconcile
    assert result["outcome"] == "in-sync"


# ---------------------------------------------------------------- issue 10: a scale-in is not a failure


def test_the_scale_in_of_a_sleep_is_not_reported_as_a_failure(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.asleep()
    stopped = event("task-stopped")
    stopped["detail"] = stopped["detail"] | {"stoppedReason": "Scaling activity initiated by (deployment ecs-svc/1)"}
    result = harness.invoke(stopped)
    assert result["outcome"] == "task-stopped"
    assert "not a wake failure" in result["reason"]
    [decision] = [r for r in caplog.records if r.getMessage() == "decision"]
    assert decision.levelname == "INFO"


# ---------------------------------------------------------------- properties over hostile events


def _stamp(event: Any) -> Any:
    if isinstance(event, dict):
        if event.get("time") == "NOW":
            event["time"] = now_text()
        detail = event.get("detail")
        if isinstance(detail, dict) and detail.get("createdAt") == "NOW":
            detail["createdAt"] = now_text()
    return event


def _deliver(harness: Harness, event: Any) -> dict[str, Any] | None:
    """Invoke; None when the event was refused as malformed (the intended path to the dead-letter queue)."""
    try:
        return harness.invoke(event)
    except MalformedEventError:
        return None


@HOSTILE
@given(event=hostile.eventbridge_events(), asleep=st.booleans())
def test_hostile_eventbridge_events(
    harness: Harness, event: dict[str, Any], asleep: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    if asleep:
        harness.asleep()
    else:
        harness.world = World()
        harness.world.now = datetime.now(UTC)
    before = harness.snapshot()
    result = _deliver(harness, _stamp(event))
    capsys.readouterr()
    if result is None or result["outcome"] == "ignored" or hostile.is_foreign(event):
        assert harness.snapshot() == before, (event, result)
        return
    # Acted on: the decision followed its own safe order, whatever the text it carried.
    assert isinstance(result["outcome"], str)
    assert harness.world.parameter is None or len(harness.world.parameter.encode()) < 2048
    if harness.world.desired == 0:
        assert harness.world.weights[ECS_TG_ARN] == 0, (event, result)
    forged_alarm = event.get("source") == "aws.cloudwatch" and harness.world.alarms["warmkeeper-wake"] != "ALARM"
    if forged_alarm and asleep:
        assert harness.world.desired == 0, (event, result)


@NEVER_DELIVERED
@given(event=hostile.events_never_delivered())
def test_events_no_rule_delivers(harness: Harness, event: Any, capsys: pytest.CaptureFixture[str]) -> None:
    before = harness.snapshot()
    result = _deliver(harness, event)
    capsys.readouterr()
    assert result is None or result["outcome"] == "ignored", (event, result)
    assert harness.snapshot() == before
