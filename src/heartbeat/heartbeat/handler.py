"""Lambda entry point of the HTTP face: heartbeat pings, the status endpoint and the waiting page.

The routes stay thin: they read the request, call the pure decisions in ``heartbeat.domain`` and the AWS
adapters, and turn the outcome into a response. No stack trace ever reaches a client.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import ALBResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from heartbeat.adapters import aws
from heartbeat.domain.pings import MAX_PING_BYTES, PingVerdict, bearer_token, judge_ping, token_matches
from heartbeat.domain.status import build_status
from heartbeat.domain.visitors import (
    RETRY_AFTER_SECONDS,
    Answer,
    IncomingRequest,
    decide_wait,
    phase_at_the_waker,
    recently_sent,
    safe_return_path,
)
from heartbeat.http import BadBody, accepts_html, body_bytes, header, header_values, json_response, query_string
from heartbeat.pages.render import PageView, content_security_policy, render_waiting_page
from heartbeat.settings import Settings, SettingsError, get_settings
from warmkeeper_shared.state import ControllerState, Phase

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ALBResolver()

HEARTBEAT_PATH = "/_warmkeeper/heartbeat"
STATUS_PATH = "/_warmkeeper/status"
WAKE_PATH = "/_warmkeeper/wake"
ALLOWED_METHODS = {HEARTBEAT_PATH: "POST", STATUS_PATH: "GET, HEAD", WAKE_PATH: "POST"}
STATE_HEADER = "X-Warmkeeper-State"
MAX_FORM_BYTES = 2048
STATUS_CACHE_SECONDS = 2
# The ALB's trace id ties a log line to the request; it sits in multiValueHeaders when the target group
# sends multi-value headers, in headers otherwise.
CORRELATION_ID_PATH = 'multiValueHeaders."x-amzn-trace-id"[0] || headers."x-amzn-trace-id"'

# When this execution environment last sent a wake request (see LOCAL_WAKE_GRACE).
_last_wake_sent: datetime | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def _send_wake(settings: Settings, requested_by: str, reason: str) -> bool:
    """Put a wake request; a failure is logged and counted, and the wake backstop alarm covers it."""
    global _last_wake_sent  # noqa: PLW0603 - per execution environment memory of the last request
    try:
        event_id = aws.put_wake_request(settings, requested_by=requested_by, reason=reason)
    except aws.AwsFault as error:
        logger.error(
            "wake request failed; the wake backstop alarm will catch it", error=str(error), requested_by=requested_by
        )
        _count("WakeRequestFailures")
        return False
    _last_wake_sent = _now()
    logger.info("wake requested", event_id=event_id, requested_by=requested_by, reason=reason)
    _count("WakeRequestsSent")
    return True


def _read_state(settings: Settings) -> ControllerState | None:
    try:
        return aws.controller_state(settings.state_parameter_name)
    except aws.AwsFault as error:
        logger.error("cannot read the controller state", error=str(error))
        _count("StateReadFailures")
        return None


@app.post(HEARTBEAT_PATH)
def heartbeat() -> Response[str]:
    settings = get_settings()
    event = app.current_event
    presented = bearer_token(header_values(event, "authorization"))
    authorized = False
    if presented is not None:
        # Only a request that presents a token costs a secret read (and then only on a cold cache).
        try:
            expected = aws.heartbeat_token(settings.token_secret_arn)
        except aws.AwsFault as error:
            logger.error("heartbeat token unavailable; ping not recorded", error=str(error))
            _count("HeartbeatTokenUnavailable")
            return json_response(503, {"error": "heartbeat token unavailable; the ping was not recorded"})
        authorized = token_matches(presented, expected)
    try:
        body = body_bytes(event, MAX_PING_BYTES) if authorized else b""
    except BadBody as error:
        _count("HeartbeatsRejected")
        return json_response(400, {"error": str(error)})
    decision = judge_ping(_now(), authorized, body)
    if decision.verdict is not PingVerdict.ACCEPTED or decision.body is None:
        logger.warning("heartbeat rejected", verdict=decision.verdict.value, status_code=decision.status_code)
        _count("HeartbeatsRejected")
        extra = {"WWW-Authenticate": 'Bearer realm="warmkeeper"'} if decision.status_code == 401 else {}
        return json_response(decision.status_code, {"error": decision.message}, extra)
    _count("Heartbeats")
    wake_requested = False
    if decision.body.wake:
        _count("PingWakeRequests")
        wake_requested = _send_wake(settings, f"heartbeat:{decision.body.source}", "ping asked for a wake")
    payload: dict[str, Any] = {"accepted": True, "wakeRequested": wake_requested}
    if decision.body.wake and not wake_requested:
        payload["error"] = "the wake request could not be sent; the wake backstop alarm will catch it"
    return json_response(202, payload)


@app.route(STATUS_PATH, method=["GET", "HEAD"])
def status() -> Response[str]:
    settings = get_settings()
    _count("StatusRequests")
    try:
        state = aws.controller_state(settings.state_parameter_name)
        observed = aws.observe_service(settings)
    except aws.AwsFault as error:
        logger.error("status unavailable", error=str(error))
        _count("StatusFailures")
        return json_response(
            503,
            {"service": settings.display_name, "state": "unknown", "ready": False, "error": "status unavailable"},
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    view = build_status(_now(), settings, state, observed)
    return Response(
        status_code=200,
        content_type="application/json",
        body="" if app.current_event.http_method == "HEAD" else view.to_json(),
        headers={"Cache-Control": f"public, max-age={STATUS_CACHE_SECONDS}", STATE_HEADER: view.state.value},
    )


@app.post(WAKE_PATH)
def wake() -> Response[str]:
    """The waiting page's "Try again" (also without JavaScript, as a form post that redirects back)."""
    settings = get_settings()
    event = app.current_event
    try:
        form = body_bytes(event, MAX_FORM_BYTES)
    except BadBody as error:
        return json_response(400, {"error": str(error)})
    if len(form) > MAX_FORM_BYTES:
        return json_response(413, {"error": f"the body is at most {MAX_FORM_BYTES} bytes"})
    # A retry is worth sending unless a wake is under way; the local grace keeps a stream of clicks
    # (or a bot) to one event per execution environment and grace period.
    phase = phase_at_the_waker(_read_state(settings))
    sent = False
    if phase is not Phase.WAKING and not recently_sent(_now(), _last_wake_sent):
        sent = _send_wake(settings, "waiting-page retry", "a visitor asked to try again")
    return_values = parse_qs(form.decode("utf-8", errors="replace")).get("return", ["/"])
    target = safe_return_path(return_values[-1].split("?", 1)[0], _query_of(return_values[-1]))
    if accepts_html(event):
        return Response(status_code=303, body="", headers={"Location": target, "Cache-Control": "no-store"})
    return json_response(202, {"wakeRequested": sent})


