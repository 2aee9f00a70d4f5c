"""The heartbeat function through its real handler, with ALB events from events/heartbeat/ and a moto
account shaped like the template (secret, state parameter, ECS service, target group, EventBridge rule
delivering to SQS so every asserted wake request really went out)."""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from heartbeat import observability
from heartbeat.adapters import aws
from heartbeat.routes import waiting
from tests.heartbeat.conftest import FIXTURE_TOKEN, Account, CallCounter, Invocation, load_event, reset_handler_state

Invoke = Callable[[dict[str, Any]], Invocation]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _error_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


def _assert_no_trace(result: Invocation) -> None:
    assert "Traceback" not in result.body
    assert 'File "' not in result.body


# ---------------------------------------------------------------- POST /_warmkeeper/heartbeat


@pytest.mark.parametrize("fixture", ["ping.json", "ping-single-value-headers.json"])
def test_accepted_ping_is_a_heartbeat_metric_and_makes_no_aws_call_once_the_token_is_cached(
    account: Account, invoke: Invoke, aws_calls: CallCounter, fixture: str
) -> None:
    first = invoke(load_event(fixture))
    assert first.status == 202
    assert first.json() == {"accepted": True, "wakeRequested": False}
    assert first.metrics() == {"Heartbeats": 1}
    # AWSCURRENT and AWSPREVIOUS: both are accepted during a rotation's overlap.
    assert aws_calls.take() == ["secretsmanager:GetSecretValue", "secretsmanager:GetSecretValue"]

    second = invoke(load_event(fixture))
    assert second.status == 202
    assert second.metrics() == {"Heartbeats": 1}
    assert aws_calls.take() == []
    # A ping never wakes a sleeping service by itself.
    assert account.wake_events() == []


def test_single_value_event_gets_single_value_headers_back(account: Account, invoke: Invoke) -> None:
    single = invoke(load_event("ping-single-value-headers.json")).response
    multi = invoke(load_event("ping.json")).response
    assert "headers" in single
    assert "multiValueHeaders" not in single
    assert multi["multiValueHeaders"]["Content-Type"] == ["application/json"]


def test_a_replayed_ping_carrying_an_old_sent_at_is_rejected(account: Account, invoke: Invoke) -> None:
    result = invoke(load_event("ping-replayed.json"))
    assert result.status == 400
    assert "too old" in result.json()["error"]
    assert result.metrics() == {"HeartbeatsRejected": 1}


def test_a_fresh_sent_at_is_accepted_and_the_same_ping_sent_twice_counts_twice(
    account: Account, invoke: Invoke
) -> None:
    event = load_event("ping.json")
    event["body"] = json.dumps({"source": "batch-job", "sentAt": _iso(datetime.now(UTC) - timedelta(seconds=5))})
    assert invoke(event).metrics() == {"Heartbeats": 1}
    assert invoke(copy.deepcopy(event)).metrics() == {"Heartbeats": 1}


def test_sent_at_in_the_future_is_rejected(account: Account, invoke: Invoke) -> None:
    event = load_event("ping.json")
    event["body"] = json.dumps({"sentAt": _iso(datetime.now(UTC) + timedelta(minutes=10))})
    result = invoke(event)
    assert result.status == 400
    assert "future" in result.json()["error"]


@pytest.mark.parametrize(
    ("fixture", "status", "message"),
    [
        ("ping-empty-body.json", 202, None),
        ("ping-base64-body.json", 202, None),
        ("ping-oversized-body.json", 413, "at most 1024 bytes"),
        ("ping-not-json.json", 400, "JSON object"),
        ("ping-json-array.json", 400, "JSON object"),
        ("ping-bad-field.json", 400, "wake"),
        ("ping-invalid-base64.json", 400, "base64"),
    ],
)
def test_ping_bodies(account: Account, invoke: Invoke, fixture: str, status: int, message: str | None) -> None:
    result = invoke(load_event(fixture))
    assert result.status == status
    if message is None:
        assert result.metrics() == {"Heartbeats": 1}
    else:
        assert message in result.json()["error"]
        assert result.metrics() == {"HeartbeatsRejected": 1}
    _assert_no_trace(result)


