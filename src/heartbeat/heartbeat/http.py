"""Reading ALB requests the same way whether the target group sends single- or multi-value headers."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import ALBEvent


class BadBody(ValueError):
    """The body cannot be decoded (invalid base64 from the load balancer)."""


def header_values(event: ALBEvent, name: str) -> list[str]:
    """All values of a header; with multi-value headers on, ALB sends ``multiValueHeaders`` only."""
    multi = event.multi_value_headers
    if multi:
        values = multi.get(name)
        return [str(value) for value in values] if values else []
    single = event.headers.get(name)
    return [] if single is None else [str(single)]


def header(event: ALBEvent, name: str) -> str:
    """The last value of a header (as a proxy would keep it), or ``""``."""
    values = header_values(event, name)
    return values[-1] if values else ""


def accepts_html(event: ALBEvent) -> bool:
    return any("text/html" in value.lower() for value in header_values(event, "accept"))


def body_bytes(event: ALBEvent, limit: int) -> bytes:
    """The request body, reading at most about ``limit`` bytes more than needed to tell it is too big."""
    raw = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return str(raw).encode("utf-8")[: limit + 1]
    # base64 is 4/3 of the data; decode only what can matter for the size check.
    clipped = str(raw)[: (limit // 3 + 2) * 4]
    try:
        return base64.b64decode(clipped, validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadBody("the body is not valid base64") from error


def query_string(event: ALBEvent) -> str:
    """The query string as the client sent it (ALB passes keys and values still URL-encoded)."""
    multi: dict[str, list[str]] | None = event.get("multiValueQueryStringParameters")
    if multi:
        return "&".join(f"{key}={value}" if value else key for key, values in multi.items() for value in values)
    single: dict[str, str] | None = event.get("queryStringParameters")
    if single:
        return "&".join(f"{key}={value}" if value else key for key, value in single.items())
    return ""


def json_response(status_code: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=json.dumps(payload),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
