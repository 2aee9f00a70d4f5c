"""Every other path: the service sleeps or wakes, so answer for it and ask for a wake when needed.

Registered as the resolver's not-found handler: the listener sends user traffic here only while the
service is not awake, and monitors and crawlers (a user-agent listener rule) in every state, so that their
requests never reach the service's target group and never count as activity.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import ALBResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from heartbeat import clock, hold, wake
from heartbeat.domain.hold import HoldOutcome, hold_budget_seconds, why_not_held
from heartbeat.domain.status import public_failure_reason
from heartbeat.domain.visitors import (
    RETRY_AFTER_SECONDS,
    Answer,
    IncomingRequest,
    decide_wait,
    retry_phase,
    safe_return_path,
)
from heartbeat.http import accepts_html, header, json_response, query_string, same_origin_location
from heartbeat.observability import count, logger, now
from heartbeat.pages.render import PageView, content_security_policy, render_waiting_page
from heartbeat.routes import paths
from heartbeat.settings import Settings, get_settings
from warmkeeper_shared.state import Phase


def register(app: ALBResolver) -> None:
    def waiting(_: NotFoundError) -> Response[str]:
        return answer_for_the_service(app)

    app.not_found(waiting)


def answer_for_the_service(app: ALBResolver) -> Response[str]:  # noqa: PLR0911 - one answer per kind
    event = app.current_event
    path, method = event.path, event.http_method.upper()
    if path in paths.ALLOWED_METHODS:
        allowed = paths.ALLOWED_METHODS[path]
        return json_response(405, {"error": f"{method} is not allowed here"}, {"Allow": allowed})
    if path.startswith("/_warmkeeper/"):
        return json_response(404, {"error": "no such Warmkeeper endpoint"})

    settings = get_settings()
    arrived_at, started = now(), clock.current().monotonic()
    request = IncomingRequest(
        method=method,
        path=path,
        user_agent=header(event, "user-agent"),
        accepts_html=accepts_html(event),
        has_body=bool(event.get("body")),
    )
    state = wake.read_state(settings)
    decision = decide_wait(arrived_at, settings, state, request, wake.last_sent())
    if decision.not_a_visitor is not None:
        logger.info("not a visitor; nothing woken", reason=decision.not_a_visitor, path=path, method=method)
        count("NonVisitorRequests")
        # Reads only: anything else from a non-visitor while awake is not processed, so it gets the 503 below.
        if method in {"GET", "HEAD"} and retry_phase(state, wake.read_desired_count(settings)) is Phase.AWAKE:
            return _awake_for_a_non_visitor(settings, decision.answer)
    if decision.wants_wake:
        count("WakeRequests")
    if decision.send_wake:
        wake.send(settings, state, "visitor", f"{method} {path}")
    if why_not_held(settings.hold_seconds, request, decision) is None:
        remaining = _remaining_seconds(app)
        budget = hold_budget_seconds(settings.hold_seconds, remaining)
        held = hold.hold(settings, arrived_at, started, state, budget)
        if held.outcome is HoldOutcome.TRAFFIC_BACK:
            # Same origin, percent-encoded here whatever front door serves the answer.
            location = same_origin_location(safe_return_path(path, query_string(event)))
            return Response(status_code=307, body="", headers={"Location": location, "Cache-Control": "no-store"})
        if held.outcome is not None:
            state = held.state
            decision = decide_wait(now(), settings, state, request, wake.last_sent())

    headers = {
        "Retry-After": str(RETRY_AFTER_SECONDS),
        "Cache-Control": "no-store",
        paths.STATE_HEADER: decision.phase.value,
    }
    failure = public_failure_reason(state.failure) if state is not None and state.failure is not None else None
    if decision.answer is Answer.PAGE:
        count("WaitingPageHits")
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
        "message": _message(settings, decision.phase),
        "retryAfterSeconds": RETRY_AFTER_SECONDS,
        "statusUrl": paths.STATUS,
        # Nothing is queued or replayed: the client must send the request again.
        "requestProcessed": False,
    }
    if decision.phase is Phase.FAILED and failure:
        payload["failureReason"] = failure
    return json_response(503, payload, headers)


def _remaining_seconds(app: ALBResolver) -> float | None:
    """Seconds the invocation has left, when the resolver has a Lambda context."""
    context = getattr(app, "lambda_context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return None if remaining is None else float(remaining()) / 1000


def _awake_for_a_non_visitor(settings: Settings, answer: Answer) -> Response[str]:
    """A monitor or crawler while the service is awake: it is up (an uptime check passes), but the request
    went to Warmkeeper instead of the service, so it keeps nothing awake."""
    headers = {"Cache-Control": "no-store", paths.STATE_HEADER: Phase.AWAKE.value}
    if answer is Answer.EMPTY:
        return Response(status_code=200, body="", headers=headers)
    payload = {
        "state": Phase.AWAKE.value,
        "message": f"{settings.display_name} is up; monitor and crawler requests are answered by Warmkeeper "
        "and do not count as activity",
    }
    return json_response(200, payload, headers)


def _message(settings: Settings, phase: Phase) -> str:
    name = settings.display_name
    if phase is Phase.FAILED:
        return f"{name} could not be started; retry later or POST {paths.WAKE}"
    if phase is Phase.WAKING:
        return f"{name} is starting; retry after the delay"
    return f"{name} is asleep"