@pytest.mark.parametrize(
    "fixture", ["ping-no-token.json", "ping-wrong-token.json", "ping-two-authorization-headers.json"]
)
def test_pings_without_the_right_token_get_401(
    account: Account, invoke: Invoke, aws_calls: CallCounter, fixture: str
) -> None:
    result = invoke(load_event(fixture))
    assert result.status == 401
    assert result.header("WWW-Authenticate") == 'Bearer realm="warmkeeper"'
    assert result.metrics() == {"HeartbeatsRejected": 1}
    assert "Heartbeats" not in result.metrics()
    # No token presented: not even the secret is read.
    if fixture == "ping-no-token.json":
        assert aws_calls.take() == []


def test_an_oversized_body_without_a_token_learns_nothing_but_401(account: Account, invoke: Invoke) -> None:
    event = load_event("ping-oversized-body.json")
    event["multiValueHeaders"].pop("authorization")
    assert invoke(event).status == 401


def test_token_comparison_is_exact(account: Account, invoke: Invoke) -> None:
    for token in (FIXTURE_TOKEN[:-1], FIXTURE_TOKEN + "x", FIXTURE_TOKEN.lower()):
        event = load_event("ping.json")
        event["multiValueHeaders"]["authorization"] = [f"Bearer {token}"]
        assert invoke(event).status == 401
    event = load_event("ping.json")
    event["multiValueHeaders"]["authorization"] = [f"bearer   {FIXTURE_TOKEN}"]
    assert invoke(event).status == 202


def test_ping_asking_for_a_wake_puts_a_wake_requested_event(
    account: Account, invoke: Invoke, aws_calls: CallCounter
) -> None:
    result = invoke(load_event("ping-wake.json"))
    assert result.status == 202
    assert result.json() == {"accepted": True, "wakeRequested": True}
    assert result.metrics()["Heartbeats"] == 1
    assert result.metrics()["PingWakeRequests"] == 1
    [event] = account.wake_events()
    assert event["source"] == "warmkeeper"
    assert event["detail-type"] == "Wake Requested"
    assert event["detail"] == {
        "stack": "warmkeeper",
        "requestedBy": "heartbeat:nightly-import",
        "reason": "ping asked for a wake",
    }
    assert aws_calls.take() == [
        "secretsmanager:GetSecretValue",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
        "events:PutEvents",
    ]
    # The same job pinging again before the controller recorded the wake asks for nothing more.
    again = invoke(load_event("ping-wake.json"))
    assert again.json() == {
        "accepted": True,
        "wakeSkipped": "a wake is already requested or under way",
        "wakeRequested": False,
    }
    assert account.wake_events() == []


