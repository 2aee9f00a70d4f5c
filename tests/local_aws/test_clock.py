"""The scenario's clock: minute boundaries in order, no going back, progress only when asked."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from local_aws.clock import Clock

START = datetime(2026, 11, 22, 4, 0, 30, tzinfo=UTC)


def test_every_minute_boundary_passed_is_ticked_once_in_order() -> None:
    clock = Clock(speed=0, start=START)
    ticks: list[datetime] = []
    clock.on_minute(ticks.append)
    clock.advance(timedelta(minutes=2, seconds=40))
    assert ticks == [
        START.replace(minute=1, second=0),
        START.replace(minute=2, second=0),
        START.replace(minute=3, second=0),
    ]
    assert clock.now() == START + timedelta(minutes=2, seconds=40)
    assert clock.elapsed() == timedelta(minutes=2, seconds=40)


def test_the_clock_never_goes_back_and_needs_a_zone() -> None:
    with pytest.raises(ValueError, match="never goes back"):
        Clock(speed=0, start=START).advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="aware"):
        Clock(speed=0, start=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="speed"):
        Clock(speed=-1)


def test_progress_is_drawn_and_erased() -> None:
    progress = io.StringIO()
    Clock(speed=0, start=START, progress=progress).advance(timedelta(minutes=2), "idle")
    text = progress.getvalue()
    assert "idle [" in text
    assert "2.0/2.0 min" in text
    assert text.endswith("\r")


def test_events_run_in_time_order_between_minute_ticks() -> None:
    clock = Clock(speed=0, start=START)
    seen: list[str] = []
    clock.on_minute(lambda minute: seen.append(f"tick {minute:%M:%S}"))
    clock.after(45, lambda: seen.append(f"b at {clock.now():%M:%S}"))
    clock.after(timedelta(seconds=10.5), lambda: seen.append(f"a at {clock.now():%M:%S.%f}"))
    # Scheduled on the minute: after that minute's tick.
    clock.at(START.replace(minute=1, second=0), lambda: seen.append("c on the minute"))
    clock.advance(timedelta(minutes=1))
    assert seen == ["a at 00:40.500000", "tick 01:00", "c on the minute", "b at 01:15"]
    assert clock.pending() == 0


def test_an_event_may_schedule_another_even_for_now() -> None:
    clock = Clock(speed=0, start=START)
    seen: list[float] = []

    def poll() -> None:
        seen.append(clock.elapsed().total_seconds())
        if seen.count(-1) < 2:
            clock.after(2, poll)
        clock.after(0, lambda: seen.append(-1))

    clock.after(2, poll)
    clock.advance(timedelta(seconds=30))
    assert seen == [2.0, -1, 4.0, -1, 6.0, -1]


def test_advance_until_stops_at_the_first_instant_it_holds() -> None:
    clock = Clock(speed=0, start=START)
    flags: list[str] = []
    clock.after(7.25, lambda: flags.append("up"))
    assert clock.advance_until(lambda: bool(flags), timedelta(minutes=5))
    assert clock.elapsed() == timedelta(seconds=7.25)
    # Minute ticks count as steps too, and a limit that passes says so.
    ticks: list[datetime] = []
    clock.on_minute(ticks.append)
    assert not clock.advance_until(lambda: len(ticks) == 3, timedelta(minutes=1))
    assert clock.elapsed() == timedelta(minutes=1, seconds=7.25)
    assert clock.advance_until(lambda: len(ticks) == 2, timedelta(minutes=5))
    assert clock.now() == START.replace(minute=2, second=0)


def test_no_event_in_the_past() -> None:
    with pytest.raises(ValueError, match="past"):
        Clock(speed=0, start=START).after(-1, lambda: None)


def test_time_does_not_move_inside_its_own_events() -> None:
    clock = Clock(speed=0, start=START)
    clock.after(1, lambda: clock.advance(timedelta(seconds=5)))
    with pytest.raises(RuntimeError, match="schedule with at"):
        clock.advance(timedelta(seconds=2))
    # The clock stays usable afterwards.
    clock.advance(timedelta(seconds=2))
    assert clock.elapsed() == timedelta(seconds=3)
