"""Hypothesis strategies for hostile input to both functions, shared by their tests.

- ``alb_events``: requests shaped as an ALB sends them (single- or multi-value headers), with hostile
  paths, query strings, headers and bodies; ``alb_shapes_never_sent``: anything else a direct invocation
  could pass.
- ``http_api_events`` and ``http_api_shapes_never_sent``: the same for the HTTP API front door (payload
  format 2.0: raw query string, comma-joined headers, cookies apart), built from the ALB ones with
  ``as_http_api`` plus hostile cookies and raw query strings; the same checks apply.
- ``eventbridge_events``: envelopes of every kind the controller's rules let through, with hostile
  values, plus envelopes no rule would deliver (other sources, accounts, regions, broken fields).
- ``MARKER``: put in every reflected place; a response must never carry it unescaped.
- ``check_http_response``: the properties every HTTP answer must have.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

# Reflected-input marker: if it appears raw in a body or header, input escaped nothing.
MARKER = '<hostile x="1">'
ACCOUNT, REGION = "123456789012", "us-east-1"

_text = st.text(max_size=40)
_nasty = st.sampled_from(
    [
        MARKER,
        "/\uff0f\uff0fevil.example",
        "//evil.example",
        "/\\evil.example",
        "\r\nSet-Cookie: s=1",
        "%0d%0aX: y",
        "../../etc/passwd",
        "\x00",
        "\ud800",
        "javascript:alert(1)",
        "é" * 50,
        "a" * 1100,
        "{{7*7}}",
        "${jndi:ldap://x}",
        "'\"><script>alert(1)</script>",
    ]
)
_any_text = st.one_of(_text, _nasty, st.builds(lambda a, b: a + b, _nasty, _text))


def _path() -> st.SearchStrategy[str]:
    segment = st.one_of(_any_text, st.sampled_from(["_warmkeeper", "status", "wake", "heartbeat", "robots.txt"]))
    return st.one_of(
        st.sampled_from(
            [
                "/",
                "/_warmkeeper/status",
                "/_warmkeeper/wake",
                "/_warmkeeper/heartbeat",
                "/_warmkeeper/nope",
                "/favicon.ico",
                "/" + "a" * 1021,
                "/" + "é" * 600,
            ]
        ),
        st.lists(segment, max_size=4).map(lambda parts: "/" + "/".join(parts)),
    )


_methods = st.one_of(
    st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get"]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=10),
)
_header_names = st.one_of(
    st.sampled_from(["accept", "user-agent", "authorization", "content-type", "host", "cookie", "x-amzn-trace-id"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12),
)
_header_values = st.one_of(
    _any_text,
    st.sampled_from(
        ["text/html", "application/json", "*/*", "Bearer x", "Bearer " + "A" * 60, "ELB-HealthChecker/2.0"]
    ),
)


@st.composite
def alb_events(draw: st.DrawFn) -> dict[str, Any]:
    """A request as an ALB delivers it to a Lambda target, with hostile content."""
    headers = draw(st.dictionaries(_header_names, _header_values, max_size=5))
    query = draw(st.dictionaries(_any_text, _any_text, max_size=3))
    body = draw(
        st.one_of(
            st.none(),
            _any_text,
            st.sampled_from(['{"wake": true}', '{"sentAt": "2020-01-01T00:00:00Z"}', "[]", "return=" + quote(MARKER)]),
            st.builds(lambda v: "return=" + quote(v, safe="", errors="replace"), _any_text),
        )
    )
    encoded = draw(st.booleans())
    if encoded and body is not None:
        body = draw(st.one_of(st.just(base64.b64encode(body.encode("utf-8", "replace")).decode()), st.just("%%%")))
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:tg"}},
        "httpMethod": draw(_methods),
        "path": draw(_path()),
        "isBase64Encoded": encoded,
        "body": body,
    }
    if draw(st.booleans()):
        event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    else:
        event["headers"] = headers
        event["queryStringParameters"] = query
    return event


def alb_shapes_never_sent() -> st.SearchStrategy[Any]:
    """What no load balancer sends: wrong types, missing fields, nonsense."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), _text)
    junk = st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
        max_leaves=8,
    )
    broken_field = st.builds(
        lambda event, key, value: {**event, key: value},
        alb_events(),
        st.sampled_from(
            [
                "httpMethod",
                "path",
                "headers",
                "multiValueHeaders",
                "queryStringParameters",
                "multiValueQueryStringParameters",
                "body",
                "isBase64Encoded",
                "requestContext",
            ]
        ),
        st.one_of(junk, st.just("true"), st.just({"accept": "text/html"}), st.just({"a": [1]})),
    )
    return st.one_of(st.just({}), st.just([]), junk, broken_field)


# ---------------------------------------------------------------- API Gateway HTTP API (payload format 2.0)