def test_a_rotated_token_is_accepted_with_the_previous_one_during_the_overlap(
    account: Account, invoke: Invoke, aws_calls: CallCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Warm environment: the current value cached.
    assert invoke(load_event("ping.json")).status == 202
    rotated = "Wk1rotated1token1not1a1secret1AbCdEfGhIjKlMnOpQr"
    boto3.client("secretsmanager").put_secret_value(SecretId=account.env["TOKEN_SECRET_ARN"], SecretString=rotated)
    aws_calls.take()
    # A new Caddy task presents the new value (its task starts well after the refresh period, here elapsed at
    # once): the cache does not know it, so it is read again.
    monkeypatch.setattr(aws, "TOKEN_REFRESH_SECONDS", 0)
    new = load_event("ping.json")
    new["multiValueHeaders"]["authorization"] = [f"Bearer {rotated}"]
    assert invoke(new).status == 202
    assert aws_calls.take() == ["secretsmanager:GetSecretValue", "secretsmanager:GetSecretValue"]
    # An old Caddy task still presents the previous value (AWSPREVIOUS): accepted, no read.
    assert invoke(load_event("ping.json")).status == 202
    assert aws_calls.take() == []
    # A second rotation ends the overlap for the first value.
    boto3.client("secretsmanager").put_secret_value(SecretId=account.env["TOKEN_SECRET_ARN"], SecretString="x" * 48)
    aws.expire_values()
    assert invoke(load_event("ping.json")).status == 401


def test_wrong_tokens_cost_at_most_one_secret_read_per_refresh_period(
    account: Account, invoke: Invoke, aws_calls: CallCounter
) -> None:
    assert invoke(load_event("ping.json")).status == 202
    aws_calls.take()
    for _ in range(20):
        assert invoke(load_event("ping-wrong-token.json")).status == 401
    assert aws_calls.take() == []  # the cache is fresher than the refresh period


def test_missing_secret_gives_503_and_an_error_log(
    account: Account, invoke: Invoke, caplog: pytest.LogCaptureFixture
) -> None:
    boto3.client("secretsmanager").delete_secret(
        SecretId=account.env["TOKEN_SECRET_ARN"], ForceDeleteWithoutRecovery=True
    )
    result = invoke(load_event("ping.json"))
    assert result.status == 503
    assert result.json() == {"error": "heartbeat token unavailable; the ping was not recorded"}
    assert result.metrics() == {"HeartbeatTokenUnavailable": 1}
    [record] = _error_logs(caplog)
    assert record.getMessage() == "heartbeat token unavailable; ping not recorded"
    assert "cannot read the heartbeat token secret" in record.__dict__["error"]
    _assert_no_trace(result)


def test_empty_secret_is_a_clear_fault(account: Account, invoke: Invoke, caplog: pytest.LogCaptureFixture) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=account.env["TOKEN_SECRET_ARN"], SecretString="  ")
    assert invoke(load_event("ping.json")).status == 503
    assert "is empty" in _error_logs(caplog)[0].__dict__["error"]


