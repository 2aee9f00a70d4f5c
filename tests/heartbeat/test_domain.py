"""The HTTP face's pure decisions, table-driven: time and observed state passed in, nothing patched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from heartbeat.domain.pings import MAX_PING_BYTES, PingVerdict, bearer_token, judge_ping, token_matches
from heartbeat.domain.status import ObservedService, build_status, public_failure_reason
from heartbeat.domain.visitors import (
    Answer,
    IncomingRequest,
    SentWake,
    decide_retry,
    decide_wait,
    record_key,
    safe_return_path,
)
from heartbeat.settings import Settings, SettingsError, settings_from_env
from warmkeeper_shared.state import ControllerState, Failure, FailureKind, Phase

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
ENV = {
    "STACK_NAME": "warmkeeper",
    "CLUSTER_NAME": "warmkeeper",
    "SERVICE_NAME": "warmkeeper",
    "STATE_PARAMETER_NAME": "/warmkeeper/warmkeeper/state",
    "ECS_TARGET_GROUP_ARN": (
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/warmkeeper-ecs/6d0ecf831eec9f09"
    ),
    "TOKEN_SECRET_ARN": (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:warmkeeper/warmkeeper/heartbeat-token-AbCdEf"
    ),
}
SETTINGS = settings_from_env(ENV)
BROWSER = IncomingRequest(method="GET", path="/guides", user_agent="Mozilla/5.0 Firefox/133.0", accepts_html=True)
API = IncomingRequest(method="POST", path="/api/bookings", user_agent="okhttp/4.12.0", accepts_html=False)

SLEEPING = ControllerState()
WAKING = ControllerState(wake_started_at=NOW - timedelta(seconds=20))
FAILED = ControllerState(
    failure=Failure(kind=FailureKind.TASK_START_IMPAIRED, reason="no capacity", at=NOW - timedelta(minutes=1))
)

OLD_FAILURE = ControllerState(
    failure=Failure(kind=FailureKind.DEADLINE_PASSED, reason="no healthy target", at=NOW - timedelta(minutes=5))
)
AWOKEN_THEN_SLEPT = ControllerState(awake_since=NOW - timedelta(minutes=20))

# ---------------------------------------------------------------- settings


def test_settings_defaults() -> None:
    assert SETTINGS.event_bus_name == "default"
    assert SETTINGS.display_name == "warmkeeper"
    assert SETTINGS.health_check_path == "/api/health"
    assert "ELB-HealthChecker" in SETTINGS.non_visitor_user_agents
    assert "/robots.txt" in SETTINGS.non_visitor_paths
    assert SETTINGS.wake_deadline_minutes == 5


def test_empty_values_count_as_unset_and_lists_are_split() -> None:
    settings = settings_from_env({**ENV, "EVENT_BUS_NAME": "", "NON_VISITOR_USER_AGENTS": " Pingdom , ,curl "})
    assert settings.event_bus_name == "default"
    assert settings.non_visitor_user_agents == ("Pingdom", "curl")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"STACK_NAME": ""}, "STACK_NAME"),
        ({"ECS_TARGET_GROUP_ARN": "warmkeeper-ecs"}, "ECS_TARGET_GROUP_ARN"),
        ({"WAKE_DEADLINE_MINUTES": "0"}, "WAKE_DEADLINE_MINUTES"),
        ({"HEALTH_CHECK_PATH": "api/health"}, "HEALTH_CHECK_PATH"),
    ],
)
def test_bad_settings_name_the_variable(change: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        settings_from_env({**ENV, **change})


# ---------------------------------------------------------------- who wakes the service


@pytest.mark.parametrize(
    ("request_", "state", "last_sent", "answer", "wants", "sends", "phase"),
    [
        (BROWSER, SLEEPING, None, Answer.PAGE, True, True, Phase.WAKING),
        (API, SLEEPING, None, Answer.JSON, True, True, Phase.WAKING),
        (BROWSER, None, None, Answer.PAGE, True, True, Phase.WAKING),  # unreadable state: ask anyway
        (BROWSER, WAKING, None, Answer.PAGE, True, False, Phase.WAKING),
        # One wake per environment per controller record: asked already for this record, nothing more...
        (
            BROWSER,
            SLEEPING,
            SentWake(record_key(SLEEPING), NOW - timedelta(seconds=5), True),
            Answer.PAGE,
            True,
            False,
            Phase.WAKING,
        ),
        (
            API,
            SLEEPING,
            SentWake(record_key(SLEEPING), NOW - timedelta(seconds=59), True),
            Answer.JSON,
            True,
            False,
            Phase.WAKING,
        ),
        # ...unless the record has not moved for a minute (the request was lost)...
        (
            BROWSER,
            SLEEPING,
            SentWake(record_key(SLEEPING), NOW - timedelta(seconds=61), True),
            Answer.PAGE,
            True,
            True,
            Phase.WAKING,
        ),
        # ...or PutEvents failed a few seconds ago...
        (
            BROWSER,
            SLEEPING,
            SentWake(record_key(SLEEPING), NOW - timedelta(seconds=6), False),
            Answer.PAGE,
            True,
            True,
            Phase.WAKING,
        ),
        (
            BROWSER,
            SLEEPING,
            SentWake(record_key(SLEEPING), NOW - timedelta(seconds=2), False),
            Answer.PAGE,
            True,
            False,
            Phase.WAKING,
        ),
        # ...or the record is a new one (asleep again after a wake): however recent the last request.
        (
            BROWSER,
            SLEEPING,
            SentWake(record_key(AWOKEN_THEN_SLEPT), NOW - timedelta(seconds=1), True),
            Answer.PAGE,
            True,
            True,
            Phase.WAKING,
        ),
        (BROWSER, FAILED, None, Answer.PAGE, True, False, Phase.FAILED),
        (API, FAILED, None, Answer.JSON, True, False, Phase.FAILED),
        # A failure five minutes old is retried by the next visitor, once per grace period.
        (BROWSER, OLD_FAILURE, None, Answer.PAGE, True, True, Phase.WAKING),
        (API, OLD_FAILURE, None, Answer.JSON, True, True, Phase.WAKING),
        (
            BROWSER,
            OLD_FAILURE,
            SentWake(record_key(OLD_FAILURE), NOW - timedelta(seconds=5), True),
            Answer.PAGE,
            True,
            False,
            Phase.FAILED,
        ),
        (
            BROWSER,
            OLD_FAILURE,
            SentWake(record_key(SLEEPING), NOW - timedelta(seconds=5), True),
            Answer.PAGE,
            True,
            True,
            Phase.WAKING,
        ),
    ],
)
def test_visitor_decisions(  # noqa: PLR0917 - one parameter per table column
    request_: IncomingRequest,
    state: ControllerState | None,
    last_sent: SentWake | None,
    answer: Answer,
    wants: bool,
    sends: bool,
    phase: Phase,
) -> None:
    decision = decide_wait(NOW, SETTINGS, state, request_, last_sent)
    assert (decision.answer, decision.wants_wake, decision.send_wake, decision.phase) == (answer, wants, sends, phase)
    assert decision.not_a_visitor is None


@pytest.mark.parametrize(
    ("state", "desired", "last", "sends"),
    [
        (SLEEPING, 0, None, True),
        (SLEEPING, 1, None, False),  # awake: a "Try again" (or a bot's POST) sends nothing
        (AWOKEN_THEN_SLEPT, 2, None, False),
        (WAKING, 1, None, False),
        (FAILED, 1, None, True),  # a fresh failure: the person's explicit retry goes out at once
        (FAILED, 1, SentWake(record_key(FAILED), NOW - timedelta(seconds=1), True), False),  # the second click
        (FAILED, 1, SentWake(record_key(SLEEPING), NOW - timedelta(seconds=1), True), True),  # a new failure
        (None, None, None, True),  # nothing readable: ask, a duplicate is harmless
        (None, 1, None, False),
        (SLEEPING, None, SentWake(record_key(SLEEPING), NOW - timedelta(seconds=30), True), False),
    ],
)
def test_retry_decisions(
    state: ControllerState | None, desired: int | None, last: SentWake | None, sends: bool
) -> None:
    assert decide_retry(NOW, state, desired, last) is sends


@pytest.mark.parametrize(
    ("request_", "reason", "answer"),
    [
        (IncomingRequest("HEAD", "/", "Mozilla/5.0", True), "HEAD request", Answer.EMPTY),
        (IncomingRequest("GET", "/api/health", "ELB-HealthChecker/2.0", False), "non-visitor path", Answer.JSON),
        (IncomingRequest("GET", "/robots.txt", "Mozilla/5.0", True), "non-visitor path", Answer.JSON),
        (IncomingRequest("GET", "/favicon.ico", "Mozilla/5.0", False), "non-visitor path", Answer.JSON),
        (IncomingRequest("POST", "/_keepalive", "Mozilla/5.0", False), "non-visitor path", Answer.JSON),
        (IncomingRequest("GET", "/", "Pingdom.com_bot_version_1.4", True), "non-visitor user agent", Answer.JSON),
        (
            IncomingRequest("GET", "/", "Mozilla/5.0 (compatible; bingbot/2.0)", True),
            "non-visitor user agent",
            Answer.JSON,
        ),
    ],
)
def test_non_visitors_never_wake(request_: IncomingRequest, reason: str, answer: Answer) -> None:
    decision = decide_wait(NOW, SETTINGS, SLEEPING, request_)
    assert decision.not_a_visitor == reason
    assert (decision.wants_wake, decision.send_wake, decision.phase, decision.answer) == (
        False,
        False,
        Phase.SLEEPING,
        answer,
    )


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/guides", "", "/guides"),
        ("/guides", "a=1&b=2", "/guides?a=1&b=2"),
        ("//evil.example/x", "", "/evil.example/x"),
        ("/\\evil.example", "", "/evil.example"),
        ("/a\\b", "", "/"),
        ("/a\r\nSet-Cookie: x", "", "/"),
        ("/a", "x=1\r\nSet-Cookie: y", "/"),
        ("/a", "x=\x00", "/"),
    ],
)
def test_return_path_stays_on_site(path: str, query: str, expected: str) -> None:
    assert safe_return_path(path, query) == expected


# ---------------------------------------------------------------- pings


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        (["Bearer abc"], "abc"),
        (["bearer   abc  "], "abc"),
        (["Basic abc"], None),
        (["Bearer"], None),
        (["Bearer "], None),
        ([], None),
        (["Bearer abc", "Bearer abc"], None),
    ],
)
def test_bearer_token(headers: list[str], token: str | None) -> None:
    assert bearer_token(headers) == token


def test_token_matches() -> None:
    assert token_matches("s3cret", "s3cret")
    assert not token_matches("s3cre", "s3cret")
    assert not token_matches(None, "s3cret")
    assert not token_matches("", "")


@pytest.mark.parametrize(
    ("authorized", "body", "verdict", "status"),
    [
        (False, b"{}", PingVerdict.UNAUTHORIZED, 401),
        (True, b"", PingVerdict.ACCEPTED, 202),
        (True, b"  \n", PingVerdict.ACCEPTED, 202),
        (True, b'{"wake": true, "extra": 1}', PingVerdict.ACCEPTED, 202),
        (True, b"x" * (MAX_PING_BYTES + 1), PingVerdict.TOO_LARGE, 413),
        (True, b"\xff\xfe", PingVerdict.MALFORMED, 400),
        (True, b"null", PingVerdict.MALFORMED, 400),
        (True, b'{"wake": 1}', PingVerdict.MALFORMED, 400),
        (True, b'{"source": ""}', PingVerdict.MALFORMED, 400),
        (True, b'{"sentAt": "2026-11-22T03:59:30Z"}', PingVerdict.ACCEPTED, 202),
        (True, b'{"sentAt": "2026-11-22T03:57:59Z"}', PingVerdict.MALFORMED, 400),
        (True, b'{"sentAt": "2026-11-22T04:01:01Z"}', PingVerdict.MALFORMED, 400),
        (True, b'{"sentAt": "2026-11-22T03:59:30"}', PingVerdict.MALFORMED, 400),  # no time zone
    ],
)
def test_judge_ping(authorized: bool, body: bytes, verdict: PingVerdict, status: int) -> None:
    decision = judge_ping(NOW, authorized, body)
    assert (decision.verdict, decision.status_code) == (verdict, status)
    assert (decision.body is not None) == (verdict is PingVerdict.ACCEPTED)


def test_only_an_explicit_wake_wakes() -> None:
    assert judge_ping(NOW, True, b"{}").body.wake is False  # type: ignore[union-attr]
    assert judge_ping(NOW, True, b'{"wake": true}').body.wake is True  # type: ignore[union-attr]


# ---------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("state", "observed", "phase", "ready", "waking_for"),
    [
        (SLEEPING, ObservedService(0, 0, 0), Phase.SLEEPING, False, None),
        (WAKING, ObservedService(1, 0, 0), Phase.WAKING, False, 20),
        (WAKING, ObservedService(1, 1, 1), Phase.WAKING, False, 20),  # healthy, traffic not back yet
        (FAILED, ObservedService(1, 0, 0), Phase.FAILED, False, None),
        (SLEEPING, ObservedService(1, 1, 0), Phase.AWAKE, False, None),  # awake, no healthy target yet
        (SLEEPING, ObservedService(2, 2, 2), Phase.AWAKE, True, None),
    ],
)
def test_build_status(
    state: ControllerState, observed: ObservedService, phase: Phase, ready: bool, waking_for: int | None
) -> None:
    settings = Settings.model_validate({**SETTINGS.model_dump(), "service_display_name": "City Guided"})
    status = build_status(NOW, settings, state, observed)
    assert (status.state, status.ready, status.waking_for_seconds) == (phase, ready, waking_for)
    assert status.service == "City Guided"
    assert status.wake_deadline_seconds == 300
    assert (status.failure_reason is not None) == (phase is Phase.FAILED)


@pytest.mark.parametrize(
    ("kind", "reason", "public"),
    [
        (
            FailureKind.TASK_STOPPED,
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): 123456789012.dkr.ecr...",
            "The service's task stopped before it was ready (CannotPullContainerError).",
        ),
        (
            FailureKind.TASK_STOPPED,
            "Essential container in task exited",
            "The service's task stopped before it was ready.",
        ),
        (
            FailureKind.DEADLINE_PASSED,
            "no healthy target 5 minutes after the wake started",
            "The service did not become ready in time.",
        ),
        (
            FailureKind.PLACEMENT_FAILURE,
            "ResourceInitializationError: unable to pull secrets or registry auth: arn:aws:secretsmanager:...",
            "AWS could not find capacity to start the service (ResourceInitializationError).",
        ),
    ],
)
def test_visitors_read_what_failed_without_ecs_details(kind: FailureKind, reason: str, public: str) -> None:
    failure = Failure(kind=kind, reason=reason, at=NOW)
    assert public_failure_reason(failure) == public
    assert "123456789012" not in public and "arn:" not in public