def as_http_api(alb: dict[str, Any]) -> dict[str, Any]:
    """The payload 2.0 event an HTTP API's $default stage sends for the request an ALB event describes."""
    values: dict[str, list[str]] = {}
    for name, many in (alb.get("multiValueHeaders") or {}).items():
        values.setdefault(name.lower(), []).extend(many)
    for name, one in (alb.get("headers") or {}).items():
        values.setdefault(name.lower(), []).append(one)
    cookies = [c for v in values.pop("cookie", []) for c in v.split("; ") if c]
    pairs = [(k, v) for k, many in (alb.get("multiValueQueryStringParameters") or {}).items() for v in many]
    pairs += list((alb.get("queryStringParameters") or {}).items())
    headers = {name: ",".join(many) for name, many in values.items()}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": alb["path"],
        "rawQueryString": "&".join(f"{k}={v}" for k, v in pairs),
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": alb["httpMethod"],
                "path": alb["path"],
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Dec/2026:04:00:00 +0000",
            "timeEpoch": 1795924800000,
        },
        "isBase64Encoded": alb.get("isBase64Encoded", False),
    }
    if cookies:
        event["cookies"] = cookies
    if alb.get("body") is not None:
        event["body"] = alb["body"]
    return event


@st.composite
def http_api_events(draw: st.DrawFn) -> dict[str, Any]:
    """A request as an HTTP API delivers it to a Lambda integration (payload 2.0), with hostile content."""
    event = as_http_api(draw(alb_events()))
    if draw(st.booleans()):
        event["cookies"] = draw(st.lists(_any_text, max_size=3))
    if draw(st.booleans()):
        event["rawQueryString"] = draw(st.one_of(_any_text, st.just("return=" + quote(MARKER)), st.just("&&=&a")))
    return event


def http_api_shapes_never_sent() -> st.SearchStrategy[Any]:
    """What no HTTP API sends, yet claims payload 2.0: broken fields, wrong types, nonsense."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), _text)
    junk = st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
        max_leaves=8,
    )
    broken_field = st.builds(
        lambda event, key, value: {**event, key: value},
        http_api_events(),
        st.sampled_from(
            ["rawPath", "rawQueryString", "headers", "cookies", "body", "isBase64Encoded", "requestContext"]
        ),
        st.one_of(junk, st.just("true"), st.just({"accept": "text/html"}), st.just({"http": {"method": 1}})),
    )
    dropped = st.builds(
        lambda event, key: {k: v for k, v in event.items() if k != key},
        http_api_events(),
        st.sampled_from(["rawPath", "requestContext", "headers", "rawQueryString"]),
    )
    return st.one_of(st.just({"version": "2.0"}), broken_field, dropped)


# ---------------------------------------------------------------- EventBridge

_ECS_SERVICE = "arn:aws:ecs:us-east-1:123456789012:service/warmkeeper/warmkeeper"
_CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/warmkeeper"
_times = st.one_of(
    st.just("NOW"),
    st.sampled_from(
        ["2026-11-22T04:00:00Z", "1970-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "yesterday", "2026-11-22T04:00:00"]
    ),
)


def _envelope(source: str, detail_type: str, detail: Any, resources: list[str]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "hostile-0001",
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": "NOW",
        "region": REGION,
        "resources": resources,
        "detail": detail,
    }


_alarm_names = st.sampled_from(["warmkeeper-idle", "warmkeeper-wake", "someone-else"])
_states = st.sampled_from(["OK", "ALARM", "INSUFFICIENT_DATA", "BROKEN"])
_reasons = st.one_of(_any_text, st.just("x" * 5000), st.just('\u00e9"\\' * 800))


def _kinds() -> st.SearchStrategy[dict[str, Any]]:
    alarm = st.builds(
        lambda name, value, previous: _envelope(
            "aws.cloudwatch",
            "CloudWatch Alarm State Change",
            {"alarmName": name, "state": {"value": value}, "previousState": {"value": previous}},
            [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"],
        ),
        _alarm_names,
        _states,
        _states,
    )
    service = st.builds(
        lambda name, reason, arn: _envelope(
            "aws.ecs",
            "ECS Service Action",
            {"eventType": "WARN", "eventName": name, "clusterArn": _CLUSTER, "reason": reason},
            [arn],
        ),
        st.sampled_from(
            [
                "SERVICE_STEADY_STATE",
                "SERVICE_TASK_START_IMPAIRED",
                "SERVICE_TASK_PLACEMENT_FAILURE",
                "SERVICE_TASK_CONFIGURATION_FAILURE",
                "SERVICE_DESIRED_COUNT_UPDATED",
            ]
        ),
        st.one_of(st.none(), _reasons),
        st.sampled_from([_ECS_SERVICE, "arn:aws:ecs:us-east-1:123456789012:service/warmkeeper/other"]),
    )
    deployment = st.builds(
        lambda name, reason: _envelope(
            "aws.ecs",
            "ECS Deployment State Change",
            {"eventType": "INFO", "eventName": name, "deploymentId": "ecs-svc/1", "reason": reason},
            [_ECS_SERVICE],
        ),
        st.sampled_from(
            ["SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"]
        ),
        st.one_of(st.none(), _reasons),
    )
    task = st.builds(
        lambda status, reason, group, created: _envelope(
            "aws.ecs",
            "ECS Task State Change",
            {
                "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/warmkeeper/abc",
                "clusterArn": _CLUSTER,
                "lastStatus": status,
                "group": group,
                "stoppedReason": reason,
                "stopCode": "TaskFailedToStart",
                "createdAt": created,
            },
            [],
        ),
        st.sampled_from(["STOPPED", "RUNNING", "PROVISIONING"]),
        _reasons,
        st.sampled_from(["service:warmkeeper", "service:other", "family:x"]),
        st.sampled_from(["NOW", "2026-11-22T04:00:00Z", None]),
    )
    scheduled = st.just(
        _envelope("aws.events", "Scheduled Event", {}, ["arn:aws:events:us-east-1:123456789012:rule/x"])
    )
    request = st.builds(
        lambda kind, stack, by, until: _envelope(
            "warmkeeper", kind, {"stack": stack, "requestedBy": by, "reason": by, "until": until}, []
        ),
        st.sampled_from(["Wake Requested", "Sleep Requested", "Pin Requested", "Unpin Requested", "Explode Requested"]),
        st.sampled_from(["warmkeeper", "another-stack", ""]),
        _reasons,
        st.sampled_from([None, "2999-01-01T00:00:00Z", "2000-01-01T00:00:00Z", "friday"]),
    )
    return st.one_of(alarm, service, deployment, task, scheduled, request)


@st.composite
def eventbridge_events(draw: st.DrawFn) -> dict[str, Any]:
    """An EventBridge event of a kind the rules deliver, then perhaps changed in hostile ways."""
    event = draw(_kinds())
    event["time"] = draw(_times)
    twist = draw(
        st.sampled_from(["none", "none", "none", "account", "region", "drop-field", "junk-field", "no-version"])
    )
    if twist == "account":
        event["account"] = draw(st.sampled_from(["999999999999", "", "123456789012 "]))
    elif twist == "region":
        event["region"] = draw(st.sampled_from(["eu-west-1", "", "US-EAST-1"]))
    elif twist == "drop-field":
        event.pop(draw(st.sampled_from(sorted(event))))
    elif twist == "junk-field":
        key = draw(st.sampled_from(sorted(event)))
        event[key] = draw(st.one_of(st.none(), st.integers(), st.lists(st.integers(), max_size=2), _text, st.just({})))
    elif twist == "no-version":
        event.pop("version")
    return event


def events_never_delivered() -> st.SearchStrategy[Any]:
    """Shapes no EventBridge rule delivers: not objects, empty objects, other sources."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), _text)
    return st.one_of(
        st.just({}),
        st.just([]),
        scalars,
        st.builds(lambda s, d: _envelope(s, d, {}, []), st.sampled_from(["aws.ec2", "custom", "aws.ecs"]), _text),
    )


