"""GET /_warmkeeper/status: where the service is in its lifecycle, for the waiting page and operators."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import ALBRouter

from heartbeat.adapters import aws
from heartbeat.domain.status import build_status
from heartbeat.domain.visitors import RETRY_AFTER_SECONDS
from heartbeat.http import json_response
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
    return Response(
        status_code=200,
        content_type="application/json",
        body="" if router.current_event.http_method == "HEAD" else view.to_json(),
        headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}", paths.STATE_HEADER: view.state.value},
    )
