"""The http-api front door: the $default route's target, Cloud Map health, the VPC link, against moto.

moto serves API Gateway V2 (routes, integrations, VPC links) and Cloud Map (instances and their custom
health). Two gaps are bridged here, visibly: moto's VPC links are always AVAILABLE (a wrapper answers
GetVpcLink with the status a test sets), and moto's ECS cannot run a Fargate awsvpc task (RunTask fails), so
DescribeTasks answers from a small table of tasks the test declares.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.warmkeeper.helpers import ENVIRONMENT
from tests.warmkeeper.moto_account import MotoAccount, build_account
from warmkeeper.adapters.aws import AwsClients, AwsGateway
from warmkeeper.adapters.routing import AwsStateError, HttpApiRouteFrontDoor, front_door_for
from warmkeeper.controller import run
from warmkeeper.domain.model import IdleAlarmed, ReconcileTick, WakeOrigin, WakeRequested, Weights
from warmkeeper.models.settings import Settings, SettingsError
from warmkeeper_shared.state import Route

REGION = "us-east-1"
PROBE_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/_warmkeeper/link"


@dataclass
class Tasks:
    """DescribeTasks from a declared table: task id -> (lastStatus, healthStatus)."""

    table: dict[str, tuple[str, str]] = field(default_factory=dict)
    calls: list[list[str]] = field(default_factory=list)

    def describe_tasks(self, cluster: str, tasks: list[str]) -> dict[str, Any]:
        assert len(tasks) <= 100
        self.calls.append(list(tasks))
        found = [
            {"taskArn": f"arn:aws:ecs:{REGION}:123456789012:task/{cluster}/{t}", "lastStatus": s, "healthStatus": h}
            for t, (s, h) in self.table.items()
            if t in tasks
        ]
        return {"tasks": found, "failures": []}


@dataclass
class LinkStatus:
    """moto's API Gateway V2 client with the VPC link's status set by the test (moto's is always AVAILABLE)."""

    real: Any
    status: str = "AVAILABLE"

    def get_vpc_link(self, VpcLinkId: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.real.get_vpc_link(VpcLinkId=VpcLinkId)
        return answer | {"VpcLinkStatus": self.status}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@dataclass
class HttpApi:
    api_id: str
    route_id: str
    face_route_id: str
    service_integration: str
    face_integration: str
    vpc_link: str
    cloud_map_service: str
    apigatewayv2: LinkStatus
    servicediscovery: Any
    tasks: Tasks
    probes: list[str]

    @property
    def environment(self) -> dict[str, str]:
        return {
            "FRONT_DOOR": "http-api",
            "ROUTE_RULE_ARN": "",
            "ECS_TARGET_GROUP_ARN": "",
            "WAKER_TARGET_GROUP_ARN": "",
            "HTTP_API_ID": self.api_id,
            "HTTP_API_ROUTE_ID": self.route_id,
            "SERVICE_INTEGRATION_ID": self.service_integration,
            "FACE_INTEGRATION_ID": self.face_integration,
            "VPC_LINK_ID": self.vpc_link,
            "CLOUD_MAP_SERVICE_ID": self.cloud_map_service,
            "LINK_PROBE_URL": PROBE_URL,
        }

    def settings(self) -> Settings:
        return Settings.from_environ(ENVIRONMENT | self.environment)

    def door(self) -> HttpApiRouteFrontDoor:
        door = front_door_for(
            self.settings(),
            boto3.client("elbv2", region_name=REGION),
            self.apigatewayv2,  # type: ignore[arg-type]
            self.servicediscovery,
            self.tasks,  # type: ignore[arg-type]
        )
        assert isinstance(door, HttpApiRouteFrontDoor)
        return HttpApiRouteFrontDoor(**{**door.__dict__, "probe": self.probes.append})

    def target(self) -> str:
        return str(self.apigatewayv2.get_route(ApiId=self.api_id, RouteId=self.route_id)["Target"])

    def task(self, task_id: str, cloud_map: str, last_status: str, health: str) -> None:
        """A task ECS registered in Cloud Map, its instance's health, and the task's own status."""
        self.servicediscovery.register_instance(
            ServiceId=self.cloud_map_service,
            InstanceId=task_id,
            Attributes={"AWS_INSTANCE_IPV4": "10.0.1.20", "AWS_INSTANCE_PORT": "80"},
        )
        self.servicediscovery.update_instance_custom_health_status(
            ServiceId=self.cloud_map_service, InstanceId=task_id, Status=cloud_map
        )
        self.tasks.table[task_id] = (last_status, health)


def build_http_api(vpc: str, subnets: list[str]) -> HttpApi:
    """Inside an active ``mock_aws``: the http-api resources of the template the controller touches."""
    discovery = boto3.client("servicediscovery", region_name=REGION)
    discovery.create_private_dns_namespace(Name="warmkeeper.warmkeeper.internal", Vpc=vpc)
    namespace = discovery.list_namespaces()["Namespaces"][0]["Id"]
    service = discovery.create_service(
        Name="service",
        NamespaceId=namespace,
        DnsConfig={"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "SRV", "TTL": 10}]},
        HealthCheckCustomConfig={"FailureThreshold": 1},
    )["Service"]
    gateway = boto3.client("apigatewayv2", region_name=REGION)
    api = gateway.create_api(Name="warmkeeper", ProtocolType="HTTP")["ApiId"]
    link = gateway.create_vpc_link(Name="warmkeeper", SubnetIds=subnets)["VpcLinkId"]
    to_service = gateway.create_integration(
        ApiId=api,
        IntegrationType="HTTP_PROXY",
        IntegrationMethod="ANY",
        ConnectionType="VPC_LINK",
        ConnectionId=link,
        IntegrationUri=service["Arn"],
        PayloadFormatVersion="1.0",
    )["IntegrationId"]
    to_face = gateway.create_integration(
        ApiId=api,
        IntegrationType="AWS_PROXY",
        IntegrationUri=f"arn:aws:lambda:{REGION}:123456789012:function:heartbeat",
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    face_route = gateway.create_route(ApiId=api, RouteKey="ANY /_warmkeeper/{proxy+}", Target=f"integrations/{to_face}")
    default = gateway.create_route(ApiId=api, RouteKey="$default", Target=f"integrations/{to_face}")
    return HttpApi(
        api_id=api,
        route_id=default["RouteId"],
        face_route_id=face_route["RouteId"],
        service_integration=to_service,
        face_integration=to_face,
        vpc_link=link,
        cloud_map_service=service["Id"],
        apigatewayv2=LinkStatus(gateway),
        servicediscovery=discovery,
        tasks=Tasks(),
        probes=[],
    )


@pytest.fixture
def world(controller_env: dict[str, str]) -> Iterator[tuple[MotoAccount, HttpApi]]:
    with mock_aws():
        account = build_account()
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.0.0.0/16"]}])["Vpcs"][0]["VpcId"]
        subnets = [
            s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        ]
        yield account, build_http_api(vpc, subnets)


# ------------------------------------------------------------------ settings select the front door


def test_settings_select_the_http_api_front_door_and_need_its_ids(world: tuple[MotoAccount, HttpApi]) -> None:
    _, api = world
    assert api.settings().front_door == "http-api"
    # Without FRONT_DOOR a stack is what it was before the parameter existed: alb.
    assert Settings.from_environ(ENVIRONMENT).front_door == "alb"
    with pytest.raises(SettingsError, match=r"missing environment variable.*VPC_LINK_ID"):
        Settings.from_environ(ENVIRONMENT | api.environment | {"VPC_LINK_ID": ""})
    with pytest.raises(SettingsError, match="FRONT_DOOR='nlb'"):
        Settings.from_environ(ENVIRONMENT | {"FRONT_DOOR": "nlb"})
    with pytest.raises(SettingsError, match="must differ"):
        Settings.from_environ(ENVIRONMENT | api.environment | {"FACE_INTEGRATION_ID": api.service_integration})
    with pytest.raises(SettingsError, match="HTTP_API_ROUTE_ID='Route 1'"):
        Settings.from_environ(ENVIRONMENT | api.environment | {"HTTP_API_ROUTE_ID": "Route 1"})
    # The alb front door still needs its own three.
    with pytest.raises(SettingsError, match="ROUTE_RULE_ARN"):
        Settings.from_environ(ENVIRONMENT | {"ROUTE_RULE_ARN": ""})


# ------------------------------------------------------------------ the route


def test_reads_and_flips_the_default_route_target(world: tuple[MotoAccount, HttpApi]) -> None:
    _, api = world
    door = api.door()
    assert door.weights() == Weights(ecs=0, waker=1)
    door.route(Route.ECS)
    assert api.target() == f"integrations/{api.service_integration}"
    assert door.weights() == Weights(ecs=1, waker=0)
    door.route(Route.WAKER)
    assert api.target() == f"integrations/{api.face_integration}"
    # The /_warmkeeper/* route is never touched.
    face_route = api.apigatewayv2.get_route(ApiId=api.api_id, RouteId=api.face_route_id)
    assert face_route["Target"] == f"integrations/{api.face_integration}"


def test_a_route_pointed_elsewhere_is_an_error_not_a_guess(world: tuple[MotoAccount, HttpApi]) -> None:
    _, api = world
    api.apigatewayv2.update_route(ApiId=api.api_id, RouteId=api.route_id, Target="integrations/someoneelse")
    with pytest.raises(AwsStateError, match="neither the service's integration"):
        api.door().weights()


def test_a_missing_route_fails_the_invocation(world: tuple[MotoAccount, HttpApi]) -> None:
    _, api = world
    api.apigatewayv2.delete_route(ApiId=api.api_id, RouteId=api.route_id)
    with pytest.raises(ClientError, match="NotFound"):
        api.door().weights()


# ------------------------------------------------------------------ healthy targets


# (Cloud Map health, task lastStatus, task healthStatus) per task, VPC link status -> healthy count, probes
HEALTH_TABLE = [
    pytest.param([], "AVAILABLE", 0, 0, id="no task"),
    pytest.param([("HEALTHY", "RUNNING", "HEALTHY")], "AVAILABLE", 1, 0, id="one healthy task"),
    pytest.param([("HEALTHY", "RUNNING", "UNKNOWN")], "AVAILABLE", 0, 0, id="starting: check not yet passed"),
    pytest.param([("HEALTHY", "PROVISIONING", "UNKNOWN")], "AVAILABLE", 0, 0, id="still provisioning"),
    pytest.param([("UNHEALTHY", "RUNNING", "UNHEALTHY")], "AVAILABLE", 0, 0, id="failing its check"),
    pytest.param([("UNHEALTHY", "RUNNING", "HEALTHY")], "AVAILABLE", 0, 0, id="cloud map not yet told"),
    pytest.param([("HEALTHY", "STOPPING", "HEALTHY")], "AVAILABLE", 0, 0, id="stopping"),
    pytest.param(
        [("HEALTHY", "RUNNING", "HEALTHY"), ("HEALTHY", "RUNNING", "HEALTHY"), ("HEALTHY", "RUNNING", "UNKNOWN")],
        "AVAILABLE",
        2,
        0,
        id="two of three",
    ),
    pytest.param([("HEALTHY", "RUNNING", "HEALTHY")], "INACTIVE", 0, 1, id="link inactive after 60 days: probe"),
    pytest.param([], "INACTIVE", 0, 1, id="link inactive, task starting: probe early"),
    pytest.param([("HEALTHY", "RUNNING", "HEALTHY")], "PENDING", 0, 0, id="link coming back"),
    pytest.param([("HEALTHY", "RUNNING", "HEALTHY")], "FAILED", 0, 0, id="link failed"),
    pytest.param([("HEALTHY", "RUNNING", "HEALTHY")], "DELETING", 0, 0, id="link being deleted"),
]


@pytest.mark.parametrize(("tasks", "link", "healthy", "probes"), HEALTH_TABLE)
def test_healthy_targets(
    world: tuple[MotoAccount, HttpApi], tasks: list[tuple[str, str, str]], link: str, healthy: int, probes: int
) -> None:
    _, api = world
    for number, (cloud_map, last_status, health) in enumerate(tasks):
        api.task(f"task{number:030d}", cloud_map, last_status, health)
    api.apigatewayv2.status = link
    assert api.door().healthy_targets() == healthy
    assert api.probes == [PROBE_URL] * probes
    # ECS is asked only about tasks Cloud Map calls HEALTHY.
    asked = {t for call in api.tasks.calls for t in call}
    assert asked == {f"task{n:030d}" for n, (cm, _, _) in enumerate(tasks) if cm == "HEALTHY"}


def test_more_than_a_page_of_instances_and_a_hundred_tasks(world: tuple[MotoAccount, HttpApi]) -> None:
    _, api = world
    for number in range(130):
        api.task(f"task{number:030d}", "HEALTHY", "RUNNING", "HEALTHY" if number % 2 else "UNKNOWN")
    assert api.door().healthy_targets() == 65
    assert [len(call) for call in api.tasks.calls] == [100, 30]


# ------------------------------------------------------------------ the same decisions through this front door


def _gateway(account: MotoAccount, api: HttpApi) -> AwsGateway:
    clients = AwsClients(
        ecs=api.tasks,  # type: ignore[arg-type]
        elbv2=boto3.client("elbv2", region_name=REGION),
        cloudwatch=boto3.client("cloudwatch", region_name=REGION),
        ssm=boto3.client("ssm", region_name=REGION),
        apigatewayv2=api.apigatewayv2,  # type: ignore[arg-type]
        servicediscovery=api.servicediscovery,
    )
    real_ecs = boto3.client("ecs", region_name=REGION)
    # DescribeServices and UpdateService from moto; DescribeTasks from the declared table.
    api.tasks.describe_services = real_ecs.describe_services  # type: ignore[attr-defined]
    api.tasks.update_service = real_ecs.update_service  # type: ignore[attr-defined]
    return AwsGateway(clients, api.settings())


def test_a_wake_routes_to_the_service_only_once_a_task_is_healthy_and_sleep_routes_away_first(
    world: tuple[MotoAccount, HttpApi],
) -> None:
    account, api = world
    now = datetime.now(UTC)
    # Asleep: no task, traffic on the HTTP face.
    account.set_desired_count(0)
    gateway = _gateway(account, api)
    run(WakeRequested(WakeOrigin.REQUEST, "visitor", sent_at=now), now, api.settings(), gateway)
    assert account.desired_count() == 1
    assert api.target() == f"integrations/{api.face_integration}"  # not before a healthy task

    # A task registered but still starting: still the face.
    api.task("a" * 32, "HEALTHY", "RUNNING", "UNKNOWN")
    run(ReconcileTick(), now, api.settings(), _gateway(account, api))
    assert api.target() == f"integrations/{api.face_integration}"

    # Its check passes: traffic goes to the service.
    api.tasks.table["a" * 32] = ("RUNNING", "HEALTHY")
    gateway = _gateway(account, api)
    run(ReconcileTick(), now, api.settings(), gateway)
    assert api.target() == f"integrations/{api.service_integration}"
    assert "apigatewayv2:UpdateRoute" in gateway.calls
    assert gateway.calls.index("servicediscovery:GetInstancesHealthStatus") < gateway.calls.index(
        "apigatewayv2:UpdateRoute"
    )


def test_going_to_sleep_routes_to_the_face_before_scaling_to_zero(world: tuple[MotoAccount, HttpApi]) -> None:
    account, api = world
    api.task("b" * 32, "HEALTHY", "RUNNING", "HEALTHY")
    api.door().route(Route.ECS)
    account.set_alarm("warmkeeper-idle", "ALARM")
    # Long after the wake: the minimum awake time does not hold the sleep.
    later = datetime(2030, 1, 1, tzinfo=UTC)
    gateway = _gateway(account, api)
    decision = run(IdleAlarmed(), later, api.settings(), gateway)
    assert api.target() == f"integrations/{api.face_integration}", decision
    assert account.desired_count() == 0
    assert gateway.calls.index("apigatewayv2:UpdateRoute") < gateway.calls.index("ecs:UpdateService")