def _query_of(url: str) -> str:
    return url.split("?", 1)[1] if "?" in url else ""


@app.not_found
def waiting(_: NotFoundError) -> Response[str]:
    """Everything else: the service sleeps or wakes, so answer for it and ask for a wake when needed."""
    event = app.current_event
    path, method = event.path, event.http_method.upper()
    if path in ALLOWED_METHODS:
        return json_response(405, {"error": f"{method} is not allowed here"}, {"Allow": ALLOWED_METHODS[path]})
    if path.startswith("/_warmkeeper/"):
        return json_response(404, {"error": "no such Warmkeeper endpoint"})

    settings = get_settings()
    request = IncomingRequest(
        method=method, path=path, user_agent=header(event, "user-agent"), accepts_html=accepts_html(event)
    )
    now = _now()
    state = _read_state(settings)
    decision = decide_wait(now, settings, state, request, _last_wake_sent)
    if decision.not_a_visitor is not None:
        logger.info("not a visitor; nothing woken", reason=decision.not_a_visitor, path=path, method=method)
        _count("NonVisitorRequests")
    if decision.wants_wake:
        _count("WakeRequests")
    if decision.send_wake:
        _send_wake(settings, "visitor", f"{method} {path}")

    headers = {
        "Retry-After": str(RETRY_AFTER_SECONDS),
        "Cache-Control": "no-store",
        STATE_HEADER: decision.phase.value,
    }
    failure = state.failure.reason if state is not None and state.failure is not None else None
    if decision.answer is Answer.PAGE:
        _count("WaitingPageHits")
        page = PageView(
            name=settings.display_name,
            phase=decision.phase,
            return_url=safe_return_path(path, query_string(event)),
            method=method,
            failure_reason=failure if decision.phase is Phase.FAILED else None,
        )
        return Response(
            status_code=503,
            content_type="text/html; charset=utf-8",
            body=render_waiting_page(page),
            headers={
                **headers,
                "Content-Security-Policy": content_security_policy(),
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )
    if decision.answer is Answer.EMPTY:
        return Response(status_code=503, body="", headers=headers)
    payload: dict[str, Any] = {
        "state": decision.phase.value,
        "message": _json_message(settings, decision.phase),
        "retryAfterSeconds": RETRY_AFTER_SECONDS,
        "statusUrl": STATUS_PATH,
        # Nothing is queued or replayed: the client must send the request again.
        "requestProcessed": False,
    }
    if decision.phase is Phase.FAILED and failure:
        payload["failureReason"] = failure
    return json_response(503, payload, headers)


def _json_message(settings: Settings, phase: Phase) -> str:
    name = settings.display_name
    if phase is Phase.FAILED:
        return f"{name} could not be started; retry later or POST {WAKE_PATH}"
    if phase is Phase.WAKING:
        return f"{name} is starting; retry after the delay"
    return f"{name} is asleep"


def bad_settings(error: SettingsError) -> Response[str]:
    logger.error("invalid settings", error=str(error))
    return json_response(500, {"error": "the Warmkeeper function is misconfigured; see its logs"})


def unexpected(error: Exception) -> Response[str]:
    # Logged with its stack trace for the operator; the client gets a plain message.
    logger.error("unexpected error", error_type=type(error).__name__, exc_info=error)
    return json_response(500, {"error": "internal error"})


# Registered by call: the decorator form is untyped.
app.exception_handler(SettingsError)(bad_settings)
app.exception_handler(Exception)(unexpected)


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
