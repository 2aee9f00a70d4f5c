"""The HTTP face behind an API Gateway HTTP API (payload format 2.0): the same routes, the same answers.

Every ALB fixture under events/heartbeat/ is also sent as the payload 2.0 event an HTTP API's $default stage
sends for that request (``tests.hostile.as_http_api``); both must get the same status, state header and body,
and send the same wake requests. The 2.0 answers have the 2.0 shape.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Literal

import pytest

from tests import hostile
from tests.heartbeat.conftest import Account, Invocation, load_event, reset_handler_state

Invoke = Any
EVENTS = Path(__file__).resolve().parents[2] / "events" / "heartbeat"
SAM_HTTP_API_EVENT = "sam-generated-http-api-request.json"
# The ALB fixtures in an ALB shape (the SAM-generated 2.0 one is tested on its own).
FIXTURES = sorted(p.name for p in EVENTS.glob("*.json") if p.name != SAM_HTTP_API_EVENT)


def _comparable(result: Invocation) -> tuple[int, str | None, str | None, Any]:
    content_type = result.header("Content-Type")
    body: Any = result.body
    if content_type and "json" in content_type and body:
        body = json.loads(body)
        if isinstance(body, dict):
            body.pop("checkedAt", None)  # when it was answered
    return result.status, content_type, result.header("X-Warmkeeper-State"), body


def _wakes(account: Account) -> list[tuple[str, Any]]:
    return [(e["detail-type"], e["detail"].get("reason")) for e in account.wake_events()]


@pytest.mark.parametrize("name", FIXTURES)
def test_an_http_api_request_gets_the_answer_its_alb_twin_gets(account: Account, invoke: Invoke, name: str) -> None:
    alb = load_event(name)
    alb_answer = invoke(alb)
    alb_wakes = _wakes(account)
    reset_handler_state()  # a fresh execution environment: the wake-once memory forgotten
    http_api = invoke(hostile.as_http_api(alb))
    assert _comparable(http_api) == _comparable(alb_answer)
    assert _wakes(account) == alb_wakes
    assert "multiValueHeaders" not in http_api.response and "statusDescription" not in http_api.response
    hostile.check_http_response(http_api.response)


def test_cookies_and_the_raw_query_string_reach_the_routes_as_an_alb_passes_them() -> None:
    from heartbeat.http_api import alb_view  # noqa: PLC0415

    event = hostile.as_http_api(load_event("waiting-page.json"))
    event["cookies"] = ["a=1", "b=2"]
    event["rawQueryString"] = "return=%2Fguides%3Fx%3D1&flag&x=1&x=2"
    view = alb_view(event)
    assert view["multiValueHeaders"]["cookie"] == ["a=1; b=2"]
    # Still URL-encoded, duplicates kept, as an ALB passes a query string.
    assert view["multiValueQueryStringParameters"] == {"return": ["%2Fguides%3Fx%3D1"], "flag": [""], "x": ["1", "2"]}
    assert (view["httpMethod"], view["path"]) == ("GET", event["rawPath"])


def test_set_cookie_goes_to_cookies_and_repeated_headers_are_joined() -> None:
    from heartbeat.http_api import http_api_response  # noqa: PLC0415

    answer = http_api_response(
        {
            "statusCode": 200,
            "statusDescription": "200 OK",
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Vary": ["Accept", "Cookie"]},
            "body": "ok",
            "isBase64Encoded": False,
        }
    )
    assert answer == {
        "statusCode": 200,
        "headers": {"Vary": "Accept, Cookie"},
        "cookies": ["a=1", "b=2"],
        "body": "ok",
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    "event",
    [
        {"version": "2.0"},
        {"version": "2.0", "rawPath": "/", "requestContext": {}},
        {"version": "2.0", "rawPath": "relative", "requestContext": {"http": {"method": "GET"}}},
        {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": ""}}},
        {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}}, "headers": {"a": 1}},
        {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}}, "cookies": "a=1"},
        {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}}, "rawQueryString": 1},
        {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}}, "body": {"a": 1}},
        {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}}, "isBase64Encoded": "no"},
    ],
    ids=lambda e: json.dumps(e)[:70],
)
def test_shapes_an_http_api_never_sends_get_400(account: Account, invoke: Invoke, event: dict[str, Any]) -> None:
    result = invoke(event)
    assert result.status == 400
    assert result.json() == {"error": "not an API Gateway HTTP API request"}
    assert account.wake_events() == []
    assert "statusDescription" not in result.response
    hostile.check_http_response(result.response)


def test_the_sam_cli_http_api_request_is_the_stored_one_and_is_answered(account: Account, invoke: Invoke) -> None:
    """events/heartbeat/sam-generated-http-api-request.json is what ``sam local generate-event apigateway
    http-api-proxy --method GET --path guides/paris --stage '$default'`` prints; it gets the waiting page
    (no Accept header: the JSON answer) and sends a wake."""
    sam = shutil.which("sam")
    if sam is not None:
        printed = subprocess.run(  # noqa: S603
            [
                sam,
                "local",
                "generate-event",
                "apigateway",
                "http-api-proxy",
                "--method",
                "GET",
                "--path",
                "guides/paris",
                "--stage",
                "$default",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        ).stdout
        assert json.loads(printed) == json.loads((EVENTS / SAM_HTTP_API_EVENT).read_text())
    result: Invocation = invoke(json.loads((EVENTS / SAM_HTTP_API_EVENT).read_text()))
    assert result.status == 503
    assert result.json()["requestProcessed"] is False
    assert result.header("Retry-After")
    assert len(account.wake_events()) == 1


def test_with_the_http_api_front_door_progress_counts_healthy_cloud_map_instances(
    account: Account, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3  # noqa: PLC0415

    discovery = boto3.client("servicediscovery")
    discovery.create_http_namespace(Name="warmkeeper.internal")
    namespace = discovery.list_namespaces()["Namespaces"][0]["Id"]
    service = discovery.create_service(Name="service", NamespaceId=namespace, HealthCheckCustomConfig={})["Service"]
    states: tuple[tuple[str, Literal["HEALTHY", "UNHEALTHY"]], ...] = (("task1", "HEALTHY"), ("task2", "UNHEALTHY"))
    for task, health in states:
        discovery.register_instance(
            ServiceId=service["Id"], InstanceId=task, Attributes={"AWS_INSTANCE_IPV4": "10.0.1.9"}
        )
        discovery.update_instance_custom_health_status(ServiceId=service["Id"], InstanceId=task, Status=health)
    monkeypatch.setenv("ECS_TARGET_GROUP_ARN", "")
    monkeypatch.setenv("CLOUD_MAP_SERVICE_ID", service["Id"])
    reset_handler_state()
    result = invoke(hostile.as_http_api(load_event("status-detailed.json")))
    assert result.status == 200
    assert result.json()["healthyTargets"] == 1


def test_the_face_needs_a_place_to_count_healthy_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    from heartbeat.settings import SettingsError, settings_from_env  # noqa: PLC0415

    base = {"STACK_NAME": "s", "CLUSTER_NAME": "c", "SERVICE_NAME": "s", "STATE_PARAMETER_NAME": "/p"}
    with pytest.raises(SettingsError, match="ECS_TARGET_GROUP_ARN or CLOUD_MAP_SERVICE_ID"):
        settings_from_env(base | {"TOKEN_SECRET_ARN": "arn:x", "ECS_TARGET_GROUP_ARN": "", "CLOUD_MAP_SERVICE_ID": ""})
    assert settings_from_env(base | {"TOKEN_SECRET_ARN": "arn:x", "CLOUD_MAP_SERVICE_ID": "srv-abc"})
