"""Reading ALB requests the same way whether the target group sends single- or multi-value headers."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import ALBEvent

# What a load balancer puts in a Lambda target's event (single- or multi-value headers, never both kinds
# of a field with other types). A test or a direct invocation can send anything else.
_STRING_MAPS = ("headers", "queryStringParameters")
_LIST_MAPS = ("multiValueHeaders", "multiValueQueryStringParameters")
# Characters a Location value may keep as they are: the URL syntax ones, and ``%`` of existing escapes.
_LOCATION_SAFE = "/?#[]@!$&'()*+,;=%:~-._"


def alb_shape_problem(event: object) -> str | None:  # noqa: PLR0911 - one answer per field
    """What makes ``event`` something an ALB never sends, or None for a well-shaped request."""
    if not isinstance(event, dict):
        return f"the event is a {type(event).__name__}, not an object"
    method, path = event.get("httpMethod"), event.get("path")
    if not isinstance(method, str) or not method or len(method) > 32:
        return "httpMethod is not a method name"
    if not isinstance(path, str) or not path.startswith("/"):
        return "path is not an absolute path"
    for name in _STRING_MAPS:
        value = event.get(name)
        if value is not None and not (
            isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        ):
            return f"{name} is not a map of strings"
    for name in _LIST_MAPS:
        value = event.get(name)
        if value is not None and not (
            isinstance(value, dict)
            and all(
                isinstance(k, str) and isinstance(v, list) and all(isinstance(i, str) for i in v)
                for k, v in value.items()
            )
        ):
            return f"{name} is not a map of string lists"
    if event.get("body") is not None and not isinstance(event["body"], str):
        return "body is not a string"
    if not isinstance(event.get("isBase64Encoded", False), bool):
        return "isBase64Encoded is not a boolean"
    if not isinstance(event.get("requestContext", {}), dict):
        return "requestContext is not an object"
    return None


def same_origin_location(value: str) -> str:
    """A Location value that can only point at this origin: an absolute path, percent-encoded to ASCII.

    Browsers read ``//host`` and ``/\\host`` as another origin, and some fold look-alike characters such as
    U+FF0F (fullwidth solidus) into ``/``; encoded, they stay part of a path on this site.
    """
    encoded = quote(value, safe=_LOCATION_SAFE, errors="replace")
    if not encoded.startswith("/") or encoded.startswith("//"):
        return "/"
    return encoded


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
