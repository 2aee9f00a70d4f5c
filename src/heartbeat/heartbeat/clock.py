"""How a held request waits: elapsed time and pauses, in one place a test can replace.

"Now" (a date, for decisions) comes from the shared seam ``warmkeeper_shared.clock``, which the local stack
freezes for a whole invocation; a wait therefore measures elapsed time with a monotonic clock, never with
differences of "now". Tests install a fake whose ``sleep`` moves its time forward at once, so a hold of 20 s
takes no real time.
"""

from __future__ import annotations

import time
from typing import Protocol


class Waiting(Protocol):
    def monotonic(self) -> float: ...

    def epoch(self) -> float:
        """Seconds since the epoch, for expiry times shared between execution environments."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemWaiting:
    def monotonic(self) -> float:
        return time.monotonic()

    def epoch(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


_current: Waiting = SystemWaiting()


def current() -> Waiting:
    return _current


def use(waiting: Waiting) -> Waiting:
    """Install ``waiting``; returns the one it replaces, so a test can put it back."""
    global _current
    previous, _current = _current, waiting
    return previous
