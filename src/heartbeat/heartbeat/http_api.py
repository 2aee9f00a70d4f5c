"""API Gateway HTTP API requests (payload format 2.0) answered by the same routes as ALB requests.

With the ``http-api`` front door the HTTP face is the Lambda integration of an HTTP API. Its events carry the
same request in another shape: ``rawPath``, ``rawQueryString``, ``requestContext.http.method``, headers joined
by commas and cookies apart. The face reads them as the ALB request they stand for (multi-value headers, the
query string still URL-encoded as the client sent it, as an ALB passes it), so there is one set of routes and
one set of checks; the answer goes back in the 2.0 response shape (one value per header, ``Set-Cookie`` in
``cookies``).
"""

from __future__ import annotations

from typing import Any

# Powertools' ALB responses carry this; an HTTP API ignores it at best, so it is left out.
_ALB_ONLY = ("statusDescription", "multiValueHeaders")


def is_http_api_event(event: object) -> bool:
    """Whether ``event`` claims to be an HTTP API payload 2.0 (an ALB event has no ``version``)."""
    return isinstance(event, dict) and event.get("version") == "2.0"


def _string_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def http_api_shape_problem(event: dict[str, Any]) -> str | None:  # noqa: PLR0911 - one answer per field
    """What makes ``event`` something an HTTP API never sends, or None for a well-shaped request."""
    context = event.get("requestContext")
    if not isinstance(context, dict) or not isinstance(context.get("http"), dict):
        return "requestContext.http is not an object"
    method = context["http"].get("method")
    if not isinstance(method, str) or not method or len(method) > 32:
        return "requestContext.http.method is not a method name"
    path = event.get("rawPath")
    if not isinstance(path, str) or not path.startswith("/"):
        return "rawPath is not an absolute path"
    if not isinstance(event.get("rawQueryString", ""), str):
        return "rawQueryString is not a string"
    if event.get("headers") is not None and not _string_map(event["headers"]):
        return "headers is not a map of strings"
    cookies = event.get("cookies")
    if cookies is not None and not (isinstance(cookies, list) and all(isinstance(c, str) for c in cookies)):
        return "cookies is not a list of strings"
    if event.get("body") is not None and not isinstance(event["body"], str):
        return "body is not a string"
    if not isinstance(event.get("isBase64Encoded", False), bool):
        return "isBase64Encoded is not a boolean"
    return None


def alb_view(event: dict[str, Any]) -> dict[str, Any]:
    """The ALB request (multi-value headers) that a well-shaped payload 2.0 event stands for."""
    headers: dict[str, list[str]] = {name.lower(): [value] for name, value in (event.get("headers") or {}).items()}
    cookies: list[str] = event.get("cookies") or []
    if cookies:
        # An HTTP API moves the Cookie header into ``cookies``; a proxy would have joined them like this.
        headers["cookie"] = ["; ".join(cookies)]
    query: dict[str, list[str]] = {}
    for part in str(event.get("rawQueryString") or "").split("&"):
        if part:
            key, _, value = part.partition("=")
            query.setdefault(key, []).append(value)
    context = event["requestContext"]
    return {
        "httpMethod": context["http"]["method"],
        "path": event["rawPath"],
        "multiValueHeaders": headers,
        "multiValueQueryStringParameters": query,
        "body": event.get("body"),
        "isBase64Encoded": bool(event.get("isBase64Encoded", False)),
        # What identifies the request in logs; no route reads the front door's context.
        "requestContext": {
            "httpApi": {k: str(context[k]) for k in ("apiId", "requestId", "stage") if isinstance(context.get(k), str)}
        },
    }


def http_api_response(response: dict[str, Any]) -> dict[str, Any]:
    """An ALB-shaped answer of the routes, in the payload 2.0 response shape."""
    values: dict[str, list[str]] = {}
    for name, value in (response.get("headers") or {}).items():
        values.setdefault(name, []).append(str(value))
    for name, many in (response.get("multiValueHeaders") or {}).items():
        values.setdefault(name, []).extend(str(v) for v in many)
    cookies = [v for name, many in values.items() if name.lower() == "set-cookie" for v in many]
    answer: dict[str, Any] = {k: v for k, v in response.items() if k not in (*_ALB_ONLY, "headers")}
    answer["headers"] = {name: ", ".join(many) for name, many in values.items() if name.lower() != "set-cookie"}
    if cookies:
        answer["cookies"] = cookies
    answer.setdefault("body", "")
    answer.setdefault("isBase64Encoded", False)
    return answer
