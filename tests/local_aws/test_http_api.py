"""The http-api front door on the local AWS: the stack of template.yaml with FrontDoor=http-api, and the demo."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_aws import demo
from local_aws.clock import Clock
from local_aws.endpoint import LocalEndpoint
from local_aws.httpapi_runtime import FRONT_DOOR_OVERRIDES, HttpApiLocalAws
from local_aws.scenario import LOCAL_OVERRIDES
from tests.local_aws.conftest import template_copy

HTTP_API = ["--front-door", "http-api", "--speed", "0", "--idle-minutes", "2"]
# Template copies: made in process (sam build of a copy would add half a minute to each).
FAST = [*HTTP_API, "--fast"]


@pytest.fixture(scope="module")
def local(endpoint: LocalEndpoint) -> Iterator[HttpApiLocalAws]:
    endpoint.reset()
    with HttpApiLocalAws(
        overrides={**LOCAL_OVERRIDES, **FRONT_DOOR_OVERRIDES}, clock=Clock(speed=0), endpoint=endpoint
    ) as running:
        yield running


def test_the_stack_has_an_http_api_and_no_load_balancer(local: HttpApiLocalAws) -> None:
    stack = local.stack
    assert stack.not_modelled == {}
    assert stack.resources_of_type("AWS::ElasticLoadBalancingV2::LoadBalancer") == {}
    gateway = stack.endpoint.client("apigatewayv2")
    routes = {r["RouteKey"]: r for r in gateway.get_routes(ApiId=local.api_id)["Items"]}
    assert {"$default", "ANY /_warmkeeper/{proxy+}"} <= set(routes)
    # $default starts on the service (through the VPC link), the face's path on the HTTP face (payload 2.0).
    default = local.httpapi.integration_of(routes["$default"])
    assert default is not None
    assert (default["IntegrationType"], default["ConnectionType"]) == ("HTTP_PROXY", "VPC_LINK")
    face = local.httpapi.integration_of(routes["ANY /_warmkeeper/{proxy+}"])
    assert face is not None
    assert (face["IntegrationType"], face["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    registries = local.describe_service()["serviceRegistries"]
    assert [r["registryArn"].rsplit("/", 1)[1] for r in registries] == [stack.outputs["CloudMapServiceId"]]


def test_what_the_stack_calls_at_its_api_endpoint_stays_local(local: HttpApiLocalAws) -> None:
    assert local.execute_api is not None
    api_endpoint = local.stack.endpoint.client("apigatewayv2").get_api(ApiId=local.api_id)["ApiEndpoint"]
    assert api_endpoint == f"{local.execute_api.url}/{local.api_id}"
    for function in local.stack.functions.values():
        for name, value in function.environment.items():
            assert "amazonaws.com" not in value, (function.logical_id, name, value)


def test_the_http_face_answers_payload_2_0_through_the_api(local: HttpApiLocalAws) -> None:
    response = local.front_door.request("GET", "/_warmkeeper/status", {"accept": "application/json"})
    assert (response.status, response.served_by) == (200, "waker"), response.body
    invocation = local.functions.invocations[-1]
    assert invocation.function == "HeartbeatFunction"
    assert invocation.event["version"] == "2.0"
    assert invocation.event["routeKey"] == "ANY /_warmkeeper/{proxy+}"


@pytest.mark.slow
def test_the_demo_plays_the_lifecycle_green_through_the_http_api() -> None:
    out = io.StringIO()
    code = demo.main(HTTP_API, out=out)
    text = out.getvalue()
    assert code == 0, text[-3000:]
    for expected in (
        "FrontDoor=http-api",
        "registered in Cloud Map service",
        "$default -> ecs (VPC link to Cloud Map)",
        "$default -> waker (the HTTP face, payload 2.0)",
        "CloudWatch Alarm State Change warmkeeper-idle OK->ALARM -> WarmkeeperFunction: slept",
        "Wake Requested by visitor -> WarmkeeperFunction: woke",
        "INACTIVE (60 days without a request through it",
        ": PENDING",
        ": AVAILABLE",
        '"state": "failed"',
        "All expectations held",
    ):
        assert expected in text, expected


@pytest.mark.slow
def test_tasks_that_never_register_in_cloud_map_fail_the_demo(tmp_path: Path) -> None:
    # The service without its Cloud Map registry: no task is ever a HEALTHY instance, so the first step's
    # expectation (a HEALTHY instance behind the route) cannot hold.
    unregistered = template_copy(
        tmp_path,
        ("      ServiceRegistries: !If\n        - UsesHttpApi\n", "      ServiceRegistries: !If\n        - UsesAlb\n"),
    )
    out = io.StringIO()
    code = demo.main([*FAST, "--template", str(unregistered)], out=out)
    text = out.getvalue()
    assert code == 1, text[-2000:]
    assert "FAILED at step 'the stack is created from template.yaml and its first task starts'" in text
    assert "registered in Cloud Map service" not in text
    assert "expected: one HEALTHY instance in Cloud Map" in text


@pytest.mark.slow
def test_a_controller_that_flips_another_route_fails_the_demo(tmp_path: Path) -> None:
    # The controller told to flip the HTTP face's own route instead of $default: whatever it records, the
    # local HTTP API routes by the $default route's target as the endpoint holds it, so $default never moves
    # to the HTTP face and the first sleep does not hold.
    other_route = template_copy(
        tmp_path,
        (
            'HTTP_API_ROUTE_ID: !If [UsesHttpApi, !Ref DefaultRoute, ""]',
            'HTTP_API_ROUTE_ID: !If [UsesHttpApi, !Ref FaceRoute, ""]',
        ),
    )
    out = io.StringIO()
    code = demo.main([*FAST, "--template", str(other_route)], out=out)
    text = out.getvalue()
    assert code == 1, text[-2000:]
    assert "FAILED at step 'nobody comes for" in text
    assert "$default -> waker" not in text
