"""The controller's record, kept as JSON in the stack's SSM parameter, and the phase derived from it.

The controller is its only writer. The heartbeat function reads it to tell visitors whether a wake is
under way or has failed, so the phase logic lives here, once.

What is *not* in the record: whether the service is asleep (that is the service's desiredCount, which
both functions read from ECS) and where traffic goes (the weights of the controller's listener rule).
Keeping only what AWS cannot tell us means the record never disagrees with AWS about those, and a sleep costs no write.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

# SSM's standard parameters hold at most 4,096 characters. The record keeps two reasons and a name that
# come from outside (ECS, an operator): each is cut to a size that keeps the whole record under half that,
# whatever the text (JSON escapes can make one character six).
MAX_REASON_BYTES = 700
MAX_NAME_BYTES = 300
ELLIPSIS = "…"


def bounded_text(value: object, max_bytes: int) -> str:
    """``value`` as text whose JSON encoding (UTF-8, escapes included) takes at most ``max_bytes`` bytes.

    Control characters become spaces and lone surrogates (which no JSON encoder writes) U+FFFD; a cut
    text ends with an ellipsis. Never raises.
    """
    text = "".join(_printable(c) for c in str(value))

    def size(candidate: str) -> int:
        return len(json.dumps(candidate, ensure_ascii=False).encode("utf-8", errors="replace")) - 2

    if size(text) <= max_bytes:
        return text
    # Each character costs at most 6 bytes escaped: start from a length that surely fits, then grow.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if size(text[:middle] + ELLIPSIS) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    return text[:low] + ELLIPSIS


def _printable(char: str) -> str:
    code = ord(char)
    if code < 32 or 127 <= code < 160:
        return " "
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return char


def _reason(value: object) -> str:
    return bounded_text(value, MAX_REASON_BYTES)


def _name(value: object) -> object:
    return None if value is None else bounded_text(value, MAX_NAME_BYTES)


Reason = Annotated[str, BeforeValidator(_reason)]
Name = Annotated[str | None, BeforeValidator(_name)]


class Route(StrEnum):
    """Where the controller's listener rule sends user traffic."""

    ECS = "ecs"
    WAKER = "waker"


class Phase(StrEnum):
    AWAKE = "awake"
    SLEEPING = "sleeping"
    WAKING = "waking"
    FAILED = "failed"


class FailureKind(StrEnum):
    TASK_START_IMPAIRED = "task-start-impaired"
    PLACEMENT_FAILURE = "placement-failure"
    CONFIGURATION_FAILURE = "configuration-failure"
    DEPLOYMENT_FAILED = "deployment-failed"
    TASK_STOPPED = "task-stopped"
    DEADLINE_PASSED = "deadline-passed"


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class Failure(_Model):
    kind: FailureKind
    # Cut, never refused: a decision must not fail on a long ECS reason, and an old record stays readable.
    reason: Reason
    at: AwareDatetime


# How old a wake failure must be before an *automatic* wake (the wake backstop alarm, or a reconcile tick
# that finds it still in ALARM) retries it. The backstop counts every visitor, even while the wake is
# failed, so without this wait each returning visitor would redeploy a broken image. An explicit
# "Wake Requested" event (the waiting page's retry button, an operator) retries at once; the HTTP face
# sends one for a visitor only once the failure is this old.
AUTOMATIC_RETRY_AFTER = timedelta(minutes=5)

# How a wake's end was noticed, for the timeline (bounded: the record stays small).
ReadySignal = Literal["steady-state", "readiness-check", "reconcile", "wake-request"]


class WakeTimeline(_Model):
    """The last finished wake, phase by phase (at most a few hundred bytes in the record).

    ``requested_at``: the first request's event time (None: the same as ``started_at``, e.g. an alarm or a
    pin); ``started_at``: the decision that called UpdateService (the record is written just before it);
    ``running_at``: ECS's ``startedAt`` of the first task RUNNING after the start (None: no event seen);
    ``ready_at``: the check that saw a healthy target and moved traffic back in the same invocation.
    """

    requested_at: AwareDatetime | None = None
    started_at: AwareDatetime
    running_at: AwareDatetime | None = None
    ready_at: AwareDatetime
    signal: ReadySignal

    def phases(self) -> dict[str, float]:
        """Seconds per phase, only those whose two ends are known (name -> seconds)."""
        return phase_seconds(
            [
                ("requested", self.requested_at),
                ("started", self.started_at),
                ("running", self.running_at),
                ("ready", self.ready_at),
            ]
        )


