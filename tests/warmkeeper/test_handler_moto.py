"""Every fixture through the real handler against a moto account shaped like the template.

Asserts the resulting desiredCount, rule weights and state parameter, and counts the AWS API calls
each decision makes at the botocore level (independently of the controller's own bookkeeping).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.warmkeeper.helpers import FakeContext, emitted_metrics, load_event
from tests.warmkeeper.moto_account import MotoAccount, build_account
from warmkeeper.adapters.aws import AwsStateError, default_clients
from warmkeeper.models.events import MalformedEventError
from warmkeeper.models.settings import SettingsError, get_settings
from warmkeeper_shared.state import Phase, derive_phase, parse_state

ASLEEP = (0, 1)
AWAKE = (1, 0)


@pytest.fixture
def account(controller_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoAccount]:

    with mock_aws():
        built = build_account()
        for name, value in built.environment.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        default_clients.cache_clear()
        yield built
        default_clients.cache_clear()


@pytest.fixture
def api_calls(account: MotoAccount) -> list[str]:
    """Every AWS API call the handler's clients make, as service:Operation."""

    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(f"{model.service_model.endpoint_prefix}:{model.name}")

    clients = default_clients()
    for client in (clients.ecs, clients.elbv2, clients.cloudwatch, clients.ssm):
        client.meta.events.register("before-call", record)
    return calls


def logged(caplog: pytest.LogCaptureFixture, message: str | None, level: str) -> list[Any]:
    """Log records of the controller's logger with this message (any when None) and level."""
    return [
        r
        for r in caplog.records
        if r.name == "warmkeeper" and r.levelname == level and (message is None or r.getMessage() == message)
    ]


def lambda_handler(event: Any, context: FakeContext) -> dict[str, Any]:
    # Imported at first use, as Lambda does: Powertools' Metrics reads its namespace from the
    # environment when the module is imported, and the environment is set by the fixtures.
    handler = importlib.import_module("warmkeeper.handler")
    result: dict[str, Any] = handler.lambda_handler(event, context)
    return result


