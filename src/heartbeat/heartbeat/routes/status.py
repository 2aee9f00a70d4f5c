"""GET /_warmkeeper/status: where the service is in its lifecycle, for the waiting page and operators.

Anonymous callers get the page's view (phase, progress, ready, failure summary); a caller presenting the
heartbeat token gets the detailed view (counts and timestamps) too.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import ALBRouter

from heartbeat.adapters import aws
from heartbeat.domain.pings import bearer_token, token_matches
from heartbeat.domain.status import build_status
from heartbeat.domain.visitors import RETRY_AFTER_SECONDS
from heartbeat.http import header_values, json_response
from heartbeat.observability import count, logger, now
from heartbeat.routes import paths
from heartbeat.settings import get_settings

router = ALBRouter()  # type: ignore[no-untyped-call]  # Powertools declares no __init__ types
CACHE_SECONDS = 2


@router.route(paths.STATUS, method=["GET", "HEAD"])
def status() -> Response[str]:
    settings = get_settings()
    count("StatusRequests")
    try:
        state = aws.controller_state(settings.state_parameter_name)
        observed = aws.observe_service(settings)
    except aws.AwsFault as error:
        logger.error("status unavailable", error=str(error))
        count("StatusFailures")
        return json_response(
            503,
            {"service": settings.display_name, "state": "unknown", "ready": False, "error": "status unavailable"},
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    view = build_status(now(), settings, state, observed)
    presented = bearer_token(header_values(router.current_event, "authorization"))
    detailed = False
    if presented is not None:
        try:
            detailed = any(token_matches(presented, value) for value in aws.heartbeat_tokens(settings.token_secret_arn))
        except aws.AwsFault as error:
            logger.error("heartbeat token unavailable; detailed status refused", error=str(error))
            return json_response(503, {"error": "the detailed status is unavailable; see the function's logs"})
        if not detailed:
            count("StatusUnauthorized")
            return json_response(
                401,
                {"error": "wrong bearer token; call without Authorization for the public view"},
                {"WWW-Authenticate": 'Bearer realm="warmkeeper"'},
            )
    body = view.to_json() if detailed else view.public_json()
    # The detailed view is never cached by a shared cache; the public one may be, briefly.
    cache_control = "private, no-store" if detailed else f"public, max-age={CACHE_SECONDS}"
    return Response(
        status_code=200,
        content_type="application/json",
        body="" if router.current_event.http_method == "HEAD" else body,
        headers={"Cache-Control": cache_control, paths.STATE_HEADER: view.state.value},
    )
