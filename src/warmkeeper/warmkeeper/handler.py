"""Lambda entry point of the controller (placeholder until the controller issue lands)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info("event received", detail_type=event.get("detail-type"), source=event.get("source"))
    return {"handled": False}
