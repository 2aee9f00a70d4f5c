"""The local AWS in the http-api front door mode: the stack of template.yaml with ``FrontDoor=http-api``.

The same endpoint, functions, EventBridge, CloudWatch and simulated ECS as :class:`local_aws.runtime.LocalAws`;
the front door is the local HTTP API (local_aws.httpapi) instead of the ALB, and what is observed after each
step reads the ``$default`` route's current target and the Cloud Map service's healthy instances instead of
listener weights and target health.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from local_aws import cloud_map
from local_aws.alb import AlbEmulator
from local_aws.endpoint import LocalEndpoint
from local_aws.execute_api import ExecuteApiServer
from local_aws.httpapi import HttpApiEmulator
from local_aws.runtime import FrontDoor, LocalAws, Observed
from local_aws.simulate import StandInApp
from local_aws.stack import StackError

FRONT_DOOR_OVERRIDES = {"FrontDoor": "http-api"}


def traffic_of(integration: dict[str, Any] | None) -> dict[str, int]:
    """The ``$default`` route's target as the ALB mode's weights (ecs / waker), so the same expectations
    read both modes: the private integration is the service, a Lambda integration the HTTP face."""
    if integration is None:
        return {}
    if integration.get("ConnectionType") == "VPC_LINK":
        return {"ecs": 1, "waker": 0}
    if integration.get("IntegrationType") == "AWS_PROXY":
        return {"ecs": 0, "waker": 1}
    return {}


@dataclass(frozen=True)
class HttpApiObserved(Observed):
    # The integration the $default route targets, described.
    route: str = ""

    def line(self) -> str:
        alarms = " ".join(f"{name}={value}" for name, value in self.alarms.items())
        state = json.dumps(self.state, separators=(",", ":")) if self.state else "{}"
        return (
            f"desired={self.desired_count} running={self.running_count} healthy={self.healthy_targets} "
            f"(Cloud Map) | $default -> {self.route} | {alarms} | state {state}"
        )


@dataclass
class HttpApiLocalAws(LocalAws):
    # No load balancer in this mode: the ALB emulator is never made.
    alb: AlbEmulator = field(init=False, repr=False)
    httpapi: HttpApiEmulator = field(init=False)
    # The API's ApiEndpoint, served locally (the stack's code may call it: the controller's VPC link probe).
    execute_api: ExecuteApiServer | None = field(default=None, init=False)

    def _assemble(self, endpoint: LocalEndpoint) -> None:
        self.execute_api = ExecuteApiServer(endpoint.host).__enter__()
        try:
            super()._assemble(endpoint)
        except BaseException as error:
            # LocalAws.__enter__ stops only its endpoint when assembling fails; this server goes too.
            self.execute_api.__exit__(type(error), error, error.__traceback__)
            self.execute_api = None
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            if self.execute_api is not None:
                self.execute_api.__exit__(exc_type, exc, tb)
                self.execute_api = None

    @property
    def api_id(self) -> str:
        apis = list(self.stack.resources_of_type("AWS::ApiGatewayV2::Api"))
        if len(apis) != 1:
            raise StackError(f"the http-api front door needs one AWS::ApiGatewayV2::Api in the stack, not {apis}")
        return self.stack.physical_ids[apis[0]]

    @property
    def vpc_link_id(self) -> str:
        links = list(self.stack.resources_of_type("AWS::ApiGatewayV2::VpcLink"))
        if len(links) != 1:
            raise StackError(f"the http-api front door needs one AWS::ApiGatewayV2::VpcLink in the stack, not {links}")
        return self.stack.physical_ids[links[0]]

    def _front_door(self, app: StandInApp) -> None:
        self.httpapi = HttpApiEmulator(self.stack, self.functions, self.clock, app, self.api_id)
        if self.execute_api is not None:
            self.execute_api.serve(self.api_id, self.httpapi)

    @property
    def front_door(self) -> FrontDoor:
        return self.httpapi

    def observe(self) -> Observed:
        endpoint = self.stack.endpoint
        service = self.describe_service()
        integration = self.httpapi.default_route_integration()
        alarm_names = [self.stack.outputs["IdleAlarmName"], self.stack.outputs["WakeAlarmName"]]
        alarms = {
            a["AlarmName"]: a["StateValue"]
            for a in endpoint.client("cloudwatch").describe_alarms(AlarmNames=alarm_names)["MetricAlarms"]
        }
        raw = endpoint.client("ssm").get_parameter(Name=self.stack.outputs["StateParameterName"])["Parameter"]["Value"]
        weights = traffic_of(integration)
        route = "nothing" if integration is None else f"{integration['IntegrationType']}"
        if weights.get("ecs"):
            route = "ecs (VPC link to Cloud Map)"
        elif weights.get("waker"):
            route = "waker (the HTTP face, payload 2.0)"
        return HttpApiObserved(
            desired_count=int(service["desiredCount"]),
            running_count=int(service["runningCount"]),
            weights=weights,
            alarms=alarms,
            state=json.loads(raw) if raw.strip() else {},
            healthy_targets=cloud_map.healthy_instances(self.ecs),
            task_definition=service["taskDefinition"].rsplit("/", 1)[1],
            route=route,
        )