def is_foreign(event: Any) -> bool:
    """Whether a well-formed-looking event names another account or region."""
    return isinstance(event, dict) and (event.get("account"), event.get("region")) != (ACCOUNT, REGION)


# ---------------------------------------------------------------- checks on HTTP answers

_ARN = re.compile(r"arn:aws[a-z-]*:")
_TRACE = ("Traceback (most recent call last)", 'File "/')


def check_http_response(response: Any, secrets: tuple[str, ...] = ()) -> None:
    """Status present; no secret, ARN, stack trace or raw reflected input; every redirect same-origin ASCII."""
    assert isinstance(response, dict), response
    assert isinstance(response.get("statusCode"), int) and 100 <= response["statusCode"] <= 599, response
    body = response.get("body") or ""
    assert isinstance(body, str)
    headers: list[tuple[str, str]] = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
    headers += [(k, str(v)) for k, values in (response.get("multiValueHeaders") or {}).items() for v in values]
    headers += [("set-cookie", str(v)) for v in (response.get("cookies") or [])]  # payload 2.0
    texts = [body, *(value for _, value in headers)]
    for text in texts:
        assert MARKER not in text, f"reflected unescaped: {text[:200]}"
        assert not _ARN.search(text), f"an ARN leaked: {text[:200]}"
        assert not any(marker in text for marker in _TRACE), f"a stack trace leaked: {text[:200]}"
        for secret in secrets:
            assert secret not in text, "a secret leaked"
    for name, value in headers:
        assert "\r" not in value and "\n" not in value, (name, value)
        if name.lower() == "location":
            assert value.isascii(), value
            assert value.startswith("/") and not value.startswith("//") and not value.startswith("/\\"), value
    if response["statusCode"] in (301, 302, 303, 307, 308):
        assert any(name.lower() == "location" for name, _ in headers)
    json.dumps(response)  # what Lambda sends back must serialise
