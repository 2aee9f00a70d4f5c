"""Who is asking, and whether their request should wake the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from heartbeat.settings import Settings
from warmkeeper_shared.state import AUTOMATIC_RETRY_AFTER, ControllerState, Phase, derive_phase

# Seconds a client should wait before trying again: about one health-check round of a starting task.
RETRY_AFTER_SECONDS = 10
# An execution environment sends one wake per controller record (see ``already_asked``). It asks again for
# the same record only after this long: the controller records a wake within about a second, so a record
# that has not moved for a minute means the request was lost (the wake backstop alarm covers that case too).
RESEND_UNCHANGED_RECORD_AFTER = timedelta(seconds=60)
# A PutEvents that failed is tried again sooner, by a later request, but not by every request of a crowd.
RESEND_AFTER_FAILED_PUT = timedelta(seconds=5)


@dataclass(frozen=True)
class SentWake:
    """What this execution environment last asked for: the record it saw, when, and whether it got through."""

    record: str
    at: datetime
    delivered: bool


def record_key(state: ControllerState | None) -> str:
    """What identifies one wake cycle in the controller's record.

    The controller writes ``wakeStartedAt`` when it starts a wake, ``failure`` when one fails and
    ``awakeSince`` when traffic is back on the service, so every new sleep, wake or failure changes the key.
    """
    if state is None:
        return "unreadable"
    failure_at = state.failure.at.isoformat() if state.failure is not None else "-"
    marks = (state.wake_started_at, state.awake_since)
    return "|".join([failure_at, *(mark.isoformat() if mark is not None else "-" for mark in marks)])


def already_asked(now: datetime, state: ControllerState | None, last: SentWake | None) -> bool:
    """Whether this environment already sent a wake for the record it reads now.

    The record, not a timer, decides: one request per environment per record, so a crowd spread over N
    environments sends at most N requests before the controller's write makes everyone see the wake.
    """
    if last is None or last.record != record_key(state):
        return False
    resend_after = RESEND_UNCHANGED_RECORD_AFTER if last.delivered else RESEND_AFTER_FAILED_PUT
    return timedelta(0) <= now - last.at < resend_after


@dataclass(frozen=True)
class IncomingRequest:
    """The parts of an HTTP request the decisions look at."""

    method: str
    path: str
    user_agent: str
    accepts_html: bool
    # A body would be sent again by a client following a 307: such a request is never held.
    has_body: bool = False


class Answer(StrEnum):
    PAGE = "page"  # the waiting page (a browser)
    JSON = "json"  # 503 with a JSON body (API clients, monitors)
    EMPTY = "empty"  # 503 without a body (HEAD)


@dataclass(frozen=True)
class WaitDecision:
    answer: Answer
    # None for a visitor; otherwise why this request must not wake anything.
    not_a_visitor: str | None
    # Counted as WakeRequests: a visitor wants the service while it is not awake.
    wants_wake: bool
    # Put a "Wake Requested" event: wanted, and no wake is already under way or failed.
    send_wake: bool
    # What the response tells the client (X-Warmkeeper-State).
    phase: Phase


def not_a_visitor(request: IncomingRequest, settings: Settings) -> str | None:
    """Why the request is not a visitor's (health checks, monitors, crawlers, HEAD, robots), or None."""
    if request.method == "HEAD":
        return "HEAD request"
    if request.path == settings.health_check_path or request.path in settings.non_visitor_paths:
        return "non-visitor path"
    agent = request.user_agent.casefold()
    for marker in settings.non_visitor_user_agents:
        if marker.casefold() in agent:
            return "non-visitor user agent"
    return None


def phase_at_the_waker(state: ControllerState | None) -> Phase:
    """The phase as seen by a request that reached the waker.

    Such a request proves user traffic is not on ECS, so whatever desiredCount says the service is not
    awake for this visitor: only the record's failure or wake under way matter, hence desiredCount 0.
    An unreadable record (None) reads as asleep, so a visitor still asks for a wake.
    """
    if state is None:
        return Phase.SLEEPING
    return derive_phase(state, desired_count=0)


def stale_failure(now: datetime, state: ControllerState | None) -> bool:
    """Whether the recorded failure is old enough for a visitor's request to retry it.

    A fresh failure is shown, with the page's retry button; an old one is retried by the next visitor, so
    a failure in the night does not greet the morning's visitors with a button.
    """
    failure = state.failure if state is not None else None
    return failure is not None and now - failure.at >= AUTOMATIC_RETRY_AFTER


def decide_wait(
    now: datetime,
    settings: Settings,
    state: ControllerState | None,
    request: IncomingRequest,
    last: SentWake | None = None,
) -> WaitDecision:
    """What to do with a request that reached the waker (the service sleeps or wakes).

    ``last`` is the wake this execution environment last sent (see ``already_asked``). ``state`` is None when the
    controller's record could not be read: a visitor then asks for a wake anyway, because a duplicate
    request is harmless and a missing one leaves the visitor waiting.
    """
    reason = not_a_visitor(request, settings)
    if request.method == "HEAD":
        answer = Answer.EMPTY
    elif request.accepts_html and reason is None:
        answer = Answer.PAGE
    else:
        answer = Answer.JSON

    phase = phase_at_the_waker(state)
    asked = already_asked(now, state, last)
    if phase is Phase.SLEEPING and asked:
        phase = Phase.WAKING

    if reason is not None:
        return WaitDecision(answer=answer, not_a_visitor=reason, wants_wake=False, send_wake=False, phase=phase)
    # A fresh failure is retried by a person (the page's retry button) or by the wake backstop alarm, which
    # counts WakeRequests: retries from every page load would hide the failure from visitors.
    send = phase is Phase.SLEEPING or (phase is Phase.FAILED and stale_failure(now, state) and not asked)
    return WaitDecision(
        answer=answer,
        not_a_visitor=None,
        wants_wake=True,
        send_wake=send,
        phase=Phase.WAKING if send else phase,
    )


def retry_phase(state: ControllerState | None, desired_count: int | None) -> Phase:
    """The phase a ``POST /_warmkeeper/wake`` acts on; it may arrive in any state, the service awake included.

    ``desired_count`` is None when ECS could not be read: the record alone then decides, read as asleep.
    """
    if state is None:
        return Phase.AWAKE if desired_count else Phase.SLEEPING
    return derive_phase(state, desired_count or 0)


def decide_retry(
    now: datetime, state: ControllerState | None, desired_count: int | None, last: SentWake | None
) -> bool:
    """Whether a "Try again" sends a wake: only for a sleeping or failed service, never while awake or
    waking, and once per environment per record (a bot posting in a loop sends nothing more)."""
    phase = retry_phase(state, desired_count)
    return phase in {Phase.SLEEPING, Phase.FAILED} and not already_asked(now, state, last)


def safe_return_path(path: str, query: str) -> str:
    """The same-site URL to come back to; never a protocol-relative or absolute URL (no open redirect),
    never a control character (it ends up in a Location header and a meta refresh)."""
    clean = "/" + path.lstrip("/\\")
    url = f"{clean}?{query}" if query else clean
    if "\\" in url or any(ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        return "/"
    return url
