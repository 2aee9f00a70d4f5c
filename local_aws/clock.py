"""The scenario's clock: virtual time that passes faster than real time, with a progress display.

Everything the local stack stamps (events, metric datapoints, alarm evaluations, schedules) takes its time
from here. Two kinds of things happen on it: minute ticks (CloudWatch's evaluations and the schedules, once a
minute, registered with :meth:`Clock.on_minute`) and one-off events at any instant, to the second or finer
(a task that starts 31.4 s after ``UpdateService``, a health check, an EventBridge delivery, registered with
:meth:`Clock.at` or :meth:`Clock.after`). :meth:`Clock.advance` runs both in time order.
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
Action = Callable[[], None]


@dataclass
class Clock:
    """``speed`` virtual seconds pass per real second while waiting; 0 means waits take no real time."""

    speed: float = 60.0
    start: datetime = field(default_factory=lambda: datetime.now(UTC).replace(second=0, microsecond=0))
    progress: TextIO | None = None
    _now: datetime = field(init=False)
    _on_minute: list[Tick] = field(default_factory=list, init=False)
    # (when, order of scheduling, action): a heap, so events at one instant run in the order they were made.
    _events: list[tuple[datetime, int, Action]] = field(default_factory=list, init=False)
    _order: itertools.count[int] = field(default_factory=itertools.count, init=False)
    _running: bool = field(default=False, init=False)

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

    def at(self, when: datetime, action: Action) -> None:
        """Run ``action()`` once when the clock reaches ``when``; a time already passed means the next step.

        At one instant, minute ticks run first, then events in the order they were scheduled."""
        heapq.heappush(self._events, (max(when, self._now), next(self._order), action))

    def after(self, delay: timedelta | float, action: Action) -> None:
        """:meth:`at` ``delay`` (a timedelta, or seconds) from now."""
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
        if seconds < 0:
            raise ValueError("an event cannot be scheduled in the past")
        self.at(self._now + timedelta(seconds=seconds), action)

    def call_at(self, when: datetime, tick: Tick) -> None:
        """``tick(now)`` once at ``when``; at once if that is now or past (timers that take the instant)."""
        if when <= self._now:
            tick(self._now)
            return
        self.at(when, lambda: tick(self._now))

    def pending(self) -> int:
        """How many scheduled events have not run yet."""
        return len(self._events)

    def advance(self, delta: timedelta, label: str = "waiting") -> None:
        """Move on by ``delta``, sleeping ``delta / speed`` for real, running the minute ticks and the
        scheduled events met on the way, in time order."""
        if delta < timedelta(0):
            raise ValueError("the clock never goes back")
        self._run_to(self._now + delta, label, lambda: False)

    def advance_until(self, done: Callable[[], bool], limit: timedelta, label: str = "waiting") -> bool:
        """Move on event by event (minute ticks and scheduled events) until ``done()`` holds, at most ``limit``.

        Returns whether ``done()`` held; the clock then stands at the instant it first did."""
        if limit < timedelta(0):
            raise ValueError("the clock never goes back")
        if done():
            return True
        return self._run_to(self._now + limit, label, done)

    def _run_to(self, target: datetime, label: str, done: Callable[[], bool]) -> bool:
        if self._running:
            # Time moving inside one of its own events would run later events before this one ends.
            raise RuntimeError("the clock cannot be advanced from a minute tick or an event: schedule with at()")
        self._running = True
        start = self._now
        total = (target - start).total_seconds()
        try:
            while True:
                next_minute = (self._now + timedelta(minutes=1)).replace(second=0, microsecond=0)
                next_event = self._events[0][0] if self._events else None
                if self._at_due_event():
                    step_end = self._now
                else:
                    step_end = min(t for t in (next_minute, next_event, target) if t is not None)
                if step_end > self._now:
                    self._sleep((step_end - self._now).total_seconds())
                    self._now = step_end
                    self._show(label, (self._now - start).total_seconds(), total)
                    if self._now == next_minute:
                        for tick in list(self._on_minute):
                            tick(self._now)
                        if done():
                            return True
                while self._at_due_event():
                    _, _, action = heapq.heappop(self._events)
                    action()
                    if done():
                        return True
                if self._now >= target:
                    return False
        finally:
            self._running = False
            self._end_progress()

    def _at_due_event(self) -> bool:
        return bool(self._events) and self._events[0][0] <= self._now

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
