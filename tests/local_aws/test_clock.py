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
