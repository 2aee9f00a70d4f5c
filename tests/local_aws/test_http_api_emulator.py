"""The local HTTP API routes by the routes' current targets, read from the local endpoint.

Resources are made with boto3 against the local endpoint (no template): an HTTP API with a Lambda
integration (payload 2.0) and a private integration (VPC link to a Cloud Map service), the routes of the
http-api front door, and a function that records what it gets.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
from botocore.exceptions import EndpointConnectionError

from local_aws import demo
from local_aws.alb import HttpRequest, HttpResponse
from local_aws.clock import Clock
from local_aws.endpoint import ACCOUNT_ID, LocalEndpoint, scoped_environment
from local_aws.execute_api import ExecuteApiServer
from local_aws.functions import Invocation
from local_aws.httpapi import (
    VPC_LINK_PROVISIONING,
    HttpApiEmulator,
    mapped_request,
    payload_v2_event,
    response_from_payload_v2,
    select_route,
)
from local_aws.httpapi_runtime import traffic_of
from local_aws.lambda_metrics import publish_invocation
from local_aws.stack import LocalFunction, LocalStack

FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:http-face"


@dataclass
class RecordingFunctions:
    """Stands in for the function runner: records each event, answers ``answer``."""

    answer: Any = field(default_factory=lambda: {"statusCode": 200, "headers": {"x-face": "1"}, "body": "face"})
    error: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    mode: str = "recording"

    def invoke(self, function: LocalFunction, event: Mapping[str, Any]) -> Invocation:
        self.events.append(dict(event))
        return Invocation(function.logical_id, dict(event), self.answer, self.error, [], 0.0)

    def close(self) -> None:
        pass


@dataclass
class App:
    requests: list[HttpRequest] = field(default_factory=list)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        return HttpResponse(200, {"content-type": ["text/html"]}, f"app: {request.path}", "ecs")


@dataclass
class Door:
    emulator: HttpApiEmulator
    functions: RecordingFunctions
    app: App
    api_id: str
    default_route: str
    lambda_integration: str
    private_integration: str
    cloud_map_service: str

    def flip(self, integration: str) -> None:
        """What the controller does: UpdateRoute of the $default route's target."""
        self.emulator.stack.endpoint.client("apigatewayv2").update_route(
            ApiId=self.api_id, RouteId=self.default_route, Target=f"integrations/{integration}"
        )

    def register(self, instance: str, ip: str, status: str) -> None:
        discovery = self.emulator.stack.endpoint.client("servicediscovery")
        discovery.register_instance(
            ServiceId=self.cloud_map_service,
            InstanceId=instance,
            Attributes={"AWS_INSTANCE_IPV4": ip, "AWS_INSTANCE_PORT": "80"},
        )
        discovery.update_instance_custom_health_status(
            ServiceId=self.cloud_map_service, InstanceId=instance, Status=status
        )