def phase_seconds(marks: list[tuple[str, datetime | None]]) -> dict[str, float]:
    """``"<a>-to-<b>"`` -> seconds between consecutive known marks (unknown ones are skipped)."""
    known = [(name, at) for name, at in marks if at is not None]
    return {f"{a}-to-{b}": max(0.0, (end - begin).total_seconds()) for (a, begin), (b, end) in pairwise(known)}


class ControllerState(_Model):
    version: Literal[1] = 1
    # Operator pin: never sleep before this instant.
    pinned_until: AwareDatetime | None = None
    pinned_by: Name = None
    # Set when the controller asked ECS for tasks; cleared when traffic is back on ECS or the service sleeps.
    wake_started_at: AwareDatetime | None = None
    # The wake's first request, when it came before the start (a request's event time); cleared with the wake.
    wake_requested_at: AwareDatetime | None = None
    # ECS's startedAt of the wake's first RUNNING task; cleared with the wake.
    task_running_at: AwareDatetime | None = None
    # Set when traffic went back to ECS; with wake_started_at it is the start of the minimum awake time.
    awake_since: AwareDatetime | None = None
    # desiredCount to restore on wake: the count the service had before it slept, never below 1.
    count_before_sleep: int = Field(default=1, ge=1)
    # Why the last wake failed; kept until the next wake attempt (a retry) or a successful start.
    failure: Failure | None = None
    # The last deployment the circuit breaker failed, for operators; informational only.
    last_deployment_failure: Failure | None = None
    # The last wake that ended with traffic back on the service, for operators (status, metrics).
    last_wake: WakeTimeline | None = None

    def woken(self, now: datetime, signal: ReadySignal) -> ControllerState:
        """The record once traffic is back: the wake's marks become ``last_wake``, awake from now."""
        update: dict[str, object] = {
            "wake_started_at": None,
            "wake_requested_at": None,
            "task_running_at": None,
            "failure": None,
            "awake_since": now,
        }
        if self.wake_started_at is not None:
            update["last_wake"] = WakeTimeline(
                requested_at=self.wake_requested_at,
                started_at=self.wake_started_at,
                running_at=self.task_running_at,
                ready_at=now,
                signal=signal,
            )
        return self.model_copy(update=update)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)

    def pinned_at(self, now: datetime) -> bool:
        return self.pinned_until is not None and self.pinned_until > now

    def wake_elapsed_seconds(self, now: datetime) -> float | None:
        """Seconds since the current wake started, or None when no wake is under way."""
        if self.wake_started_at is None:
            return None
        return max(0.0, (now - self.wake_started_at).total_seconds())


class StateDocumentError(ValueError):
    """The parameter holds something that is not a controller state document."""


def parse_state(raw: str | None) -> ControllerState:
    """Read the parameter's value; an empty value or ``{}`` (as the template creates it) is the default."""
    if raw is None or not raw.strip():
        return ControllerState()
    try:
        return ControllerState.model_validate_json(raw)
    except ValidationError as error:
        raise StateDocumentError(f"state parameter is not a controller state document: {error}") from error


def derive_phase(state: ControllerState, desired_count: int) -> Phase:
    """The lifecycle phase (docs/design.md's table) from the controller's record and the service's desiredCount.

    A recorded failure wins (the waiting page must say so until a retry starts); then a wake under way;
    then desiredCount tells asleep from awake.
    """
    if state.failure is not None:
        return Phase.FAILED
    if state.wake_started_at is not None:
        return Phase.WAKING
    if desired_count == 0:
        return Phase.SLEEPING
    return Phase.AWAKE
