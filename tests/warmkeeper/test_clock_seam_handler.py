"""The controller's handler takes "now" from the shared clock seam (the local stack's scenario time)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from moto import mock_aws

from tests.warmkeeper.helpers import FakeContext, load_event
from tests.warmkeeper.moto_account import MotoAccount, build_account
from tests.warmkeeper.test_handler_moto import lambda_handler
from warmkeeper.adapters.aws import default_clients
from warmkeeper.models.settings import get_settings
from warmkeeper_shared import clock

# A scenario far from the wall clock: a handler reading datetime.now() would record today instead.
SCENARIO = datetime(2031, 6, 1, 12, 0, 0, tzinfo=UTC)


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


def _at(name: str, when: datetime) -> dict[str, object]:
    return load_event(name) | {"time": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_the_wake_is_stamped_with_the_seams_time(account: MotoAccount) -> None:
    account.set_desired_count(0)
    with clock.use(lambda: SCENARIO):
        assert lambda_handler(_at("wake-requested", SCENARIO), FakeContext())["outcome"] == "woke"
    assert datetime.fromisoformat(account.state()["wakeStartedAt"]) == SCENARIO


def test_the_variable_sets_the_handlers_time_in_a_local_run(
    account: MotoAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `sam local invoke` containers get: AWS_SAM_LOCAL=true and the scenario's time."""
    account.set_desired_count(0)
    monkeypatch.setenv(clock.LOCAL_MARKER, "true")
    for name, value in clock.local_environment(SCENARIO).items():
        monkeypatch.setenv(name, value)
    assert lambda_handler(_at("wake-requested", SCENARIO), FakeContext())["outcome"] == "woke"
    assert datetime.fromisoformat(account.state()["wakeStartedAt"]) == SCENARIO
