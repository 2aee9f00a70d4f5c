"""The clock seam in a `sam local invoke` container: the local stack's scenario time reaches the controller."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.samlocal import SamLocal, stack_env
from tests.warmkeeper import moto_account
from tests.warmkeeper.helpers import load_event
from tests.warmkeeper.moto_account import MotoAccount, build_account
from warmkeeper_shared import clock

SCENARIO = datetime(2031, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def bridge_account(moto_bridge_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoAccount]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_bridge_endpoint)
    moto_account._CLIENTS.clear()
    yield build_account()
    moto_account._CLIENTS.clear()


@pytest.mark.docker
@pytest.mark.slow
def test_a_container_reads_the_scenario_time(
    sam_local: SamLocal, moto_bridge_endpoint: str, bridge_account: MotoAccount
) -> None:
    account = bridge_account
    account.set_desired_count(0)
    env = (
        stack_env(moto_bridge_endpoint)
        | {
            "ROUTE_RULE_ARN": account.rule_arn,
            "ECS_TARGET_GROUP_ARN": account.ecs_tg_arn,
            "WAKER_TARGET_GROUP_ARN": account.waker_tg_arn,
        }
        | clock.local_environment(SCENARIO)
    )
    event = load_event("wake-requested") | {"time": SCENARIO.strftime("%Y-%m-%dT%H:%M:%SZ")}
    wake = sam_local.invoke("WarmkeeperFunction", event, env=env)
    assert wake.error is None, wake.logs[-3000:]
    # A wall-clock controller would find the 2031 request from the future, or stamp today: it did neither.
    assert wake.payload["outcome"] == "woke"
    assert datetime.fromisoformat(account.state()["wakeStartedAt"]) == SCENARIO
