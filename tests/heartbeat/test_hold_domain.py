"""The pure decisions of a held request (heartbeat.domain.hold)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from heartbeat.domain.hold import (
    MIN_POLL_SECONDS,
    POLL_SECONDS,
    HoldOutcome,
    hold_budget_seconds,
    next_step,
    traffic_back,
    why_not_held,
)
from heartbeat.domain.visitors import Answer, IncomingRequest, WaitDecision
from warmkeeper_shared.state import ControllerState, Failure, FailureKind, Phase

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ASLEEP = ControllerState(awake_since=T0 - timedelta(hours=2))  # a sleep writes nothing
WAKING = ControllerState(awake_since=T0 - timedelta(hours=2), wake_started_at=T0)
BACK = ControllerState(awake_since=T0 + timedelta(seconds=30))
OLD_FAILURE = Failure(kind=FailureKind.TASK_STOPPED, reason="x", at=T0 - timedelta(hours=1))
NEW_FAILURE = Failure(kind=FailureKind.TASK_STOPPED, reason="y", at=T0 + timedelta(seconds=40))

GET = IncomingRequest(method="GET", path="/api", user_agent="curl/8", accepts_html=False)
JSON_WAKING = WaitDecision(Answer.JSON, None, wants_wake=True, send_wake=True, phase=Phase.WAKING)


@pytest.mark.parametrize(
    ("first", "current", "back"),
    [
        (ASLEEP, ASLEEP, False),  # asleep: the record looks awake but nothing changed
        (ASLEEP, WAKING, False),
        (WAKING, BACK, True),
        (ASLEEP, BACK, True),  # the wake started and ended between two polls
        (None, ASLEEP, False),  # first read failed: an old awakeSince is not traffic back
        (None, BACK, True),
        (BACK, BACK, True),  # the route flipped as the request arrived
        (WAKING, None, False),  # a poll failed
        (WAKING, ControllerState(failure=NEW_FAILURE), False),
    ],
)
def test_traffic_back(first: ControllerState | None, current: ControllerState | None, back: bool) -> None:
    assert traffic_back(T0 + timedelta(seconds=25), first, current) is back


def test_a_new_failure_ends_the_hold_but_the_old_one_being_retried_does_not() -> None:
    retried = ControllerState(failure=OLD_FAILURE)
    assert next_step(0, 20, T0, retried, retried).outcome is None
    failed = ControllerState(failure=NEW_FAILURE)
    assert next_step(0, 20, T0, retried, failed).outcome is HoldOutcome.FAILED
    assert next_step(0, 20, T0, None, ControllerState(failure=OLD_FAILURE)).outcome is None


def test_polls_are_spaced_and_end_at_the_deadline() -> None:
    assert next_step(0, 5, T0, ASLEEP, ASLEEP).wait_seconds == POLL_SECONDS
    assert next_step(3.5, 5, T0, ASLEEP, ASLEEP).wait_seconds == 1.5
    assert next_step(5 - MIN_POLL_SECONDS / 2, 5, T0, ASLEEP, ASLEEP).outcome is HoldOutcome.TIMED_OUT
    assert next_step(30, 5, T0, ASLEEP, ASLEEP).outcome is HoldOutcome.TIMED_OUT


def test_what_may_be_held() -> None:
    assert why_not_held(20, GET, JSON_WAKING) is None
    assert why_not_held(0, GET, JSON_WAKING) == "holding is off"
    page = WaitDecision(Answer.PAGE, None, wants_wake=True, send_wake=True, phase=Phase.WAKING)
    assert why_not_held(20, GET, page) == "a browser gets the waiting page"
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"):
        request = IncomingRequest(method=method, path="/api", user_agent="curl/8", accepts_html=False)
        assert why_not_held(20, request, JSON_WAKING) is not None
    with_body = IncomingRequest(method="GET", path="/api", user_agent="curl/8", accepts_html=False, has_body=True)
    assert why_not_held(20, with_body, JSON_WAKING) == "the request has a body"
    failed = WaitDecision(Answer.JSON, None, wants_wake=True, send_wake=False, phase=Phase.FAILED)
    assert why_not_held(20, GET, failed) == "the wake failed"
    monitor = WaitDecision(
        Answer.JSON, "non-visitor user agent", wants_wake=False, send_wake=False, phase=Phase.SLEEPING
    )
    assert why_not_held(20, GET, monitor) == "not a visitor"


def test_the_budget_leaves_room_for_the_answer() -> None:
    assert hold_budget_seconds(20, None) == 20
    assert hold_budget_seconds(20, 34.0) == 20
    assert hold_budget_seconds(20, 12.0) == 7
    assert hold_budget_seconds(20, 3.0) == 0
