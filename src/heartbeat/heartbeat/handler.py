"""Lambda entry point of the HTTP face: heartbeat pings, the status endpoint and the waiting page.

Only wiring lives here: the routes are in ``heartbeat.routes``, the decisions in ``heartbeat.domain`` and
every AWS call in ``heartbeat.adapters``. No stack trace ever reaches a client.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import ALBResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from heartbeat.http import alb_shape_problem, json_response, same_origin_location
from heartbeat.http_api import alb_view, http_api_response, http_api_shape_problem, is_http_api_event
from heartbeat.observability import logger, metrics, tracer
from heartbeat.routes import heartbeat, status, waiting, wake
from heartbeat.settings import SettingsError

app = ALBResolver()
app.include_router(heartbeat.router)
app.include_router(status.router)
app.include_router(wake.router)
waiting.register(app)

# The ALB's trace id ties a log line to the request; it sits in multiValueHeaders when the target group
# sends multi-value headers, in headers otherwise.
CORRELATION_ID_PATH = 'multiValueHeaders."x-amzn-trace-id"[0] || headers."x-amzn-trace-id"'


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


def _plain(status: int, message: str) -> dict[str, Any]:
    """A response built without the resolver, for what never reached it."""
    return {
        "statusCode": status,
        "statusDescription": f"{status} {'Bad Request' if status == 400 else 'Internal Server Error'}",
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps({"error": message}),
        "isBase64Encoded": False,
    }


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Never raises: a shape no front door sends gets a 400, anything unexpected a plain 500.

    An ALB event is answered as it is; an HTTP API payload 2.0 event as the ALB request it stands for, and
    the answer is given back in the 2.0 shape: one set of routes for both front doors.
    """
    if is_http_api_event(event):
        problem = http_api_shape_problem(event)
        if problem is not None:
            logger.warning("not an HTTP API request", problem=problem)
            return http_api_response(_plain(400, "not an API Gateway HTTP API request"))
        return http_api_response(_answer_alb(alb_view(event), context))
    return _answer_alb(event, context)


def _answer_alb(event: Any, context: Any) -> dict[str, Any]:
    problem = alb_shape_problem(event)
    if problem is not None:
        logger.warning("not a load balancer request", problem=problem, event_type=type(event).__name__)
        return _plain(400, "not a load balancer request")
    try:
        response = _resolve(event, context)
    except Exception as error:
        logger.error("unexpected error outside the routes", error_type=type(error).__name__, exc_info=error)
        return _plain(500, "internal error")
    return _safe_locations(response)


def _safe_locations(response: dict[str, Any]) -> dict[str, Any]:
    """Every redirect stays on this origin, in plain ASCII (see ``same_origin_location``)."""
    single = response.get("headers") or {}
    if "Location" in single:
        single["Location"] = same_origin_location(str(single["Location"]))
    multi = response.get("multiValueHeaders") or {}
    if "Location" in multi:
        multi["Location"] = [same_origin_location(str(value)) for value in multi["Location"]]
    return response


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
def _resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