def test_wake_ping_whose_put_events_fails_is_still_recorded_and_says_so(
    account: Account, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    result = invoke(load_event("ping-wake.json"))
    assert result.status == 202
    assert result.json()["wakeRequested"] is False
    assert "backstop" in result.json()["error"]
    assert result.metrics()["Heartbeats"] == 1
    assert result.metrics()["WakeRequestFailures"] == 1
    assert _error_logs(caplog)[0].getMessage() == "wake request failed; the wake backstop alarm will catch it"


@pytest.mark.parametrize(
    ("fixture", "allow"), [("ping-wrong-method.json", "POST"), ("status-wrong-method.json", "GET, HEAD")]
)
def test_wrong_methods_get_405(account: Account, invoke: Invoke, fixture: str, allow: str) -> None:
    result = invoke(load_event(fixture))
    assert result.status == 405
    assert result.header("Allow") == allow
    assert account.wake_events() == []


# ---------------------------------------------------------------- GET /_warmkeeper/status


@pytest.mark.parametrize("fixture", ["status.json", "status-single-value-headers.json"])
def test_status_of_a_sleeping_service(account: Account, invoke: Invoke, aws_calls: CallCounter, fixture: str) -> None:
    result = invoke(load_event(fixture))
    assert result.status == 200
    body = result.json()
    # Visitors read only what the waiting page shows: no counts, no timestamps.
    assert body == {
        "service": "City Guided",
        "state": "sleeping",
        "ready": False,
        "wakingForSeconds": None,
        "wakeDeadlineSeconds": 600,
        "failureReason": None,
        "failureId": None,
    }
    assert result.header("Cache-Control") == "public, max-age=2"
    assert result.header("X-Warmkeeper-State") == "sleeping"
    assert sorted(aws_calls.take()) == ["ecs:DescribeServices", "elbv2:DescribeTargetHealth", "ssm:GetParameter"]
    # Short cache: a second poll right away makes no AWS call.
    invoke(load_event(fixture))
    assert aws_calls.take() == []


def test_status_while_waking_reports_elapsed_seconds(account: Account, invoke: Invoke) -> None:
    account.set_desired(1)
    account.set_state({"wakeStartedAt": _iso(datetime.now(UTC) - timedelta(seconds=30))})
    body = invoke(load_event("status-detailed.json")).json()
    assert body["state"] == "waking"
    assert 29 <= body["wakingForSeconds"] <= 35
    assert body["desiredCount"] == 1
    assert body["ready"] is False


def test_status_of_a_failed_wake_gives_the_reason(account: Account, invoke: Invoke) -> None:
    account.set_desired(1)
    failed_at = datetime.now(UTC) - timedelta(minutes=1)
    account.set_state(
        {
            "failure": {
                "kind": "task-start-impaired",
                "reason": "CannotPullContainerError: image not found",
                "at": _iso(failed_at),
            }
        }
    )
    body = invoke(load_event("status.json")).json()
    assert body["state"] == "failed"
    # What went wrong and ECS's error class, not ECS's full text (it can name images and accounts).
    assert body["failureReason"] == "The service's tasks cannot start (CannotPullContainerError)."
    assert body["ready"] is False


def test_status_is_ready_when_awake_with_a_healthy_target(account: Account, invoke: Invoke) -> None:
    account.set_desired(1)
    account.register_target()
    account.set_state({"awakeSince": _iso(datetime.now(UTC))})
    result = invoke(load_event("status-detailed.json"))
    body = result.json()
    assert (body["state"], body["ready"], body["healthyTargets"], body["desiredCount"]) == ("awake", True, 1, 1)
    assert result.header("Cache-Control") == "private, no-store"
    # Even the detailed answer: no secret, no ARN, no parameter name.
    for secret in (FIXTURE_TOKEN, "arn:aws", account.env["STATE_PARAMETER_NAME"]):
        assert secret not in result.body


def test_the_detailed_status_needs_the_token(account: Account, invoke: Invoke) -> None:
    account.set_desired(1)
    failed_at = datetime.now(UTC) - timedelta(minutes=1)
    account.set_state(
        {"failure": {"kind": "task-stopped", "reason": "Essential container exited", "at": _iso(failed_at)}}
    )
    public = invoke(load_event("status.json")).json()
    assert public["state"] == "failed"
    assert public["failureReason"] == "The service's task stopped before it was ready."
    assert len(public["failureId"]) == 12
    assert not {"desiredCount", "runningCount", "healthyTargets", "failedAt", "checkedAt"} & public.keys()
    detailed = invoke(load_event("status-detailed.json")).json()
    assert (detailed["desiredCount"], detailed["failureId"]) == (1, public["failureId"])
    assert detailed["failedAt"].startswith(failed_at.strftime("%Y-%m-%dT%H:%M:%S"))
    wrong = invoke(load_event("status-wrong-token.json"))
    assert wrong.status == 401
    assert "state" not in wrong.json()
    assert wrong.header("WWW-Authenticate") == 'Bearer realm="warmkeeper"'


def test_status_head_has_headers_and_no_body(account: Account, invoke: Invoke) -> None:
    result = invoke(load_event("status-head.json"))
    assert result.status == 200
    assert result.body == ""
    assert result.header("X-Warmkeeper-State") == "sleeping"


def test_status_when_aws_fails_is_a_clear_503(
    account: Account, invoke: Invoke, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVICE_NAME", "no-such-service")
    result = invoke(load_event("status.json"))
    assert result.status == 503
    assert result.json()["state"] == "unknown"
    assert result.header("Retry-After") == "10"
    assert result.metrics()["StatusFailures"] == 1
    assert "service no-such-service not found in warmkeeper" in _error_logs(caplog)[0].__dict__["error"]
    _assert_no_trace(result)


def test_status_with_a_corrupt_state_document_is_a_clear_503(
    account: Account, invoke: Invoke, caplog: pytest.LogCaptureFixture
) -> None:
    boto3.client("ssm").put_parameter(
        Name=account.env["STATE_PARAMETER_NAME"], Value='{"version": 7}', Type="String", Overwrite=True
    )
    result = invoke(load_event("status.json"))
    assert result.status == 503
    assert "not a controller state document" in _error_logs(caplog)[0].__dict__["error"]


# ---------------------------------------------------------------- everything else: the waker


@pytest.mark.parametrize("fixture", ["waiting-page.json", "waiting-page-single-value-headers.json"])
def test_first_browser_hit_gets_the_waiting_page_and_asks_for_a_wake(
    account: Account, invoke: Invoke, aws_calls: CallCounter, fixture: str
) -> None:
    result = invoke(load_event(fixture))
    assert result.status == 503
    assert result.header("Content-Type") == "text/html; charset=utf-8"
    assert result.header("X-Warmkeeper-State") == "waking"
    assert result.header("Retry-After") == "10"
    assert result.header("Cache-Control") == "no-store"
    assert "City Guided" in result.body
    assert result.metrics() == {"WakeRequests": 1, "WakeRequestsSent": 1, "WaitingPageHits": 1}
    calls = aws_calls.take()
    assert calls == ["ssm:GetParameter", "events:PutEvents"]
    assert len(calls) <= 2
    [event] = account.wake_events()
    assert event["detail-type"] == "Wake Requested"
    assert event["detail"]["stack"] == "warmkeeper"
    assert event["detail"]["requestedBy"] == "visitor"


def test_waiting_page_content_is_accessible_and_self_contained(account: Account, invoke: Invoke) -> None:
    page = invoke(load_event("waiting-page.json")).body
    assert '<html lang="en"' in page
    assert "<title>City Guided: starting up</title>" in page
    assert 'role="status" aria-live="polite"' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    # JS off: the original URL (path and query) is reloaded with a GET.
    assert '<noscript><meta http-equiv="refresh" content="10; url=/guides/paris?lang=fr&amp;tour=left%20bank">' in page
    assert "/_warmkeeper/status" in page
    # No external asset of any kind.
    for marker in ("http://", "https://", "src=", "<link", "@import", "url("):
        assert marker not in page, marker
    assert len(page.encode()) < 12_000


def test_csp_allows_exactly_the_inline_script(account: Account, invoke: Invoke) -> None:
    result = invoke(load_event("waiting-page.json"))
    scripts = re.findall(r"<script>(.*?)</script>", result.body, flags=re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in (result.header("Content-Security-Policy") or "")


def test_later_hits_while_the_wake_is_under_way_send_nothing_but_still_count(
    account: Account, invoke: Invoke, aws_calls: CallCounter
) -> None:
    invoke(load_event("waiting-page.json"))
    assert len(account.wake_events()) == 1
    aws_calls.take()
    again = invoke(load_event("waiting-page.json"))
    assert again.header("X-Warmkeeper-State") == "waking"
    assert again.metrics() == {"WakeRequests": 1, "WaitingPageHits": 1}
    assert account.wake_events() == []
    assert aws_calls.take() == []


def test_a_wake_recorded_by_the_controller_is_not_requested_again(
    account: Account, invoke: Invoke, aws_calls: CallCounter
) -> None:
    account.set_desired(1)
    account.set_state({"wakeStartedAt": _iso(datetime.now(UTC) - timedelta(seconds=12))})
    aws_calls.take()
    result = invoke(load_event("waiting-page.json"))
    assert result.header("X-Warmkeeper-State") == "waking"
    assert result.metrics()["WakeRequests"] == 1
    assert "WakeRequestsSent" not in result.metrics()
    assert aws_calls.take() == ["ssm:GetParameter"]
    assert account.wake_events() == []


def test_a_failed_wake_shows_the_reason_and_a_retry(account: Account, invoke: Invoke) -> None:
    account.set_desired(1)
    account.set_state(
        {
            "failure": {
                "kind": "task-start-impaired",
                "reason": "ResourceInitializationError: <unable to pull secrets>",
                "at": _iso(datetime.now(UTC)),
            }
        }
    )
    result = invoke(load_event("waiting-page.json"))
    assert result.header("X-Warmkeeper-State") == "failed"
    assert "<title>City Guided: start failed</title>" in result.body
    # What failed is shown, escaped; ECS's own text (it can name images and accounts) is not.
    assert html.escape("The service's tasks cannot start (ResourceInitializationError).") in result.body
    assert "unable to pull secrets" not in result.body
    assert '<form id="wk-retry" method="post" action="/_warmkeeper/wake">' in result.body
    assert 'id="wk-failure" class="failure" hidden' not in result.body
    # No endless reload loop on a failure: the visitor decides to retry.
    assert 'http-equiv="refresh"' not in result.body
    # The visitor still wants the service: counted for the backstop alarm, not re-sent on every load.
    assert result.metrics()["WakeRequests"] == 1
    assert account.wake_events() == []


@pytest.mark.parametrize("fixture", ["waiting-api-client.json", "waiting-api-client-post.json"])
def test_api_clients_get_503_json_with_retry_after(account: Account, invoke: Invoke, fixture: str) -> None:
    result = invoke(load_event(fixture))
    assert result.status == 503
    assert result.header("Content-Type") == "application/json"
    assert result.header("Retry-After") == "10"
    assert result.header("X-Warmkeeper-State") == "waking"
    body = result.json()
    assert body["state"] == "waking"
    assert body["retryAfterSeconds"] == 10
    assert body["statusUrl"] == "/_warmkeeper/status"
    assert body["requestProcessed"] is False
    assert result.metrics() == {"WakeRequests": 1, "WakeRequestsSent": 1}
    assert len(account.wake_events()) == 1


def test_a_form_post_is_not_replayed(account: Account, invoke: Invoke) -> None:
    result = invoke(load_event("waiting-page-form-post.json"))
    assert result.status == 503
    assert "Your POST request was not processed and will not be sent again" in result.body
    # Fallback and script both return with a GET to the page, never re-posting the form.
    assert 'content="10; url=/contact"' in result.body
    assert '"returnUrl": "/contact"' in result.body
    assert "Bonjour" not in result.body
    assert len(account.wake_events()) == 1


def test_a_protocol_relative_path_cannot_redirect_elsewhere(account: Account, invoke: Invoke) -> None:
    body = invoke(load_event("waiting-page-protocol-relative-path.json")).body
    assert "url=/evil.example/phish" in body
    assert "//evil.example" not in body


@pytest.mark.parametrize(
    "fixture",
    [
        "not-visitor-health-check.json",
        "not-visitor-head.json",
        "not-visitor-robots.json",
        "not-visitor-favicon.json",
        "not-visitor-uptime-monitor.json",
        "not-visitor-crawler.json",
        "not-visitor-keepalive.json",
    ],
)
def test_non_visitors_get_an_answer_without_waking_anything(
    account: Account, invoke: Invoke, aws_calls: CallCounter, fixture: str
) -> None:
    result = invoke(load_event(fixture))
    assert result.status == 503
    assert result.header("Retry-After") == "10"
    assert result.header("X-Warmkeeper-State") == "sleeping"
    assert result.metrics() == {"NonVisitorRequests": 1}
    assert "events:PutEvents" not in aws_calls.take()
    assert account.wake_events() == []
    if fixture == "not-visitor-head.json":
        assert result.body == ""
    else:
        assert result.json()["state"] == "sleeping"


@pytest.mark.parametrize(
    ("fixture", "status"),
    [("not-visitor-uptime-monitor.json", 200), ("not-visitor-crawler.json", 200), ("not-visitor-head.json", 200)],
)
def test_non_visitors_while_awake_learn_it_is_up_and_keep_nothing_awake(
    account: Account, invoke: Invoke, aws_calls: CallCounter, fixture: str, status: int
) -> None:
    # The user-agent listener rule sends monitors and crawlers here in every state: never to the service's
    # target group, whose RequestCount is the idle alarm's activity.
    account.set_desired(1)
    account.set_state({"awakeSince": _iso(datetime.now(UTC))})
    result = invoke(load_event(fixture))
    assert result.status == status
    assert result.header("X-Warmkeeper-State") == "awake"
    assert result.metrics() == {"NonVisitorRequests": 1}
    assert "events:PutEvents" not in aws_calls.take()
    assert account.wake_events() == []
    if fixture != "not-visitor-head.json":
        assert result.json()["state"] == "awake"


def test_non_visitor_user_agents_are_configurable(
    account: Account, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NON_VISITOR_USER_AGENTS", "okhttp")
    assert invoke(load_event("waiting-api-client.json")).metrics() == {"NonVisitorRequests": 1}
    assert invoke(load_event("not-visitor-crawler.json")).metrics()["WakeRequests"] == 1


def test_put_events_failure_still_shows_the_page_and_is_logged(
    account: Account, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    result = invoke(load_event("waiting-page.json"))
    assert result.status == 503
    assert "City Guided" in result.body
    assert result.metrics() == {"WakeRequests": 1, "WakeRequestFailures": 1, "WaitingPageHits": 1}
    [record] = _error_logs(caplog)
    assert record.getMessage() == "wake request failed; the wake backstop alarm will catch it"
    assert "PutEvents" in record.__dict__["error"]
    _assert_no_trace(result)


def test_unreadable_state_still_asks_for_a_wake(
    account: Account, invoke: Invoke, caplog: pytest.LogCaptureFixture, aws_calls: CallCounter
) -> None:
    boto3.client("ssm").delete_parameter(Name=account.env["STATE_PARAMETER_NAME"])
    aws_calls.take()
    result = invoke(load_event("waiting-page.json"))
    assert result.status == 503
    assert result.metrics()["StateReadFailures"] == 1
    assert len(account.wake_events()) == 1
    assert "cannot read the controller state parameter" in _error_logs(caplog)[0].__dict__["error"]
    assert aws_calls.take() == ["ssm:GetParameter", "events:PutEvents"]


def test_unknown_warmkeeper_paths_are_404_and_wake_nothing(account: Account, invoke: Invoke) -> None:
    result = invoke(load_event("unknown-warmkeeper-path.json"))
    assert result.status == 404
    assert account.wake_events() == []


# ---------------------------------------------------------------- POST /_warmkeeper/wake (retry)


def test_retry_form_after_a_failure_sends_a_wake_and_redirects_back(account: Account, invoke: Invoke) -> None:
    account.set_state(
        {"failure": {"kind": "deadline-passed", "reason": "no healthy target", "at": _iso(datetime.now(UTC))}}
    )
    result = invoke(load_event("wake-retry-form.json"))
    assert result.status == 303
    assert result.header("Location") == "/guides/paris?lang=fr"
    [event] = account.wake_events()
    assert event["detail"]["requestedBy"] == "waiting-page retry"


def test_retry_while_a_wake_is_under_way_sends_nothing(account: Account, invoke: Invoke) -> None:
    account.set_state({"wakeStartedAt": _iso(datetime.now(UTC))})
    result = invoke(load_event("wake-retry-fetch.json"))
    assert result.status == 202
    assert result.json() == {"wakeRequested": False}
    assert account.wake_events() == []


def test_wake_posts_while_awake_send_nothing(account: Account, invoke: Invoke) -> None:
    account.set_desired(1)
    account.set_state({"awakeSince": _iso(datetime.now(UTC))})
    for _ in range(5):
        assert invoke(load_event("wake-retry-fetch.json")).json() == {"wakeRequested": False}
    assert account.wake_events() == []


def test_wake_posts_on_fresh_environments_send_once_the_controller_recorded_the_wake(
    account: Account, invoke: Invoke
) -> None:
    # Ten cold environments before the controller's write: at most one event each...
    for _ in range(10):
        reset_handler_state()
        invoke(load_event("wake-retry-fetch.json"))
    assert len(account.wake_events()) == 10
    # ...and none at all once the record says a wake is under way, however many environments ask.
    account.set_state({"wakeStartedAt": _iso(datetime.now(UTC))})
    account.set_desired(1)
    for _ in range(10):
        reset_handler_state()
        assert invoke(load_event("wake-retry-fetch.json")).json() == {"wakeRequested": False}
        assert invoke(load_event("waiting-page.json")).status == 503
    assert account.wake_events() == []


def test_retry_clicks_are_limited_to_one_event_per_grace_period(account: Account, invoke: Invoke) -> None:
    assert invoke(load_event("wake-retry-fetch.json")).json() == {"wakeRequested": True}
    assert invoke(load_event("wake-retry-fetch.json")).json() == {"wakeRequested": False}
    assert len(account.wake_events()) == 1


def test_the_first_retry_after_a_new_failure_is_never_swallowed_by_the_grace(account: Account, invoke: Invoke) -> None:
    assert invoke(load_event("wake-retry-fetch.json")).json() == {"wakeRequested": True}
    # That wake fails within the grace period (an image that cannot be pulled fails in seconds).
    account.set_state({"failure": {"kind": "task-stopped", "reason": "x", "at": _iso(datetime.now(UTC))}})
    aws.expire_values()
    assert invoke(load_event("wake-retry-fetch.json")).json() == {"wakeRequested": True}
    # A second click on the same failure is within the grace again.
    assert invoke(load_event("wake-retry-fetch.json")).json() == {"wakeRequested": False}
    assert len(account.wake_events()) == 2


def test_retry_form_cannot_redirect_off_site(account: Account, invoke: Invoke) -> None:
    event = load_event("wake-retry-form.json")
    event["body"] = "return=%2F%2Fevil.example%2Fx"
    assert invoke(event).header("Location") == "/evil.example/x"
    event["body"] = "return=%2Fa%3Fx%3D1%0D%0ASet-Cookie%3A%20s%3D1"
    assert invoke(event).header("Location") == "/"


# ---------------------------------------------------------------- configuration and unexpected errors


@pytest.mark.parametrize("fixture", ["waiting-page.json", "waiting-page-single-value-headers.json"])
def test_logs_carry_the_alb_trace_id_as_correlation_id(account: Account, invoke: Invoke, fixture: str) -> None:
    observability.logger.set_correlation_id(None)
    invoke(load_event(fixture))
    assert observability.logger.get_correlation_id() == "Root=1-67a1b2c3-0123456789abcdef01234567"


def test_bad_settings_give_a_clear_log_and_no_trace(
    account: Account, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("TOKEN_SECRET_ARN")
    monkeypatch.setenv("WAKE_DEADLINE_MINUTES", "soon")
    result = invoke(load_event("ping.json"))
    assert result.status == 500
    assert result.json() == {"error": "the Warmkeeper function is misconfigured; see its logs"}
    message = _error_logs(caplog)[0].__dict__["error"]
    assert "TOKEN_SECRET_ARN" in message
    assert "WAKE_DEADLINE_MINUTES" in message
    _assert_no_trace(result)


def test_an_unexpected_error_is_logged_with_its_trace_and_answered_plainly(
    account: Account, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*_: object, **__: object) -> str:
        raise KeyError("boom")

    monkeypatch.setattr(waiting, "render_waiting_page", explode)
    result = invoke(load_event("waiting-page.json"))
    assert result.status == 500
    assert result.json() == {"error": "internal error"}
    [record] = _error_logs(caplog)
    assert record.exc_info is not None
    _assert_no_trace(result)
