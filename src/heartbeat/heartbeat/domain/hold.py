"""Holding a request from a client that cannot show a page, until traffic is back on the service.

An API client or a script gets no waiting page: instead of a 503 at once, its request may wait (at most
``HoldSeconds``) while the service wakes, then get a ``307`` to the same URL as soon as the controller has
handed traffic back, or the usual 503 with ``Retry-After``. Pure decisions only: the waiting loop, the
clock and the AWS reads are in ``heartbeat.hold``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from heartbeat.domain.visitors import Answer, IncomingRequest, WaitDecision
from warmkeeper_shared.state import ControllerState, Phase

# Only GET is held. A 307 makes the client send the same method (and body) again, so only a request
# that carries no body and changes nothing qualifies: HEAD is answered at once (it is not a visitor and
# wakes nothing), OPTIONS is a CORS preflight (browsers do not follow redirects for it), and PUT, DELETE,
# PATCH and POST are writes: their client is told to retry, never replayed behind its back.
HELD_METHODS = frozenset({"GET"})
# One read of the controller's record per this many seconds while a request is held, never more often
# than once per MIN_POLL_SECONDS (the last wait before the deadline may be shorter than a poll).
POLL_SECONDS = 2.0
MIN_POLL_SECONDS = 1.0
# Share of the function's reserved concurrency that held requests may take: the rest stays free for
# browsers, the status endpoint and heartbeats. Without reserved concurrency, this many held at most.
HOLD_SHARE_OF_CONCURRENCY = 0.5
UNRESERVED_HOLD_SLOTS = 5
# Kept free at the end of the function's own time limit, for the final answer (one AWS read of at most
# 3 s, then the response) whatever HoldSeconds says.
TIMEOUT_MARGIN_SECONDS = 5.0
# A wake that handed traffic back this shortly before the request arrived (the route flipped while the
# request was on its way) counts as traffic back: the controller stamps ``awakeSince`` just before it flips.
RECENT_FLIP = timedelta(seconds=10)


def hold_slots(http_face_concurrency: int) -> int:
    """How many requests may be held at once across all execution environments (at least 1)."""
    if http_face_concurrency <= 0:
        return UNRESERVED_HOLD_SLOTS
    return max(1, int(http_face_concurrency * HOLD_SHARE_OF_CONCURRENCY))


def why_not_held(hold_seconds: int, request: IncomingRequest, decision: WaitDecision) -> str | None:  # noqa: PLR0911 - one reason per check
    """Why this request is answered at once rather than held, or None when it may be held."""
    if hold_seconds <= 0:
        return "holding is off"
    if decision.answer is not Answer.JSON:
        return "a browser gets the waiting page" if decision.answer is Answer.PAGE else "not an API request"
    if decision.not_a_visitor is not None:
        return "not a visitor"
    if request.method not in HELD_METHODS:
        return "method not held"
    if request.has_body:
        return "the request has a body"
    if decision.phase not in {Phase.SLEEPING, Phase.WAKING}:
        return "the wake failed"
    return None


def hold_budget_seconds(hold_seconds: int, remaining_seconds: float | None) -> float:
    """How long to hold: HoldSeconds, shortened so the answer still fits in the invocation's time left."""
    if remaining_seconds is None:
        return float(hold_seconds)
    return max(0.0, min(float(hold_seconds), remaining_seconds - TIMEOUT_MARGIN_SECONDS))


def traffic_back(arrived_at: datetime, first: ControllerState | None, current: ControllerState | None) -> bool:
    """Whether the controller has handed traffic back to the service since the request arrived.

    The controller writes ``awakeSince`` (and clears the wake and any failure) right after it flips the
    route to the service; a sleep writes nothing, so a sleeping service's record also looks "awake". Hence
    a *new* ``awakeSince`` compared with the record seen on arrival, or a very recent one (the flip raced the
    request, or the first read failed).
    """
    if current is None or current.failure is not None or current.wake_started_at is not None:
        return False
    if current.awake_since is None:
        return False
    if first is not None and current.awake_since != first.awake_since:
        return True
    return current.awake_since >= arrived_at - RECENT_FLIP


def new_failure(arrived_at: datetime, first: ControllerState | None, current: ControllerState | None) -> bool:
    """Whether the record shows a wake failure that was not there on arrival (an old failure being retried
    by this very request is still in the record until the controller starts the retry)."""
    failure = current.failure if current is not None else None
    if failure is None:
        return False
    if first is not None:
        return first.failure != failure
    return failure.at >= arrived_at - RECENT_FLIP


class HoldOutcome(StrEnum):
    TRAFFIC_BACK = "traffic-back"  # a 307 to the same URL
    FAILED = "failed"  # the wake failed while held: the 503 saying so
    TIMED_OUT = "timed-out"  # HoldSeconds passed: the usual 503


@dataclass(frozen=True)
class HoldStep:
    """Either an outcome, or how long to wait before reading the record again."""

    outcome: HoldOutcome | None
    wait_seconds: float = 0.0


def next_step(
    elapsed: float,
    budget: float,
    arrived_at: datetime,
    first: ControllerState | None,
    current: ControllerState | None,
) -> HoldStep:
    """What a held request does after ``elapsed`` of its ``budget`` seconds, having read ``current``.

    Elapsed time, not differences of "now": the local stack freezes "now" for a whole invocation.
    """
    if traffic_back(arrived_at, first, current):
        return HoldStep(HoldOutcome.TRAFFIC_BACK)
    if new_failure(arrived_at, first, current):
        return HoldStep(HoldOutcome.FAILED)
    left = budget - elapsed
    if left < MIN_POLL_SECONDS:
        return HoldStep(HoldOutcome.TIMED_OUT)
    return HoldStep(None, min(POLL_SECONDS, left))
