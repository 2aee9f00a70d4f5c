"""Held requests: an API client's GET waits while the service wakes, then gets a 307 or the usual 503.

The handler runs against moto with a fake clock (``tests/heartbeat/holding.py``): a hold of 20 s takes no
real time, and the controller's record changes between two polls the way the controller would write it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.heartbeat.conftest import Account, CallCounter, FakeContext, Invocation, load_event
from tests.heartbeat.holding import HOLD_TABLE, FakeClock, create_hold_table, hold_env, installed

Invoke = Callable[[dict[str, Any]], Invocation]


@pytest.fixture
def clock(account: Account, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """Holding on (20 s, 10 reserved environments so 5 slots), the table created, a fake clock installed,
    and the invocation given the time the template's 35 s timeout leaves."""
    from heartbeat.settings import get_settings  # noqa: PLC0415

    create_hold_table()
    for name, value in hold_env().items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    monkeypatch.setattr(FakeContext, "get_remaining_time_in_millis", lambda _self: 35_000)
    with installed(FakeClock()) as fake:
        yield fake


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _traffic_back_after(polls: int, account: Account) -> Callable[[FakeClock], None]:
    """The controller hands traffic back during the ``polls``-th wait: it records awakeSince then."""

    def world(clock: FakeClock) -> None:
        if len(clock.sleeps) == polls:
            account.set_state({"awakeSince": _iso(clock.now())})

    return world


def _held_slots() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = boto3.client("dynamodb").scan(TableName=HOLD_TABLE)["Items"]
    return items


def test_held_then_307_to_the_same_url_once_traffic_is_back(
    account: Account, invoke: Invoke, clock: FakeClock, aws_calls: CallCounter
) -> None:
    account.set_state({"awakeSince": _iso(clock.now() - timedelta(hours=3))})  # asleep since, no write on sleep
    clock.on_sleep = _traffic_back_after(3, account)
    event = load_event("waiting-api-client.json")
    event["multiValueQueryStringParameters"] = {"city": ["paris"]}

    result = invoke(event)

    assert result.status == 307
    assert result.header("Location") == "/api/guides?city=paris"
    assert clock.sleeps == [2.0, 2.0, 2.0]
    # One wake, as without a hold; the slot taken and freed; one fresh record read per poll.
    assert [event["detail-type"] for event in account.wake_events()] == ["Wake Requested"]
    calls = aws_calls.take()
    assert calls.count("ssm:GetParameter") == 1 + 3
    assert calls.count("dynamodb:PutItem") == 1
    assert calls.count("dynamodb:DeleteItem") == 1
    assert _held_slots() == []
    assert result.metrics().get("HeldRequests") == 1
    assert result.metrics().get("HoldsTrafficBack") == 1


def test_held_then_503_with_retry_after_when_the_time_is_up(
    account: Account, invoke: Invoke, clock: FakeClock, aws_calls: CallCounter
) -> None:
    result = invoke(load_event("waiting-api-client.json"))

    assert result.status == 503
    assert result.header("Retry-After") == "10"
    assert result.json()["state"] == "waking"
    assert result.json()["requestProcessed"] is False
    assert clock.slept == pytest.approx(20)
    # Cheap polling: never more than one read per second, at most one per 2 s in the steady part.
    assert all(1.0 <= wait <= 2.0 for wait in clock.sleeps)
    assert aws_calls.take().count("ssm:GetParameter") == 1 + len(clock.sleeps)
    assert len(account.wake_events()) == 1
    assert _held_slots() == []
    assert result.metrics().get("HoldsTimedOut") == 1


def test_a_wake_failing_while_held_ends_the_hold_with_its_reason(
    account: Account, invoke: Invoke, clock: FakeClock
) -> None:
    def fails(fake: FakeClock) -> None:
        if len(fake.sleeps) == 2:
            failure = {"kind": "task-stopped", "reason": "CannotPullContainerError: x", "at": _iso(fake.now())}
            account.set_state({"failure": failure})

    clock.on_sleep = fails
    result = invoke(load_event("waiting-api-client.json"))

    assert result.status == 503
    assert result.json()["state"] == "failed"
    assert "CannotPullContainerError" in result.json()["failureReason"]
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize(
    ("fixture", "change"),
    [
        ("waiting-api-client-post.json", {}),
        ("waiting-page.json", {}),  # a browser keeps the waiting page
        ("not-visitor-head.json", {}),
        ("not-visitor-uptime-monitor.json", {}),
        ("waiting-api-client.json", {"body": "{}"}),  # a GET with a body would be replayed by a 307
        ("waiting-api-client.json", {"httpMethod": "DELETE"}),
        ("waiting-api-client.json", {"httpMethod": "OPTIONS"}),
    ],
    ids=["POST", "browser", "HEAD", "monitor", "GET with body", "DELETE", "OPTIONS"],
)
def test_what_is_never_held(
    account: Account, invoke: Invoke, clock: FakeClock, fixture: str, change: dict[str, Any]
) -> None:
    result = invoke(load_event(fixture) | change)
    assert result.status == 503
    assert clock.sleeps == []
    assert _held_slots() == []
    if fixture == "waiting-page.json":
        assert "text/html" in (result.header("Content-Type") or "")