def invoke(name: str, calls: list[str] | None = None) -> dict[str, Any]:

    if calls is not None:
        calls.clear()
    # Delivered now, as EventBridge would: the fixture's own time is long past (a stale request wakes nothing).
    event = load_event(name) | {"time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    result: dict[str, Any] = lambda_handler(event, FakeContext())
    return result


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def minutes_ago(minutes: float) -> str:
    return iso(datetime.now(UTC) - timedelta(minutes=minutes))


def put_to_sleep(account: MotoAccount) -> None:
    account.set_alarm("warmkeeper-idle", "ALARM")
    invoke("idle-alarm-to-alarm")
    account.simulate_tasks_gone()
    assert account.desired_count() == 0


# ---------------------------------------------------------------- the lifecycle


def test_sleep_wake_ready(account: MotoAccount, api_calls: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    account.set_alarm("warmkeeper-idle", "ALARM")
    assert invoke("idle-alarm-to-alarm", api_calls)["outcome"] == "slept"
    assert account.desired_count() == 0
    assert account.weights() == ASLEEP
    assert account.state() == {}  # nothing to remember: the count before sleep was 1
    assert api_calls == [
        "monitoring:DescribeAlarms",
        "ssm:GetParameter",
        "ecs:DescribeServices",
        "elasticloadbalancing:ModifyRule",
        "ecs:UpdateService",
    ]
    account.simulate_tasks_gone()

    assert invoke("wake-requested", api_calls)["outcome"] == "woke"
    assert account.desired_count() == 1
    assert account.weights() == ASLEEP  # no healthy target yet
    assert "wakeStartedAt" in account.state()
    assert api_calls == [
        "ssm:GetParameter",
        "ecs:DescribeServices",
        "ssm:PutParameter",
        "ecs:UpdateService",
    ]

    assert invoke("wake-requested", api_calls)["outcome"] == "wake-in-progress"
    assert api_calls == ["ssm:GetParameter", "ecs:DescribeServices"]

    assert invoke("service-steady-state", api_calls)["outcome"] == "not-healthy-yet"
    assert account.weights() == ASLEEP

    account.simulate_task_healthy()
    assert invoke("service-steady-state", api_calls)["outcome"] == "ready"
    assert account.weights() == AWAKE
    state = account.state()
    assert "wakeStartedAt" not in state and "awakeSince" in state
    assert api_calls == [
        "ssm:GetParameter",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:ModifyRule",
        "ssm:PutParameter",
    ]
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["Sleeps"] == [1.0] and metrics["Wakes"] == [1.0]
    assert len(metrics["WakeLatency"]) == 1 and 0 <= metrics["WakeLatency"][0] < 60


def test_count_before_sleep_is_restored(account: MotoAccount, api_calls: list[str]) -> None:
    account.set_desired_count(3)
    put_to_sleep(account)
    assert account.state()["countBeforeSleep"] == 3
    invoke("wake-requested")
    assert account.desired_count() == 3


def test_idle_alarm_back_to_ok_is_ignored(account: MotoAccount, api_calls: list[str]) -> None:
    assert invoke("idle-alarm-back-to-ok", api_calls)["outcome"] == "ignored"
    assert api_calls == []
    assert account.desired_count() == 1 and account.weights() == AWAKE


def test_idle_alarm_event_is_rechecked(account: MotoAccount, api_calls: list[str]) -> None:
    """The event says ALARM but activity came since: the alarm reads OK now, no sleep."""
    account.set_alarm("warmkeeper-idle", "OK")
    assert invoke("idle-alarm-to-alarm", api_calls)["outcome"] == "sleep-skipped"
    assert api_calls == ["monitoring:DescribeAlarms"]
    assert account.desired_count() == 1 and account.weights() == AWAKE


def test_minimum_awake_time(account: MotoAccount, api_calls: list[str]) -> None:
    account.put_state({"awakeSince": minutes_ago(2)})
    account.set_alarm("warmkeeper-idle", "ALARM")
    result = invoke("idle-alarm-to-alarm", api_calls)
    assert result["outcome"] == "sleep-skipped"
    assert account.desired_count() == 1
    assert api_calls == ["monitoring:DescribeAlarms", "ssm:GetParameter"]


def test_wake_backstop_alarm(account: MotoAccount, api_calls: list[str]) -> None:
    put_to_sleep(account)
    account.set_alarm("warmkeeper-wake", "ALARM")
    assert invoke("wake-alarm-to-alarm", api_calls)["outcome"] == "woke"
    assert account.desired_count() == 1
    assert len(api_calls) == 5  # the alarm is re-read first


def test_wake_backstop_alarm_does_not_retry_a_fresh_failure(account: MotoAccount, api_calls: list[str]) -> None:
    put_to_sleep(account)
    invoke("wake-requested")
    invoke("service-task-start-impaired")
    before = account.state_raw()
    account.set_alarm("warmkeeper-wake", "ALARM")
    assert invoke("wake-alarm-to-alarm", api_calls)["outcome"] == "retry-deferred"
    assert api_calls == ["monitoring:DescribeAlarms", "ssm:GetParameter"]
    assert account.state_raw() == before


def test_stopped_task_of_an_awake_service_moves_traffic_to_the_waker(account: MotoAccount) -> None:
    account.put_state({"awakeSince": minutes_ago(30)})
    account.simulate_tasks_gone()  # the only task crashed; its target is gone
    result = invoke("task-stopped")
    assert result["outcome"] == "traffic-to-waker"
    assert account.weights() == ASLEEP
    assert "wakeStartedAt" in account.state()  # tracked as a wake, so its deadline applies


def test_wake_of_a_service_scaled_to_zero_by_hand_then_reconcile_moves_traffic_to_the_waker(
    account: MotoAccount,
) -> None:
    account.set_desired_count(0)
    account.simulate_tasks_gone()
    assert account.weights() == AWAKE
    # The wake does not read the listener (one call less on the visitors' path) ...
    assert invoke("wake-requested")["outcome"] == "woke"
    assert account.desired_count() == 1
    # ... the next reconcile sees traffic on ECS with no healthy target and hands it to the waker.
    invoke("reconcile-tick")
    assert account.weights() == ASLEEP and account.desired_count() == 1


# ---------------------------------------------------------------- pins and manual sleep


def test_pin_wakes_and_blocks_sleep_then_unpin(account: MotoAccount, api_calls: list[str]) -> None:
    put_to_sleep(account)
    assert invoke("pin-requested", api_calls)["outcome"] == "pinned"
    assert account.desired_count() == 1
    pinned_until = datetime.fromisoformat(account.state()["pinnedUntil"])
    # The fixture asks for 2099: capped at MAX_PIN_HOURS.
    assert pinned_until <= datetime.now(UTC) + timedelta(hours=24)
    assert account.state()["pinnedBy"] == "operator@example.com"
    account.simulate_task_healthy()
    invoke("service-steady-state")
    assert account.weights() == AWAKE

    account.put_state(account.state() | {"awakeSince": minutes_ago(60)})
    assert invoke("idle-alarm-to-alarm")["outcome"] == "sleep-skipped"
    assert invoke("sleep-requested")["outcome"] == "sleep-skipped"
    assert account.desired_count() == 1

    assert invoke("unpin-requested", api_calls)["outcome"] == "unpinned"
    assert api_calls == ["ssm:GetParameter", "ssm:PutParameter"]
    assert "pinnedUntil" not in account.state()
    # The idle alarm stayed in ALARM and sends no new event: the next reconcile tick sleeps.
    assert invoke("reconcile-tick")["outcome"] == "slept"
    assert account.desired_count() == 0 and account.weights() == ASLEEP


def test_manual_sleep(account: MotoAccount, api_calls: list[str]) -> None:
    account.put_state({"awakeSince": minutes_ago(1)})
    assert invoke("sleep-requested", api_calls)["outcome"] == "slept"
    assert account.desired_count() == 0 and account.weights() == ASLEEP
    assert len(api_calls) == 4


# ---------------------------------------------------------------- deployments


def test_deploy_while_asleep_stays_asleep(account: MotoAccount, api_calls: list[str]) -> None:
    put_to_sleep(account)
    account.simulate_deployment("IN_PROGRESS")
    assert invoke("deployment-in-progress", api_calls)["outcome"] == "deployment-started"
    assert api_calls == []
    account.simulate_deployment("COMPLETED")
    assert invoke("deployment-completed", api_calls)["outcome"] == "already-asleep"
    assert account.desired_count() == 0 and account.weights() == ASLEEP
    assert invoke("reconcile-tick")["outcome"] == "in-sync"
    assert account.desired_count() == 0


def test_sleep_during_deployment_is_deferred(account: MotoAccount, api_calls: list[str]) -> None:
    account.set_alarm("warmkeeper-idle", "ALARM")
    account.simulate_deployment("IN_PROGRESS")
    assert invoke("idle-alarm-to-alarm")["outcome"] == "sleep-skipped"
    assert account.desired_count() == 1 and account.weights() == AWAKE
    assert invoke("reconcile-tick")["outcome"] == "in-sync"
    account.simulate_deployment("COMPLETED")
    assert invoke("deployment-completed", api_calls)["outcome"] == "slept"
    assert account.desired_count() == 0 and account.weights() == ASLEEP


def test_deployment_failed_is_reported(
    account: MotoAccount, api_calls: list[str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert invoke("deployment-failed", api_calls)["outcome"] == "deployment-failed"
    failure = account.state()["lastDeploymentFailure"]
    assert failure["kind"] == "deployment-failed" and "circuit breaker" in failure["reason"]
    assert emitted_metrics(capsys.readouterr().out)["DeploymentFailures"] == [1.0]
    assert [r.outcome for r in logged(caplog, "decision", "ERROR")] == ["deployment-failed"]


# ---------------------------------------------------------------- wake failures


def test_task_start_impaired_fails_the_wake_visibly_then_a_request_retries(
    account: MotoAccount, api_calls: list[str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:

    put_to_sleep(account)
    invoke("wake-requested")
    assert invoke("service-task-start-impaired", api_calls)["outcome"] == "wake-failed"
    assert api_calls == ["ssm:GetParameter", "ssm:PutParameter"]
    state = account.state()
    assert state["failure"]["kind"] == "task-start-impaired"
    assert derive_phase(parse_state(account.state_raw()), account.desired_count()) is Phase.FAILED
    assert account.weights() == ASLEEP
    assert emitted_metrics(capsys.readouterr().out)["WakeFailures"] == [1.0]
    failed = logged(caplog, "decision", "ERROR")
    assert [r.outcome for r in failed] == ["wake-failed"]
    assert "SERVICE_TASK_START_IMPAIRED" in failed[0].reason

    assert invoke("wake-requested", api_calls)["outcome"] == "wake-retried"
    assert "failure" not in account.state()
    # The failure stays on record (with the new start) until ECS accepted the retry.
    assert api_calls == [
        "ssm:GetParameter",
        "ecs:DescribeServices",
        "ssm:PutParameter",
        "ecs:UpdateService",
        "ssm:PutParameter",
    ]


def test_a_retry_that_ecs_refuses_keeps_the_failure_visible(account: MotoAccount) -> None:
    """UpdateService denied (a policy, a task definition ECS refuses): the failure stays on the waiting page."""
    put_to_sleep(account)
    invoke("wake-requested")
    invoke("service-task-start-impaired")
    denied = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}

    def deny(**_: Any) -> None:
        raise ClientError(cast(Any, denied), "UpdateService")

    default_clients().ecs.meta.events.register("before-call.ecs.UpdateService", deny)
    with pytest.raises(ClientError):
        invoke("wake-requested")
    assert derive_phase(parse_state(account.state_raw()), account.desired_count()) is Phase.FAILED
    assert account.state()["failure"]["kind"] == "task-start-impaired"


def test_a_reconcile_does_not_sleep_on_an_idle_alarm_older_than_the_wake(
    account: MotoAccount, monkeypatch: pytest.MonkeyPatch, api_calls: list[str]
) -> None:
    """MinAwakeMinutes=0: the idle alarm's StateUpdatedTimestamp (read by the adapter) tells stale from fresh."""
    monkeypatch.setenv("MIN_AWAKE_MINUTES", "0")
    get_settings.cache_clear()
    account.set_alarm("warmkeeper-idle", "ALARM")  # moto stamps the change now: before the wake below
    account.put_state({"awakeSince": iso(datetime.now(UTC))})
    result = invoke("reconcile-tick", api_calls)
    assert result["outcome"] == "in-sync"
    assert "since before the wake" in result["reason"]
    assert "monitoring:DescribeAlarms" in api_calls  # the timestamp came with the state, in the same call
    assert account.desired_count() == 1 and account.weights() == AWAKE

    # An alarm that went to ALARM after the wake (stamped now, after awakeSince) is real idleness.
    account.put_state({"awakeSince": minutes_ago(1)})
    account.set_alarm("warmkeeper-idle", "OK")
    account.set_alarm("warmkeeper-idle", "ALARM")
    assert invoke("reconcile-tick", api_calls)["outcome"] == "slept"
    assert account.desired_count() == 0 and account.weights() == ASLEEP


def test_placement_failure_fails_the_wake(account: MotoAccount) -> None:
    put_to_sleep(account)
    invoke("wake-requested")
    invoke("service-task-placement-failure")
    assert account.state()["failure"]["kind"] == "placement-failure"
    assert "RESOURCE:FARGATE" in account.state()["failure"]["reason"]


def test_stopped_task_reason_is_recorded(account: MotoAccount) -> None:
    account.set_desired_count(0)
    account.set_weights(0, 1)
    # A wake that started before the fixture's task was created.
    account.put_state({"wakeStartedAt": "2026-11-22T04:00:00Z"})
    account.set_desired_count(1)
    assert invoke("task-stopped")["outcome"] == "wake-failed"
    failure = account.state()["failure"]
    assert failure["kind"] == "task-stopped"
    assert "CannotPullContainerError" in failure["reason"] and "TaskFailedToStart" in failure["reason"]


def test_wake_past_its_deadline_fails_on_reconcile(account: MotoAccount, api_calls: list[str]) -> None:
    put_to_sleep(account)
    invoke("wake-requested")
    account.put_state(account.state() | {"wakeStartedAt": minutes_ago(6)})
    assert invoke("reconcile-tick", api_calls)["outcome"] == "reconciled"
    assert account.state()["failure"]["kind"] == "deadline-passed"
    assert account.weights() == ASLEEP


# ---------------------------------------------------------------- reconcile


def test_reconcile_in_sync_reads_only(account: MotoAccount, api_calls: list[str]) -> None:
    assert invoke("reconcile-tick", api_calls)["outcome"] == "in-sync"
    assert sorted(api_calls) == sorted(
        [
            "ssm:GetParameter",
            "ecs:DescribeServices",
            "monitoring:DescribeAlarms",
            "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTargetHealth",
        ]
    )


def test_reconcile_repairs_a_hand_scaled_service(account: MotoAccount) -> None:
    account.set_desired_count(0)
    account.simulate_tasks_gone()
    assert account.weights() == AWAKE  # a black hole
    invoke("reconcile-tick")
    assert account.weights() == ASLEEP


def test_reconcile_sleeps_a_service_that_stayed_idle_after_a_wake(account: MotoAccount) -> None:
    account.put_state({"awakeSince": minutes_ago(30)})
    account.set_alarm("warmkeeper-idle", "ALARM")  # no event: it was in ALARM before the wake
    assert invoke("reconcile-tick")["outcome"] == "slept"
    assert account.desired_count() == 0 and account.weights() == ASLEEP


def test_reconcile_wakes_when_the_backstop_stays_in_alarm(account: MotoAccount) -> None:
    put_to_sleep(account)
    account.set_alarm("warmkeeper-wake", "ALARM")
    invoke("reconcile-tick")
    assert account.desired_count() == 1
    assert "wakeStartedAt" in account.state()


def test_reconcile_hands_back_a_missed_ready(account: MotoAccount) -> None:
    put_to_sleep(account)
    invoke("wake-requested")
    account.simulate_task_healthy()
    invoke("reconcile-tick")
    assert account.weights() == AWAKE
    assert "wakeStartedAt" not in account.state()


def test_a_deploy_of_the_users_iac_that_sets_desired_count_is_noticed_and_logged(
    account: MotoAccount, caplog: pytest.LogCaptureFixture
) -> None:
    put_to_sleep(account)
    account.set_desired_count(1)  # what a CDK/Terraform deploy re-applying desiredCount does
    caplog.set_level("INFO")
    assert invoke("reconcile-tick")["outcome"] == "reconciled"
    assert account.weights() == ASLEEP and "wakeStartedAt" in account.state()
    (decision,) = logged(caplog, "decision", "WARNING")
    assert "starting-without-wake-record" in decision.details["repairs"]
    assert "outside Warmkeeper" in decision.reason and "IaC" in decision.reason


def test_the_controller_never_changes_the_listener_default_action(account: MotoAccount) -> None:
    before = account.default_action()
    put_to_sleep(account)
    invoke("wake-requested")
    account.simulate_task_healthy()
    invoke("service-steady-state")
    invoke("reconcile-tick")
    assert account.weights() == AWAKE
    assert account.default_action() == before


def test_a_rule_that_forwards_elsewhere_fails_with_a_clear_error(account: MotoAccount) -> None:
    from tests.warmkeeper.moto_account import _client  # noqa: PLC0415 - only this test rewrites the rule

    _client("elbv2").modify_rule(
        RuleArn=account.rule_arn, Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}]
    )
    with pytest.raises(AwsStateError, match="forwards to neither"):
        invoke("reconcile-tick")


# ---------------------------------------------------------------- ignored and malformed


@pytest.mark.parametrize(
    "name",
    [
        "alarm-of-another-stack",
        "wake-requested-other-stack",
        "service-steady-state-other-service",
        "unknown-event-kind",
        "unknown-warmkeeper-request",
        "idle-alarm-back-to-ok",
    ],
)
def test_not_for_us_is_ignored_with_an_info_log(
    name: str, account: MotoAccount, api_calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    assert invoke(name, api_calls)["outcome"] == "ignored"
    assert api_calls == []
    assert account.desired_count() == 1 and account.weights() == AWAKE and account.state() == {}
    ignored = logged(caplog, "event ignored", "INFO")
    assert len(ignored) == 1 and ignored[0].reason
    assert not logged(caplog, None, "ERROR") and not logged(caplog, None, "WARNING")


@pytest.mark.parametrize("name", ["malformed-alarm-without-state", "malformed-pin-bad-until"])
def test_malformed_events_raise_a_clear_error(
    name: str, account: MotoAccount, api_calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:

    with pytest.raises(MalformedEventError, match="malformed"):
        invoke(name, api_calls)
    assert api_calls == []
    errors = logged(caplog, "malformed event", "ERROR")
    assert len(errors) == 1 and errors[0].event["id"] == load_event(name)["id"]
    assert account.state() == {} and account.desired_count() == 1


def test_a_non_object_event_is_malformed(account: MotoAccount) -> None:

    with pytest.raises(MalformedEventError, match="JSON object"):
        lambda_handler(cast(Any, ["not", "an", "event"]), FakeContext())


# ---------------------------------------------------------------- settings and AWS faults


def test_missing_setting_names_the_variable(controller_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.delenv("IDLE_ALARM_NAME")
    monkeypatch.setenv("MIN_AWAKE_MINUTES", "ten")
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match="IDLE_ALARM_NAME"):
        lambda_handler(load_event("reconcile-tick"), FakeContext())
    monkeypatch.setenv("IDLE_ALARM_NAME", "warmkeeper-idle")
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match="MIN_AWAKE_MINUTES='ten'"):
        lambda_handler(load_event("reconcile-tick"), FakeContext())


def test_the_old_listener_setting_gets_a_clear_error(
    controller_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROUTE_RULE_ARN")
    monkeypatch.setenv("LISTENER_ARN", "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2")
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match=r"LISTENER_ARN is no longer read.*ROUTE_RULE_ARN"):
        lambda_handler(load_event("reconcile-tick"), FakeContext())


def test_throttling_is_retried_by_botocore(account: MotoAccount, api_calls: list[str]) -> None:
    """The clients use botocore's standard retry mode: one throttled answer does not fail the decision."""

    attempts: list[str] = []

    def throttle_once(**_: Any) -> AWSResponse | None:
        attempts.append("send")
        if len(attempts) == 1:
            body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
            return AWSResponse("https://ecs.us-east-1.amazonaws.com/", 400, HTTPHeaders(), _Raw(body))
        return None

    default_clients().ecs.meta.events.register_first("before-send.ecs.DescribeServices", cast(Any, throttle_once))
    account.set_alarm("warmkeeper-idle", "ALARM")
    assert invoke("idle-alarm-to-alarm", api_calls)["outcome"] == "slept"
    assert len(attempts) == 2  # throttled, then retried
    assert api_calls.count("ecs:DescribeServices") == 1  # one logical call


def test_access_denied_fails_the_invocation_loudly(account: MotoAccount, caplog: pytest.LogCaptureFixture) -> None:

    def deny(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        # Answered at before-call, so moto never sees the request (moto answers at before-send).
        error = {"Code": "AccessDeniedException", "Message": "not authorized to perform ecs:UpdateService"}
        return AWSResponse("https://ecs.us-east-1.amazonaws.com/", 400, HTTPHeaders(), _Raw(b"")), {"Error": error}

    default_clients().ecs.meta.events.register_first("before-call.ecs.UpdateService", cast(Any, deny))
    account.set_alarm("warmkeeper-idle", "ALARM")
    with pytest.raises(ClientError, match="AccessDenied"):
        invoke("idle-alarm-to-alarm")
    # Traffic went to the waker first, so the half-done sleep leaves no black hole.
    assert account.weights() == ASLEEP and account.desired_count() == 1
    assert len(logged(caplog, "decision failed; the event will be retried", "ERROR")) == 1
    # Lambda retries the event: the decision re-reads everything and finishes the sleep.
    default_clients().ecs.meta.events.unregister("before-call.ecs.UpdateService", cast(Any, deny))
    assert invoke("idle-alarm-to-alarm")["outcome"] == "slept"
    assert account.desired_count() == 0 and account.weights() == ASLEEP


class _Raw:
    """The raw body botocore reads from an HTTP response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


def test_a_corrupt_state_document_is_rebuilt_and_reported(
    account: MotoAccount, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record someone broke is rebuilt from what AWS tells (here: serving, so awake from now), loudly."""
    account.put_state_raw("pinned until friday")
    result = invoke("reconcile-tick")
    assert result["outcome"] == "in-sync"
    decisions = logged(caplog, "decision", "ERROR")
    assert len(decisions) == 1 and "record was lost" in decisions[0].getMessage() + str(decisions[0].__dict__)
    assert emitted_metrics(capsys.readouterr().out)["StateRecovered"] == [1.0]
    assert set(account.state()) == {"version", "awakeSince", "countBeforeSleep"}
    assert account.desired_count() == 1 and account.weights() == AWAKE
