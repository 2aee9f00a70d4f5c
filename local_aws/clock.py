"""The scenario's clock: virtual minutes that pass faster than real ones, with a progress display.

Everything the local stack stamps (events, metric datapoints, alarm evaluations, schedules) takes its time
from here. The functions themselves read the real clock (they expose no clock to pass in), which is why
the local stack's settings keep their own time rules out of the way; see local_aws.scenario.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

Tick = Callable[[datetime], None]


@dataclass
class Clock:
    """``speed`` virtual seconds pass per real second while waiting; 0 means waits take no real time."""

    speed: float = 60.0
    start: datetime = field(default_factory=lambda: datetime.now(UTC).replace(second=0, microsecond=0))
    progress: TextIO | None = None
    _now: datetime = field(init=False)
    _on_minute: list[Tick] = field(default_factory=list, init=False)
    # One-off calls at a given instant (a timer of the readiness watch, a late ECS event): (when, order, call).
    _timers: list[tuple[datetime, int, Tick]] = field(default_factory=list, init=False)
    _order: itertools.count[int] = field(default_factory=itertools.count, init=False)

    def __post_init__(self) -> None:
        if self.speed < 0:
            raise ValueError(f"the clock speed must be 0 (instant) or positive, not {self.speed}")
        if self.start.tzinfo is None:
            raise ValueError("the clock needs an aware start time (UTC)")
        self._now = self.start

    def now(self) -> datetime:
        return self._now

    def elapsed(self) -> timedelta:
        return self._now - self.start

    def on_minute(self, tick: Tick) -> None:
        """Call ``tick(minute)`` for every minute boundary the clock passes, in order."""
        self._on_minute.append(tick)

    def off_minute(self, tick: Tick) -> None:
        """No more minutes for ``tick`` (a stack deleted mid-scenario)."""
        self._on_minute.remove(tick)

    def call_at(self, when: datetime, tick: Tick) -> None:
        """Call ``tick(when)`` once, when the clock passes ``when`` (at once if that is now or past)."""
        if when <= self._now:
            tick(self._now)
            return
        heapq.heappush(self._timers, (when, next(self._order), tick))

    def pending(self) -> int:
        """How many one-off calls are still waiting."""
        return len(self._timers)

    def advance(self, delta: timedelta, label: str = "waiting") -> None:
        """Move on by ``delta``, minute boundary by minute boundary (and one-off call by one-off call),
        sleeping ``delta / speed`` for real."""
        if delta < timedelta(0):
            raise ValueError("the clock never goes back")
        target = self._now + delta
        total = delta.total_seconds()
        while self._now < target:
            next_minute = (self._now + timedelta(minutes=1)).replace(second=0, microsecond=0)
            step_end = min(next_minute, target, *(self._timers[0][:1] if self._timers else ()))
            self._sleep((step_end - self._now).total_seconds())
            self._now = step_end
            self._show(label, total - (target - self._now).total_seconds(), total)
            while self._timers and self._timers[0][0] <= self._now:
                _, _, call = heapq.heappop(self._timers)
                call(self._now)
            if self._now == next_minute:
                for tick in list(self._on_minute):
                    tick(self._now)
        self._end_progress()

    def _sleep(self, virtual_seconds: float) -> None:
        if self.speed > 0 and virtual_seconds > 0:
            time.sleep(virtual_seconds / self.speed)

    def _show(self, label: str, done: float, total: float) -> None:
        if self.progress is None or total <= 0:
            return
        width = 30
        filled = round(width * done / total)
        bar = "#" * filled + "." * (width - filled)
        self.progress.write(f"\r    {label} [{bar}] {done / 60:4.1f}/{total / 60:.1f} min")
        self.progress.flush()

    def _end_progress(self) -> None:
        if self.progress is not None:
            self.progress.write("\r" + " " * 79 + "\r")
            self.progress.flush()


def stderr_if_terminal() -> TextIO | None:
    return sys.stderr if sys.stderr.isatty() else None
