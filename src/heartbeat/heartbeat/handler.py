"""Lambda entry point of the HTTP face: heartbeat pings, the status endpoint and the waiting page.

Only wiring lives here: the routes are in ``heartbeat.routes``, the decisions in ``heartbeat.domain`` and
every AWS call in ``heartbeat.adapters``. No stack trace ever reaches a client.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import ALBResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from heartbeat.http import json_response
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


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
