"""Where the service's traffic goes: the controller's one lever besides desiredCount, behind one seam.

A front door reads the current weights (service or waker), routes all traffic to one side, and counts the
service's healthy targets (the only ones that may get traffic). The decisions never know which front door
is in use; the settings choose it:
- ``alb``: a weighted forward in a listener rule Warmkeeper owns, the same on a load balancer of the stack and
  on a listener shared with other services (the listener's default action and other rules are never
  touched); a healthy target is one the target group's health checks pass.
- ``http-api``: the target of an API Gateway HTTP API's ``$default`` route, either the private integration
  (VPC link to the Cloud Map service ECS registers the tasks in) or the HTTP face's Lambda integration; a
  healthy target is a Cloud Map instance whose health, reported by ECS from the container health check, is
  HEALTHY, behind a VPC link that is AVAILABLE.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from aws_lambda_powertools import Logger

from warmkeeper.domain.model import Weights
from warmkeeper.models.settings import Settings
from warmkeeper_shared.state import Route

if TYPE_CHECKING:
    from mypy_boto3_apigatewayv2 import ApiGatewayV2Client
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_servicediscovery import ServiceDiscoveryClient

# A child of the handler's logger: same service, same structured output, created once.
_log = Logger(child=True)


class AwsStateError(RuntimeError):
    """AWS answered, but not with what the stack should look like (a missing service, rule...)."""


class FrontDoor(Protocol):
    # The operation names each method calls, for the gateway's record of calls.
    read_operation: ClassVar[str]
    write_operation: ClassVar[str]
    health_operations: ClassVar[tuple[str, ...]]

    def weights(self) -> Weights: ...

    def route(self, to: Route) -> None: ...

    def healthy_targets(self) -> int: ...


@dataclass(frozen=True)
class AlbRuleFrontDoor:
    """The weighted forward of the listener rule Warmkeeper owns: the service's target group and the waker's."""

    elbv2: ElasticLoadBalancingv2Client
    rule_arn: str
    ecs_target_group_arn: str
    waker_target_group_arn: str

    read_operation: ClassVar[str] = "elbv2:DescribeRules"
    write_operation: ClassVar[str] = "elbv2:ModifyRule"
    health_operations: ClassVar[tuple[str, ...]] = ("elbv2:DescribeTargetHealth",)

    def weights(self) -> Weights:
        answer = self.elbv2.describe_rules(RuleArns=[self.rule_arn])
        rules = answer.get("Rules", [])
        if not rules:
            raise AwsStateError(f"listener rule {self.rule_arn} not found")
        weights: dict[str, int] = {}
        for action in rules[0].get("Actions", []):
            if action.get("Type") != "forward":
                continue
            groups: list[Any] = list(action.get("ForwardConfig", {}).get("TargetGroups", []))
            if not groups and "TargetGroupArn" in action:
                groups = [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
            for group in groups:
                weights[group.get("TargetGroupArn", "")] = group.get("Weight", 1)
        ours = {self.ecs_target_group_arn, self.waker_target_group_arn}
        if not ours & set(weights):
            # Someone replaced the rule's action: flipping weights would not move any traffic.
            raise AwsStateError(
                f"listener rule {self.rule_arn} forwards to neither the service's target group nor the waker's"
            )
        return Weights(
            ecs=weights.get(self.ecs_target_group_arn, 0),
            waker=weights.get(self.waker_target_group_arn, 0),
        )

    def route(self, to: Route) -> None:
        ecs, waker = (1, 0) if to is Route.ECS else (0, 1)
        self.elbv2.modify_rule(
            RuleArn=self.rule_arn,
            Actions=[
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": self.ecs_target_group_arn, "Weight": ecs},
                            {"TargetGroupArn": self.waker_target_group_arn, "Weight": waker},
                        ]
                    },
                }
            ],
        )

    def healthy_targets(self) -> int:
        """Targets the service's target group's health checks pass (registered or initial is not enough)."""
        answer = self.elbv2.describe_target_health(TargetGroupArn=self.ecs_target_group_arn)
        return sum(
            1 for d in answer.get("TargetHealthDescriptions", []) if d.get("TargetHealth", {}).get("State") == "healthy"
        )


# A VPC link unused for 60 days turns INACTIVE (its network interfaces are deleted); requests through it fail
# until API Gateway, seeing requests again, has provisioned them anew, which takes minutes.
LINK_READY = "AVAILABLE"
LINK_COMING_BACK = frozenset({"INACTIVE", "PENDING"})
PROBE_TIMEOUT_SECONDS = 3


def probe_link(url: str) -> None:
    """One GET through the VPC link (the API's probe route): a request is what makes API Gateway provision an
    INACTIVE link again. Its answer does not matter (a 5xx is expected while the link is down), only that it
    was sent; a failure to send is logged and the next wake check sends another."""
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": "warmkeeper-link-probe"})  # noqa: S310 - an https URL from the template
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_SECONDS) as answer:  # noqa: S310
            _log.info("VPC link probe sent", url=url, status=answer.status)
    except urllib.error.HTTPError as error:
        _log.info("VPC link probe sent", url=url, status=error.code)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        _log.warning("VPC link probe not answered", url=url, error=str(error))


@dataclass(frozen=True)
class HttpApiRouteFrontDoor:
    """The target of the HTTP API's ``$default`` route: the service's private integration or the HTTP face's."""

    apigatewayv2: ApiGatewayV2Client
    servicediscovery: ServiceDiscoveryClient
    ecs: ECSClient
    cluster_name: str
    api_id: str
    route_id: str
    service_integration_id: str
    face_integration_id: str
    vpc_link_id: str
    cloud_map_service_id: str
    link_probe_url: str
    probe: Callable[[str], None] = probe_link

    read_operation: ClassVar[str] = "apigatewayv2:GetRoute"
    write_operation: ClassVar[str] = "apigatewayv2:UpdateRoute"
    health_operations: ClassVar[tuple[str, ...]] = (
        "servicediscovery:GetInstancesHealthStatus",
        "ecs:DescribeTasks",
        "apigatewayv2:GetVpcLink",
    )

    def weights(self) -> Weights:
        route = self.apigatewayv2.get_route(ApiId=self.api_id, RouteId=self.route_id)
        target = route.get("Target", "")
        if target == f"integrations/{self.service_integration_id}":
            return Weights(ecs=1, waker=0)
        if target == f"integrations/{self.face_integration_id}":
            return Weights(ecs=0, waker=1)
        # Someone pointed the route elsewhere (or removed its target): flipping would not move any traffic.
        raise AwsStateError(
            f"route {self.route_id} of API {self.api_id} targets {target!r}, neither the service's integration "
            f"{self.service_integration_id} nor the HTTP face's {self.face_integration_id}"
        )

    def route(self, to: Route) -> None:
        integration = self.service_integration_id if to is Route.ECS else self.face_integration_id
        self.apigatewayv2.update_route(ApiId=self.api_id, RouteId=self.route_id, Target=f"integrations/{integration}")

    def healthy_targets(self) -> int:
        """HEALTHY Cloud Map instances, counted only when the VPC link can carry traffic to them.

        ECS registers each task in Cloud Map (the instance id is the task id) and reports its container health
        check as the instance's health. A task counts only when both say so: Cloud Map HEALTHY (what API
        Gateway routes by) and the task's own healthStatus HEALTHY (ECS: the essential containers' checks have
        passed), so a starting task, whatever status Cloud Map gives a fresh registration, is never counted.
        Through a VPC link that is not AVAILABLE no request reaches even a healthy task: then the answer is 0,
        and when the link is INACTIVE a probe request starts its return.
        """
        healthy = self._healthy_tasks(self._healthy_instances())
        status = self.apigatewayv2.get_vpc_link(VpcLinkId=self.vpc_link_id).get("VpcLinkStatus", "")
        if status == LINK_READY:
            return healthy
        if status in LINK_COMING_BACK:
            _log.warning(
                "VPC link not available: traffic stays on the HTTP face",
                vpc_link=self.vpc_link_id,
                status=status,
                healthy_instances=healthy,
            )
            if status == "INACTIVE":
                self.probe(self.link_probe_url)
            return 0
        # FAILED or DELETING: no request will get through; the wake runs into its deadline and says so.
        _log.error(
            "VPC link unusable: traffic stays on the HTTP face",
            vpc_link=self.vpc_link_id,
            status=status,
            healthy_instances=healthy,
        )
        return 0

    def _healthy_tasks(self, instance_ids: list[str]) -> int:
        if not instance_ids:
            return 0
        healthy = 0
        for start in range(0, len(instance_ids), 100):  # DescribeTasks takes at most 100 tasks
            answer = self.ecs.describe_tasks(cluster=self.cluster_name, tasks=instance_ids[start : start + 100])
            healthy += sum(
                1
                for task in answer.get("tasks", [])
                if task.get("healthStatus") == "HEALTHY" and task.get("lastStatus") == "RUNNING"
            )
        return healthy

    def _healthy_instances(self) -> list[str]:
        healthy: list[str] = []
        token: str | None = None
        while True:
            page = (
                self.servicediscovery.get_instances_health_status(ServiceId=self.cloud_map_service_id, NextToken=token)
                if token
                else self.servicediscovery.get_instances_health_status(ServiceId=self.cloud_map_service_id)
            )
            healthy += [instance for instance, state in page.get("Status", {}).items() if state == "HEALTHY"]
            token = page.get("NextToken")
            if not token:
                return healthy


def front_door_for(
    settings: Settings,
    elbv2: ElasticLoadBalancingv2Client,
    apigatewayv2: ApiGatewayV2Client | None = None,
    servicediscovery: ServiceDiscoveryClient | None = None,
    ecs: ECSClient | None = None,
) -> FrontDoor:
    """The front door the settings name."""
    if settings.front_door == "http-api":
        if apigatewayv2 is None or servicediscovery is None or ecs is None:
            raise ValueError("the http-api front door needs apigatewayv2, servicediscovery and ecs clients")
        return HttpApiRouteFrontDoor(
            apigatewayv2=apigatewayv2,
            servicediscovery=servicediscovery,
            ecs=ecs,
            cluster_name=settings.cluster_name,
            api_id=settings.http_api_id,
            route_id=settings.http_api_route_id,
            service_integration_id=settings.service_integration_id,
            face_integration_id=settings.face_integration_id,
            vpc_link_id=settings.vpc_link_id,
            cloud_map_service_id=settings.cloud_map_service_id,
            link_probe_url=settings.link_probe_url,
        )
    return AlbRuleFrontDoor(
        elbv2=elbv2,
        rule_arn=settings.route_rule_arn,
        ecs_target_group_arn=settings.ecs_target_group_arn,
        waker_target_group_arn=settings.waker_target_group_arn,
    )
