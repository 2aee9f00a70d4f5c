"""Lambda entry point of the HTTP face (placeholder until the HTTP-face issue lands)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import ALBResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
app = ALBResolver()


@app.get("/_warmkeeper/status")
def status() -> Response[str]:
    return Response(status_code=503, content_type="application/json", body='{"state": "unknown"}')


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
