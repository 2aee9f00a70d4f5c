"""The clock seam both functions read "now" from (warmkeeper_shared.clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from heartbeat import observability
from warmkeeper_shared import clock

FIXED = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_local_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.NOW_VARIABLE, raising=False)
    monkeypatch.delenv(clock.LOCAL_MARKER, raising=False)


def _close(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) < 5


def test_without_anything_set_it_is_the_wall_clock_in_utc() -> None:
    current = clock.now()
    assert current.tzinfo is not None and current.utcoffset() == timedelta(0)
    assert _close(current, datetime.now(UTC))


def test_an_installed_source_answers_inside_the_block_only() -> None:
    with clock.use(lambda: FIXED):
        assert clock.now() == FIXED
        with clock.use(lambda: FIXED + timedelta(minutes=1)):
            assert clock.now() == FIXED + timedelta(minutes=1)
        assert clock.now() == FIXED
    assert _close(clock.now(), datetime.now(UTC))


def test_a_source_in_another_zone_comes_back_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    with clock.use(lambda: datetime(2030, 1, 2, 4, 4, 5, tzinfo=paris)):
        assert clock.now() == FIXED
        assert clock.now().tzinfo == UTC


def test_a_naive_source_is_refused() -> None:
    with clock.use(lambda: datetime(2030, 1, 2)), pytest.raises(clock.ClockError, match="naive"):  # noqa: DTZ001
        clock.now()


def test_the_variable_sets_the_time_in_a_local_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.LOCAL_MARKER, "true")
    monkeypatch.setenv(clock.NOW_VARIABLE, "2030-01-02T04:04:05+01:00")
    assert clock.now() == FIXED
    assert clock.now().tzinfo == UTC


@pytest.mark.parametrize("marker", [None, "", "false", "1", "yes"])
def test_the_variable_is_ignored_outside_a_local_run(monkeypatch: pytest.MonkeyPatch, marker: str | None) -> None:
    """A deployed function never has AWS_SAM_LOCAL=true: the variable set there by mistake changes nothing."""
    if marker is not None:
        monkeypatch.setenv(clock.LOCAL_MARKER, marker)
    monkeypatch.setenv(clock.NOW_VARIABLE, FIXED.isoformat())
    assert _close(clock.now(), datetime.now(UTC))


@pytest.mark.parametrize("value", ["soon", "2030-01-02T03:04:05", "1893456000"])
def test_a_bad_value_is_an_error_not_the_wall_clock(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(clock.LOCAL_MARKER, "true")
    monkeypatch.setenv(clock.NOW_VARIABLE, value)
    with pytest.raises(clock.ClockError, match=clock.NOW_VARIABLE):
        clock.now()


def test_an_installed_source_wins_over_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.LOCAL_MARKER, "true")
    monkeypatch.setenv(clock.NOW_VARIABLE, FIXED.isoformat())
    with clock.use(lambda: FIXED + timedelta(days=1)):
        assert clock.now() == FIXED + timedelta(days=1)


def test_local_environment_round_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.LOCAL_MARKER, "true")
    for name, value in clock.local_environment(FIXED).items():
        monkeypatch.setenv(name, value)
    assert clock.now() == FIXED
    with pytest.raises(clock.ClockError):
        clock.local_environment(datetime(2030, 1, 1))  # noqa: DTZ001


def test_both_functions_read_now_through_the_seam() -> None:
    with clock.use(lambda: FIXED):
        assert observability.now() == FIXED