def _deploy_function(endpoint: LocalEndpoint, api_id: str) -> None:
    """The HTTP face's function in the local Lambda, with the permission API Gateway needs to invoke it."""
    role = endpoint.client("iam").create_role(
        RoleName=f"face-{api_id}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ]
            }
        ),
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as written:
        written.writestr("app.py", "def handler(event, context):\n    return {}\n")
    lambda_client = endpoint.client("lambda")
    lambda_client.create_function(
        FunctionName="http-face",
        Runtime="python3.13",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": archive.getvalue()},
    )
    lambda_client.add_permission(
        FunctionName="http-face",
        StatementId="api",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:{api_id}/*",
        SourceAccount=ACCOUNT_ID,
    )


def _build(endpoint: LocalEndpoint, stage: str = "$default", detailed: bool = False) -> Door:
    endpoint.reset()
    gateway = endpoint.client("apigatewayv2")
    discovery = endpoint.client("servicediscovery")
    api_id = gateway.create_api(Name="front", ProtocolType="HTTP")["ApiId"]
    link = gateway.create_vpc_link(Name="link", SubnetIds=["subnet-1"], SecurityGroupIds=[])["VpcLinkId"]
    discovery.create_http_namespace(Name="warmkeeper.local")
    namespace = discovery.list_namespaces()["Namespaces"][0]["Id"]
    service = discovery.create_service(
        Name="web", NamespaceId=namespace, HealthCheckCustomConfig={"FailureThreshold": 1}
    )["Service"]
    private = gateway.create_integration(
        ApiId=api_id,
        IntegrationType="HTTP_PROXY",
        ConnectionType="VPC_LINK",
        ConnectionId=link,
        IntegrationUri=service["Arn"],
        IntegrationMethod="ANY",
        PayloadFormatVersion="1.0",
    )["IntegrationId"]
    face = gateway.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations",
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    gateway.create_route(ApiId=api_id, RouteKey="ANY /_warmkeeper/{proxy+}", Target=f"integrations/{face}")
    default = gateway.create_route(ApiId=api_id, RouteKey="$default", Target=f"integrations/{face}")["RouteId"]
    gateway.create_stage(
        ApiId=api_id,
        StageName=stage,
        AutoDeploy=True,
        DefaultRouteSettings={"DetailedMetricsEnabled": detailed},
        StageVariables={"mode": "local"},
    )
    _deploy_function(endpoint, api_id)
    function = LocalFunction("HeartbeatFunction", "http-face", FUNCTION_ARN, "app.handler", Path(), {}, 10)
    stack = LocalStack(endpoint, "front", Path("template.yaml"), {}, {}, {}, {}, {"HeartbeatFunction": function}, {})
    functions = RecordingFunctions()
    app = App()
    emulator = HttpApiEmulator(stack, functions, Clock(speed=0), app, api_id)
    return Door(emulator, functions, app, api_id, default, face, private, service["Id"])


@pytest.fixture
def door(endpoint: LocalEndpoint) -> Iterator[Door]:
    yield _build(endpoint)


def test_the_event_is_payload_format_2_0_as_powertools_reads_it(door: Door) -> None:
    response = door.emulator.request(
        "POST",
        "/_warmkeeper/heartbeat?a=1&a=2&b=",
        {
            "Authorization": "Bearer t",
            "Cookie": "session=abc; theme=dark",
            "X-Many": ["one", "two"],
            "User-Agent": "curl/8.5.0",
        },
        '{"source": "job"}',
    )
    assert (response.status, response.served_by, response.body) == (200, "waker", "face")
    event = door.functions.events[-1]
    parsed = APIGatewayProxyEventV2Model.model_validate(event)
    assert parsed.version == "2.0"
    assert parsed.routeKey == "ANY /_warmkeeper/{proxy+}"
    assert parsed.rawPath == "/_warmkeeper/heartbeat"
    assert parsed.rawQueryString == "a=1&a=2&b="
    assert parsed.queryStringParameters == {"a": "1,2", "b": ""}
    assert parsed.pathParameters == {"proxy": "heartbeat"}
    assert parsed.cookies == ["session=abc", "theme=dark"]
    assert "cookie" not in parsed.headers
    assert parsed.headers["x-many"] == "one,two"
    assert parsed.headers["authorization"] == "Bearer t"
    assert parsed.requestContext.http.method == "POST"
    assert parsed.requestContext.http.path == "/_warmkeeper/heartbeat"
    assert parsed.requestContext.http.userAgent == "curl/8.5.0"
    assert parsed.requestContext.apiId == door.api_id
    assert parsed.requestContext.stage == "$default"
    assert parsed.stageVariables == {"mode": "local"}
    assert parsed.body == '{"source": "job"}'
    assert parsed.isBase64Encoded is False


def test_keys_without_a_value_are_left_out() -> None:
    clock = Clock(speed=0)
    event = payload_v2_event(
        HttpRequest("GET", "/", {}), route_key="$default", api_id="abc", stage="$default", now=clock.now(), region="x"
    )
    for absent in ("cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"):
        assert absent not in event
    assert event["rawQueryString"] == ""
    assert event["requestContext"]["timeEpoch"] == int(clock.now().timestamp() * 1000)


def test_the_default_route_follows_its_current_target(door: Door) -> None:
    asleep = door.emulator.request("GET", "/page", {"accept": "text/html"})
    assert asleep.served_by == "waker"
    assert door.functions.events[-1]["routeKey"] == "$default"
    door.register("task-1", "10.42.1.10", "HEALTHY")
    door.flip(door.private_integration)
    awake = door.emulator.request("GET", "/page?x=1", {"accept": "text/html"})
    assert (awake.status, awake.served_by, awake.body) == (200, "ecs", "app: /page")
    assert door.app.requests[-1].query == "x=1"
    # The HTTP face's own paths stay on the function whatever $default targets.
    face = door.emulator.request("GET", "/_warmkeeper/status")
    assert face.served_by == "waker"
    door.flip(door.lambda_integration)
    assert door.emulator.request("GET", "/page").served_by == "waker"


def test_no_healthy_instance_is_api_gateways_own_503(door: Door) -> None:
    door.flip(door.private_integration)
    none = door.emulator.request("GET", "/")
    assert (none.status, none.served_by, none.json()) == (503, "api", {"message": "Service Unavailable"})
    door.register("task-1", "10.42.1.10", "UNHEALTHY")
    starting = door.emulator.request("GET", "/")
    assert (starting.status, starting.served_by) == (503, "api")
    assert door.app.requests == []
    door.emulator.stack.endpoint.client("servicediscovery").update_instance_custom_health_status(
        ServiceId=door.cloud_map_service, InstanceId="task-1", Status="HEALTHY"
    )
    assert door.emulator.request("GET", "/").status == 200


def test_a_function_error_or_an_unreadable_answer_is_a_500(door: Door) -> None:
    door.functions.error = "Task timed out"
    failed = door.emulator.request("GET", "/_warmkeeper/status")
    assert (failed.status, failed.json()) == (500, {"message": "Internal Server Error"})
    door.functions.error = None
    door.functions.answer = {"statusCode": "not a number"}
    assert door.emulator.request("GET", "/_warmkeeper/status").status == 500


def test_api_gateway_reads_a_2_0_answer() -> None:
    assert response_from_payload_v2({"ok": True}) == (200, {"content-type": ["application/json"]}, '{"ok": true}')
    status, headers, body = response_from_payload_v2(
        {"statusCode": 303, "headers": {"Location": "/"}, "cookies": ["a=1", "b=2"], "body": None}
    )
    assert (status, body) == (303, "")
    assert headers == {"location": ["/"], "set-cookie": ["a=1", "b=2"]}


def test_routes_are_ranked_as_http_apis_rank_them() -> None:
    routes = [
        {"RouteKey": "$default"},
        {"RouteKey": "ANY /_warmkeeper/{proxy+}"},
        {"RouteKey": "GET /_warmkeeper/status"},
        {"RouteKey": "ANY /_warmkeeper/{name}"},
        {"RouteKey": "POST /_warmkeeper/{name}"},
    ]

    def key(method: str, path: str) -> str | None:
        match = select_route(routes, method, path)
        return None if match is None else match.route["RouteKey"]

    assert key("GET", "/_warmkeeper/status") == "GET /_warmkeeper/status"
    assert key("POST", "/_warmkeeper/heartbeat") == "POST /_warmkeeper/{name}"
    assert key("GET", "/_warmkeeper/heartbeat") == "ANY /_warmkeeper/{name}"
    assert key("GET", "/_warmkeeper/a/b") == "ANY /_warmkeeper/{proxy+}"
    # A greedy variable needs at least one segment.
    assert key("GET", "/_warmkeeper") == "$default"
    assert key("GET", "/") == "$default"
    assert select_route(routes[1:], "GET", "/") is None


def test_counts_per_api_and_stage_go_to_the_local_cloudwatch(endpoint: LocalEndpoint) -> None:
    door = _build(endpoint, detailed=True)
    door.emulator.request("GET", "/one")
    door.emulator.request("GET", "/_warmkeeper/status")
    door.flip(door.private_integration)
    door.emulator.request("GET", "/two")  # no instance: a 503

    def total(metric: str, *dimensions: tuple[str, str]) -> float:
        now = door.emulator.clock.now()
        answer = endpoint.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/ApiGateway",
            MetricName=metric,
            Dimensions=[{"Name": n, "Value": v} for n, v in dimensions],
            StartTime=now - timedelta(minutes=1),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )
        return float(sum(p["Sum"] for p in answer["Datapoints"]))

    api = ("ApiId", door.api_id)
    stage = ("Stage", "$default")
    published = endpoint.client("cloudwatch").list_metrics(Namespace="AWS/ApiGateway", MetricName="Count")["Metrics"]
    assert {tuple(sorted(d["Name"] for d in m["Dimensions"])) for m in published} == {
        ("ApiId",),
        ("ApiId", "Stage"),
        ("ApiId", "Route", "Stage"),
    }
    # moto sums every datapoint whose dimensions include the asked ones (CloudWatch matches the exact set),
    # so the per-route sets are the ones to read exactly here.
    assert total("Count", api, stage, ("Route", "$default")) == 2
    assert total("Count", api, stage, ("Route", "ANY /_warmkeeper/{proxy+}")) == 1
    assert total("5xx", api, stage, ("Route", "$default")) == 1
    assert total("4xx", api, stage, ("Route", "$default")) == 0


def test_a_named_stage_is_in_every_path_and_reaches_the_instance(endpoint: LocalEndpoint) -> None:
    door = _build(endpoint, stage="live")
    door.register("task-1", "10.42.1.10", "HEALTHY")
    door.flip(door.private_integration)
    assert door.emulator.request("GET", "/page").status == 404
    response = door.emulator.request("GET", "/live/page")
    assert response.served_by == "ecs"
    # AWS keeps the stage in the path it sends a private integration (a documented limit).
    assert door.app.requests[-1].path == "/live/page"
    door.emulator.request("GET", "/live/_warmkeeper/status")
    assert door.functions.events[-1]["requestContext"]["stage"] == "live"
    assert door.functions.events[-1]["pathParameters"] == {"proxy": "status"}


def test_parameter_mapping_rewrites_the_path_and_headers_or_is_refused() -> None:
    request = HttpRequest("GET", "/live/page", {"x-drop": ["1"], "x-add": ["a"]}, "q=1")
    mapping = {
        "overwrite:path": "$request.path",
        "remove:header.X-Drop": "''",
        "append:header.x-add": "b",
        "overwrite:header.x-new": "n",
    }
    mapped = mapped_request({"RequestParameters": mapping}, request, "/page")
    assert (mapped.path, mapped.query) == ("/page", "q=1")
    assert mapped.headers == {"x-add": ["a", "b"], "x-new": ["n"]}
    assert mapped_request({"RequestParameters": {"overwrite:path": "/health"}}, request, "/page").path == "/health"
    with pytest.raises(ValueError, match=r"does not apply the parameter mapping 'overwrite:querystring\.a'"):
        mapped_request({"RequestParameters": {"overwrite:querystring.a": "1"}}, request, "/page")
    with pytest.raises(ValueError, match="does not resolve"):
        mapped_request({"RequestParameters": {"overwrite:path": "$context.requestId"}}, request, "/page")


def test_a_named_stage_with_the_path_mapped_back_reaches_the_instance_without_it(endpoint: LocalEndpoint) -> None:
    door = _build(endpoint, stage="live")
    door.register("task-1", "10.42.1.10", "HEALTHY")
    endpoint.client("apigatewayv2").update_integration(
        ApiId=door.api_id,
        IntegrationId=door.private_integration,
        RequestParameters={"overwrite:path": "$request.path"},
    )
    door.flip(door.private_integration)
    assert door.emulator.request("GET", "/live/page?x=1").served_by == "ecs"
    assert (door.app.requests[-1].path, door.app.requests[-1].query) == ("/page", "x=1")


def test_the_default_routes_target_reads_as_the_alb_modes_weights() -> None:
    assert traffic_of({"IntegrationType": "HTTP_PROXY", "ConnectionType": "VPC_LINK"}) == {"ecs": 1, "waker": 0}
    assert traffic_of({"IntegrationType": "AWS_PROXY"}) == {"ecs": 0, "waker": 1}
    assert traffic_of(None) == {}
    assert traffic_of({"IntegrationType": "HTTP_PROXY"}) == {}


def test_the_shared_alb_scenario_refuses_the_http_api_front_door() -> None:
    out = io.StringIO()
    assert demo.main(["--scenario", "shared-alb", "--front-door", "http-api"], out=out) == 2
    assert "--front-door alb only" in out.getvalue()


def test_each_invocation_publishes_lambdas_invocations_and_errors(endpoint: LocalEndpoint) -> None:
    clock = Clock(speed=0)
    for error in (None, "Task timed out", None):
        invocation = Invocation("HeartbeatFunction", {}, None, error, [], 0.0)
        publish_invocation(endpoint, "face-fn", invocation, clock.now())

    def total(metric: str) -> float:
        answer = endpoint.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName=metric,
            Dimensions=[{"Name": "FunctionName", "Value": "face-fn"}],
            StartTime=clock.now() - timedelta(minutes=1),
            EndTime=clock.now() + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )
        return float(sum(p["Sum"] for p in answer["Datapoints"]))

    assert (total("Invocations"), total("Errors")) == (3, 1)


def test_functions_can_discover_cloud_map_instances_on_the_local_endpoint(door: Door) -> None:
    door.register("task-1", "10.42.1.10", "HEALTHY")
    endpoint = door.emulator.stack.endpoint
    namespace = endpoint.client("servicediscovery").list_namespaces()["Namespaces"][0]["Name"]
    with scoped_environment(endpoint.function_environment()):
        # A client as a function makes it: from the environment only.
        discovery = boto3.client("servicediscovery")
        found = discovery.discover_instances(NamespaceName=namespace, ServiceName="web", HealthStatus="HEALTHY")
    assert [i["InstanceId"] for i in found["Instances"]] == ["task-1"]
    # The gap the variable closes: the host prefix makes the endpoint's address a name nobody resolves.
    prefixed = {**endpoint.function_environment(), "AWS_MAX_ATTEMPTS": "1"}
    del prefixed["AWS_DISABLE_HOST_PREFIX_INJECTION"]
    with scoped_environment(prefixed), pytest.raises(EndpointConnectionError, match=r"data-127\.0\.0\.1"):
        boto3.client("servicediscovery").discover_instances(NamespaceName=namespace, ServiceName="web")


def test_the_api_answers_at_a_local_url_never_at_execute_api(endpoint: LocalEndpoint) -> None:
    with ExecuteApiServer(endpoint.host) as server:
        door = _build(endpoint)
        api = endpoint.client("apigatewayv2").get_api(ApiId=door.api_id)
        # Created through the API (not CloudFormation): moto's own URL, which nothing local may call.
        assert api["ApiEndpoint"].endswith(".amazonaws.com")
        server.serve(door.api_id, door.emulator)
        door.register("task-1", "10.42.1.10", "HEALTHY")
        door.flip(door.private_integration)
        request = urllib.request.Request(  # noqa: S310 - our own loopback server
            f"{server.url}/{door.api_id}/page?x=1", headers={"X-Test": "1"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own loopback server
            assert (answer.status, answer.read().decode()) == (200, "app: /page")
        assert door.app.requests[-1].headers["x-test"] == ["1"]
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{server.url}/nope/page", timeout=10)  # noqa: S310
        assert missing.value.code == 404


def test_while_served_the_stacks_apis_get_the_local_url(endpoint: LocalEndpoint) -> None:
    template = {"Resources": {"Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "x"}}}}
    cloudformation = endpoint.client("cloudformation")
    with ExecuteApiServer(endpoint.host) as server:
        cloudformation.create_stack(StackName="served", TemplateBody=json.dumps(template))
    cloudformation.create_stack(StackName="unserved", TemplateBody=json.dumps(template))
    gateway = endpoint.client("apigatewayv2")

    def endpoint_of(stack: str) -> str:
        api_id = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId="Api")
        return str(gateway.get_api(ApiId=api_id["StackResourceDetail"]["PhysicalResourceId"])["ApiEndpoint"])

    assert endpoint_of("served").startswith(server.url + "/")
    assert endpoint_of("unserved").endswith(".execute-api.us-east-1.amazonaws.com")


def test_api_gateway_needs_the_functions_permission(door: Door) -> None:
    lambda_client = door.emulator.stack.endpoint.client("lambda")
    lambda_client.remove_permission(FunctionName="http-face", StatementId="api")
    denied = door.emulator.request("GET", "/_warmkeeper/status")
    assert (denied.status, denied.served_by, denied.json()) == (500, "api", {"message": "Internal Server Error"})
    assert door.functions.events == []
    # A permission for another API does not do either.
    lambda_client.add_permission(
        FunctionName="http-face",
        StatementId="other",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:otherapi/*",
    )
    assert door.emulator.request("GET", "/_warmkeeper/status").status == 500
    lambda_client.add_permission(
        FunctionName="http-face",
        StatementId="status-only",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:{door.api_id}/*/*/_warmkeeper/{{proxy+}}",
    )
    assert door.emulator.request("GET", "/_warmkeeper/status").status == 200
    # The $default route's source ARN ends in $default: that permission does not cover it.
    assert door.emulator.request("GET", "/page").status == 500