def test_cap_reached_answers_at_once(account: Account, invoke: Invoke, clock: FakeClock) -> None:
    """Five slots (half of the 10 reserved environments), all held by live requests: a 503 at once."""
    dynamodb = boto3.client("dynamodb")
    until = str(int((clock.now() + timedelta(seconds=20)).timestamp()))
    for slot in range(5):
        item = {"slot": {"S": f"hold-{slot}"}, "holder": {"S": "other"}, "expiresAt": {"N": until}}
        dynamodb.put_item(TableName=HOLD_TABLE, Item=item)

    result = invoke(load_event("waiting-api-client.json"))

    assert result.status == 503
    assert result.header("Retry-After") == "10"
    assert clock.sleeps == []
    assert result.metrics().get("HoldsRefused") == 1
    assert len(account.wake_events()) == 1  # the wake is still asked for
    assert len(_held_slots()) == 5  # nobody else's slot freed


def test_a_slot_left_by_a_dead_holder_is_taken_again(account: Account, invoke: Invoke, clock: FakeClock) -> None:
    """A request whose environment died keeps its slot only until its own hold would have ended."""
    dynamodb = boto3.client("dynamodb")
    past = str(int((clock.now() - timedelta(seconds=5)).timestamp()))
    for slot in range(5):
        dynamodb.put_item(
            TableName=HOLD_TABLE,
            Item={"slot": {"S": f"hold-{slot}"}, "holder": {"S": "dead"}, "expiresAt": {"N": past}},
        )
    clock.on_sleep = _traffic_back_after(1, account)
    assert invoke(load_event("waiting-api-client.json")).status == 307
    assert len(_held_slots()) == 4  # the taken one was freed by its new holder


def test_hold_seconds_0_answers_at_once(
    account: Account, invoke: Invoke, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from heartbeat.settings import get_settings  # noqa: PLC0415

    monkeypatch.setenv("HOLD_SECONDS", "0")
    get_settings.cache_clear()
    result = invoke(load_event("waiting-api-client.json"))
    assert result.status == 503
    assert clock.sleeps == []
    assert len(account.wake_events()) == 1


def test_the_hold_fits_in_the_invocations_time_left(
    account: Account, invoke: Invoke, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakeContext, "get_remaining_time_in_millis", lambda _self: 12_000)
    assert invoke(load_event("waiting-api-client.json")).status == 503
    assert clock.slept == pytest.approx(12 - 5)


def test_the_307_location_is_same_origin_and_percent_encoded(
    account: Account, invoke: Invoke, clock: FakeClock
) -> None:
    clock.on_sleep = _traffic_back_after(1, account)
    event = load_event("waiting-api-client.json") | {"path": "//evil.example/caf\u00e9"}
    event["multiValueQueryStringParameters"] = {"q": ["\u00e9t\u00e9"]}
    result = invoke(event)
    assert result.status == 307
    assert result.header("Location") == "/evil.example/caf%C3%A9?q=%C3%A9t%C3%A9"


def test_a_flip_just_before_arrival_is_traffic_back(account: Account, invoke: Invoke, clock: FakeClock) -> None:
    """The request was on its way to the waker while the controller handed traffic back."""
    account.set_state({"awakeSince": _iso(clock.now() - timedelta(seconds=1))})
    account.set_desired(1)
    result = invoke(load_event("waiting-api-client.json"))
    assert result.status == 307
    assert clock.sleeps == []


def test_an_unreadable_slot_table_answers_at_once(
    account: Account,
    invoke: Invoke,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from heartbeat.settings import get_settings  # noqa: PLC0415

    monkeypatch.setenv("HOLD_TABLE_NAME", "no-such-table")
    get_settings.cache_clear()
    result = invoke(load_event("waiting-api-client.json"))
    assert result.status == 503
    assert clock.sleeps == []
    assert result.metrics().get("HoldSlotFailures") == 1
    assert [r for r in caplog.records if r.levelno >= logging.ERROR and "held requests" in r.getMessage()]


def test_a_frozen_now_does_not_hold_forever(account: Account, invoke: Invoke, clock: FakeClock) -> None:
    """The local stack freezes the shared "now" for an invocation: the hold still ends, on elapsed time."""
    from warmkeeper_shared import clock as shared  # noqa: PLC0415

    frozen = datetime(2030, 1, 1, tzinfo=UTC)
    with shared.use(lambda: frozen):
        result = invoke(load_event("waiting-api-client.json"))
    assert result.status == 503
    assert clock.slept == pytest.approx(20)
