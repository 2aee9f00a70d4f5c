"""The HTTP face under hostile input: the audit's findings, each with its regression test, and the
Hypothesis properties every answer must have (strategies in tests/hostile.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings

from tests import hostile
from tests.heartbeat.conftest import FIXTURE_TOKEN, STATE_PARAMETER, Account, Invocation, load_event
from tests.heartbeat.conftest import FakeContext as HeartbeatContext

Invoke = Any

# At least 1,000 hostile requests per CI run (WARMKEEPER_HOSTILE_SCALE scales them for a soak).
SCALE = float(os.environ.get("WARMKEEPER_HOSTILE_SCALE", "1"))
HOSTILE = settings(
    max_examples=max(1, int(700 * SCALE)),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
NEVER_SENT = settings(HOSTILE, max_examples=max(1, int(300 * SCALE)))


def _world(account: Account) -> tuple[int, str]:
    desired = boto3.client("ecs").describe_services(cluster="warmkeeper", services=["warmkeeper"])["services"][0][
        "desiredCount"
    ]
    record = boto3.client("ssm").get_parameter(Name=STATE_PARAMETER)["Parameter"]["Value"]
    return desired, record


# ---------------------------------------------------------------- the audit's findings


def test_long_get_path_still_sends_the_wake(account: Account, invoke: Invoke) -> None:
    """Finding: a GET path of 1,021+ characters gave 500 and no wake (the wake reason is capped at 1,024)."""
    for length in (1021, 1022, 5000):
        event = load_event("waiting-page.json")
        event["path"] = "/" + "a" * (length - 1)
        result: Invocation = invoke(event)
        assert result.status == 503, result.response
        assert result.header("X-Warmkeeper-State") == "waking"
        [wake] = account.wake_events()
        assert wake["detail-type"] == "Wake Requested"
        assert wake["detail"]["reason"].startswith("GET /aaaa")
        assert len(wake["detail"]["reason"].encode()) <= 1024
        from heartbeat import wake as wake_module  # noqa: PLC0415 - the execution environment's memory

        wake_module.forget_last_sent()


@pytest.mark.parametrize(
    "event",
    [
        {},
        [],
        None,
        "GET /",
        42,
        {"httpMethod": "GET", "path": "/", "multiValueHeaders": "true"},
        {"httpMethod": "GET", "path": "/", "headers": ["accept"]},
        {"httpMethod": "GET", "path": "/", "headers": {"accept": 1}},
        {"httpMethod": "GET", "path": "/", "multiValueHeaders": {"accept": "text/html"}},
        {"httpMethod": "GET", "path": "/", "queryStringParameters": "a=1"},
        {"httpMethod": "GET", "path": "/", "body": {"a": 1}},
        {"httpMethod": "GET", "path": "/", "isBase64Encoded": "yes"},
        {"httpMethod": "GET", "path": "/", "requestContext": []},
        {"httpMethod": None, "path": "/"},
        {"httpMethod": "GET", "path": "relative"},
        {"httpMethod": "GET"},
    ],
    ids=lambda e: json.dumps(e)[:60],
)
def test_shapes_an_alb_never_sends_get_400(account: Account, invoke: Invoke, event: Any) -> None:
    """Finding: 118 requests in shapes an ALB never sends raised out of lambda_handler (a 502 at the ALB)."""
    before = _world(account)
    result: Invocation = invoke(event)
    assert result.status == 400
    assert result.json() == {"error": "not a load balancer request"}
    assert account.wake_events() == []
    assert _world(account) == before
    hostile.check_http_response(result.response)


@pytest.mark.parametrize(
    ("returned", "location"),
    [
        ("/\uff0f\uff0fevil.example", "/%EF%BC%8F%EF%BC%8Fevil.example"),
        ("/guides/café?x=é", "/guides/caf%C3%A9?x=%C3%A9"),
        ("/\\evil.example", "/evil.example"),
    ],
)
def test_location_is_percent_encoded_and_same_origin(
    account: Account, invoke: Invoke, returned: str, location: str
) -> None:
    """Finding: a Location header carried non-ASCII characters (``/`` then two U+FF0F, ``evil.example``)."""
    event = load_event("wake-retry-form.json")
    event["body"] = "return=" + __import__("urllib.parse").parse.quote(returned, safe="")
    result: Invocation = invoke(event)
    assert result.status == 303
    assert result.header("Location") == location
    hostile.check_http_response(result.response)


def test_an_error_outside_the_routes_is_a_plain_500(
    account: Account, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from heartbeat import handler  # noqa: PLC0415

    def explode(*_: object) -> dict[str, Any]:
        raise RuntimeError("arn:aws:secret boom")

    monkeypatch.setattr(handler.app, "resolve", explode)
    result: Invocation = invoke(load_event("waiting-page.json"))
    assert result.status == 500
    assert result.json() == {"error": "internal error"}
    hostile.check_http_response(result.response)


SAM_ALB_EVENT = "sam-generated-alb-request.json"


def test_the_sam_cli_alb_request_is_the_stored_one_and_is_answered(account: Account, invoke: Invoke) -> None:
    """events/heartbeat/sam-generated-alb-request.json is what ``sam local generate-event alb request
    --method GET --path /guides/paris`` prints; it gets the waiting page and sends a wake."""
    sam = shutil.which("sam")
    if sam is not None:
        printed = subprocess.run(  # noqa: S603
            [sam, "local", "generate-event", "alb", "request", "--method", "GET", "--path", "/guides/paris"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        ).stdout
        assert json.loads(printed) == load_event(SAM_ALB_EVENT)
    result: Invocation = invoke(load_event(SAM_ALB_EVENT))
    assert result.status == 503
    assert "text/html" in (result.header("Content-Type") or "")
    assert len(account.wake_events()) == 1


# ---------------------------------------------------------------- properties over hostile requests


def _check_invocation(account: Account, event: Any, before: tuple[int, str]) -> dict[str, Any]:
    from heartbeat.handler import lambda_handler  # noqa: PLC0415 - after the environment is set

    response = lambda_handler(event, HeartbeatContext())
    hostile.check_http_response(response, secrets=(FIXTURE_TOKEN,))
    # The HTTP face never changes ECS, the listener or the record, whatever it is sent.
    assert _world(account) == before
    return response


@HOSTILE
@given(event=hostile.alb_events())
def test_hostile_alb_requests(account: Account, event: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    before = _world(account)
    response = _check_invocation(account, event, before)
    assert response["statusCode"] != 500, (event, response)
    capsys.readouterr()


@NEVER_SENT
@given(event=hostile.alb_shapes_never_sent())
def test_shapes_no_alb_sends(account: Account, event: Any, capsys: pytest.CaptureFixture[str]) -> None:
    before = _world(account)
    response = _check_invocation(account, event, before)
    assert response["statusCode"] in (400, 404, 405, 413, 503, 401, 202, 200, 303), (event, response)
    capsys.readouterr()


# ---------------------------------------------------------------- the same properties over payload 2.0 (HTTP API)

# On top of the ALB ones: the HTTP face answers both front doors with one set of routes.
HTTP_API = settings(HOSTILE, max_examples=max(1, int(500 * SCALE)))
HTTP_API_NEVER_SENT = settings(HOSTILE, max_examples=max(1, int(200 * SCALE)))


def _check_http_api_shape(response: dict[str, Any]) -> None:
    """A payload 2.0 answer: one value per header, cookies apart, nothing of the ALB shape."""
    assert "multiValueHeaders" not in response and "statusDescription" not in response, response
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in response["headers"].items()), response
    assert all(isinstance(c, str) for c in response.get("cookies", [])), response
    assert isinstance(response["isBase64Encoded"], bool)


@HTTP_API
@given(event=hostile.http_api_events())
def test_hostile_http_api_requests(account: Account, event: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    before = _world(account)
    response = _check_invocation(account, event, before)
    assert response["statusCode"] != 500, (event, response)
    _check_http_api_shape(response)
    capsys.readouterr()


@HTTP_API_NEVER_SENT
@given(event=hostile.http_api_shapes_never_sent())
def test_shapes_no_http_api_sends(account: Account, event: Any, capsys: pytest.CaptureFixture[str]) -> None:
    before = _world(account)
    response = _check_invocation(account, event, before)
    assert response["statusCode"] in (400, 404, 405, 413, 503, 401, 202, 200, 303), (event, response)
    _check_http_api_shape(response)
    capsys.readouterr()