def test_an_inactive_vpc_link_fails_requests_until_a_request_brought_it_back(door: Door) -> None:
    gateway = door.emulator.stack.endpoint.client("apigatewayv2")
    link = gateway.get_integration(ApiId=door.api_id, IntegrationId=door.private_integration)["ConnectionId"]
    door.register("task-1", "10.42.1.10", "HEALTHY")
    door.flip(door.private_integration)
    assert door.emulator.request("GET", "/").status == 200
    door.emulator.link_goes_inactive(link)
    assert gateway.get_vpc_link(VpcLinkId=link)["VpcLinkStatus"] == "INACTIVE"
    first = door.emulator.request("GET", "/")
    assert (first.status, first.served_by) == (503, "api")
    assert gateway.get_vpc_link(VpcLinkId=link)["VpcLinkStatus"] == "PENDING"
    clock = door.emulator.clock
    clock.advance(VPC_LINK_PROVISIONING - timedelta(minutes=1))
    assert gateway.get_vpc_link(VpcLinkId=link)["VpcLinkStatus"] == "PENDING"
    assert door.emulator.request("GET", "/").status == 503
    # The minute ticks bring it back, request or not.
    clock.advance(timedelta(minutes=1))
    assert gateway.get_vpc_link(VpcLinkId=link)["VpcLinkStatus"] == "AVAILABLE"
    assert door.emulator.request("GET", "/").status == 200
    assert len(door.app.requests) == 2
    # The HTTP face does not use the link.
    door.emulator.link_goes_inactive(link)
    assert door.emulator.request("GET", "/_warmkeeper/status").status == 200
