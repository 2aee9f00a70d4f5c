"""The sleep, wake and ready fixtures through ``sam local invoke`` of the built controller (code, layer,
requirements) in the local Lambda image, against a moto server shaped like the template."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.samlocal import SamLocal, stack_env
from tests.warmkeeper import moto_account
from tests.warmkeeper.helpers import load_event
from tests.warmkeeper.moto_account import MotoAccount, build_account

FUNCTION = "WarmkeeperFunction"
ASLEEP, AWAKE = (0, 1), (1, 0)


@pytest.fixture
def bridge_account(moto_bridge_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoAccount]:
    """The account, built in the moto server the function containers reach."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_bridge_endpoint)
    moto_account._CLIENTS.clear()  # test-side clients must talk to the server
    yield build_account()
    moto_account._CLIENTS.clear()


@pytest.mark.docker
@pytest.mark.slow
def test_sleep_wake_ready_through_sam_local_invoke(
    sam_local: SamLocal, moto_bridge_endpoint: str, bridge_account: MotoAccount
) -> None:
    account = bridge_account
    env = stack_env(moto_bridge_endpoint) | {
        "ROUTE_RULE_ARN": account.rule_arn,
        "ECS_TARGET_GROUP_ARN": account.ecs_tg_arn,
        "WAKER_TARGET_GROUP_ARN": account.waker_tg_arn,
    }

    account.set_alarm("warmkeeper-idle", "ALARM")
    sleep = sam_local.invoke(FUNCTION, "warmkeeper/idle-alarm-to-alarm.json", env=env)
    assert sleep.error is None, sleep.logs[-3000:]
    assert sleep.payload["outcome"] == "slept"
    assert sleep.payload["awsCalls"] == [
        "cloudwatch:DescribeAlarms",
        "ssm:GetParameter",
        "ecs:DescribeServices",
        "elbv2:ModifyRule",
        "ecs:UpdateService",
    ]
    assert account.desired_count() == 0 and account.weights() == ASLEEP
    emf = [record for record in sleep.log_records if "_aws" in record]
    assert any(record.get("Sleeps") == [1.0] for record in emf)
    account.simulate_tasks_gone()  # what ECS does after desiredCount 0

    # Delivered now: a wake request older than five minutes wakes nothing.
    fresh = load_event("wake-requested") | {"time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    wake = sam_local.invoke(FUNCTION, fresh, env=env)
    assert wake.error is None, wake.logs[-3000:]
    assert wake.payload["outcome"] == "woke"
    assert account.desired_count() == 1 and account.weights() == ASLEEP
    assert "wakeStartedAt" in account.state()

    account.simulate_task_healthy()  # moto runs no task: the target ECS would register, healthy
    ready = sam_local.invoke(FUNCTION, "warmkeeper/service-steady-state.json", env=env)
    assert ready.error is None, ready.logs[-3000:]
    assert ready.payload["outcome"] == "ready"
    assert account.weights() == AWAKE
    state = account.state()
    assert "awakeSince" in state and "wakeStartedAt" not in state
    assert any("WakeLatency" in record for record in ready.log_records if "_aws" in record)
    decision = [r for r in ready.log_records if r.get("message") == "decision"]
    assert decision and decision[0]["correlation_id"] == "6f1c2a10-0020-4c1e-9d51-000000000020"


@pytest.mark.docker
@pytest.mark.slow
def test_malformed_event_fails_the_invocation_through_sam_local_invoke(
    sam_local: SamLocal, moto_bridge_endpoint: str, bridge_account: MotoAccount
) -> None:
    env = stack_env(moto_bridge_endpoint)
    result = sam_local.invoke(FUNCTION, "warmkeeper/malformed-alarm-without-state.json", env=env)
    assert result.error is not None and result.error.startswith("MalformedEventError")
    assert any(r.get("message") == "malformed event" and r.get("level") == "ERROR" for r in result.log_records)
