"""The HTTP face's "now" and its waits, in one place a test (or the local stack) can replace.

Only held requests wait; everything else just reads the time. Tests install a fake clock whose ``sleep``
moves its time forward at once, so a hold of 20 s takes no real time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


_current: Clock = SystemClock()


def current() -> Clock:
    return _current


def use(clock: Clock) -> Clock:
    """Install ``clock``; returns the one it replaces, so a test can put it back."""
    global _current
    previous, _current = _current, clock
    return previous
