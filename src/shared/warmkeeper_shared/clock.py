"""The one place both functions read "now" from: the wall clock in AWS, a scenario's clock in the local stack.

Every decision takes ``now`` as an argument; the handlers get it from :func:`now`. Two ways to move it, both
for the local stack and tests only:

- in process, :func:`use` installs a source (a callable returning an aware datetime) until its block ends;
- in a function's environment, ``WARMKEEPER_LOCAL_NOW`` (an ISO 8601 instant with its zone) is the time for
  the whole invocation: the local stack sets it to its scenario time at each invocation, in process and for
  ``sam local invoke`` containers alike, so a container's start-up takes no scenario time and a decision sees
  exactly the instant the scenario's other events carry. It is frozen: durations inside an invocation (a
  wait loop, a cache age) must use ``time.monotonic()``, never differences of ``now()``.

The variable is honoured only when ``AWS_SAM_LOCAL`` is ``true``, which the SAM CLI sets in its containers and
AWS Lambda never does; template.yaml declares neither variable, so a deploy cannot set them by accident
(``sam local invoke --env-vars`` only sets declared variables: the local stack declares it in the copy of
the template it writes for local runs). A value that is not an aware instant is an error, never silently the
wall clock: a local run must not pretend.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

NOW_VARIABLE = "WARMKEEPER_LOCAL_NOW"
LOCAL_MARKER = "AWS_SAM_LOCAL"

Source = Callable[[], datetime]

# The installed sources, innermost last; a list rather than a rebound global so `use` can nest.
_sources: list[Source] = []


class ClockError(ValueError):
    """The local clock was set to something that is not a time."""


def _local_now() -> datetime | None:
    raw = os.environ.get(NOW_VARIABLE, "").strip()
    if not raw or os.environ.get(LOCAL_MARKER, "").strip().lower() != "true":
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as error:
        raise ClockError(f"{NOW_VARIABLE} must be an ISO 8601 instant, not {raw!r}") from error
    if value.tzinfo is None:
        raise ClockError(f"{NOW_VARIABLE} must carry its time zone (UTC), not {raw!r}")
    return value.astimezone(UTC)


def now() -> datetime:
    """The current time, aware and in UTC."""
    if _sources:
        current = _sources[-1]()
        if current.tzinfo is None:
            raise ClockError("the installed clock returned a naive datetime; it must be aware (UTC)")
        return current.astimezone(UTC)
    return _local_now() or datetime.now(UTC)


@contextmanager
def use(source: Source) -> Iterator[None]:
    """``now()`` answers ``source()`` inside the block (in this process), then what it answered before."""
    _sources.append(source)
    try:
        yield
    finally:
        _sources.pop()


def local_environment(scenario_now: datetime) -> dict[str, str]:
    """The variables that make a local function's clock read ``scenario_now`` (with ``AWS_SAM_LOCAL=true``)."""
    if scenario_now.tzinfo is None:
        raise ClockError("the scenario time must be aware (UTC)")
    return {NOW_VARIABLE: scenario_now.astimezone(UTC).isoformat()}


__all__ = ["LOCAL_MARKER", "NOW_VARIABLE", "ClockError", "Source", "local_environment", "now", "use"]
