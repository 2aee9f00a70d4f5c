"""Every AWS call the controller makes: reading what a decision needs, and performing its actions.

Clients use botocore's standard retry mode, so throttling and 5xx answers are retried with back-off
before an error reaches the handler (and then Lambda's own retries and the dead-letter queue).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from warmkeeper.adapters.routing import AwsStateError, FrontDoor, front_door_for
from warmkeeper.domain.model import (
    Action,
    Observation,
    Observe,
    RouteTraffic,
    SaveState,
    ServiceView,
    SetDesiredCount,
    Weights,
)
from warmkeeper.models.settings import Settings
from warmkeeper_shared.state import ControllerState, StateDocumentError, parse_state

if TYPE_CHECKING:
    from mypy_boto3_apigatewayv2 import ApiGatewayV2Client
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_servicediscovery import ServiceDiscoveryClient
    from mypy_boto3_ssm import SSMClient

# Standard mode retries throttling and 5xx with jittered back-off; 4 attempts fit the 30 s timeout.
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=10)

__all__ = ["AwsClients", "AwsGateway", "AwsStateError", "default_clients"]


@dataclass(frozen=True)
class AwsClients:
    ecs: ECSClient
    elbv2: ElasticLoadBalancingv2Client
    cloudwatch: CloudWatchClient
    ssm: SSMClient
    # The http-api front door's (None where only the alb front door is used).
    apigatewayv2: ApiGatewayV2Client | None = None
    servicediscovery: ServiceDiscoveryClient | None = None


@cache
def default_clients(front_door: str = "alb") -> AwsClients:
    """One set of clients per execution environment (creating them costs more than most calls); the
    http-api front door's two only where it is used."""
    session = boto3.session.Session()
    http_api = front_door == "http-api"
    return AwsClients(
        ecs=session.client("ecs", config=RETRY_CONFIG),
        elbv2=session.client("elbv2", config=RETRY_CONFIG),
        cloudwatch=session.client("cloudwatch", config=RETRY_CONFIG),
        ssm=session.client("ssm", config=RETRY_CONFIG),
        apigatewayv2=session.client("apigatewayv2", config=RETRY_CONFIG) if http_api else None,
        servicediscovery=session.client("servicediscovery", config=RETRY_CONFIG) if http_api else None,
    )


def _aware(value: datetime | None) -> datetime | None:
    # botocore parses timestamps with a zone; a local endpoint may answer without one (then it is UTC).
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass
class AwsGateway:
    """Reads and writes for one invocation; ``calls`` lists the operations made, in order."""

    clients: AwsClients
    settings: Settings
    calls: list[str] = field(default_factory=list)

    @property
    def front_door(self) -> FrontDoor:
        return front_door_for(
            self.settings,
            self.clients.elbv2,
            self.clients.apigatewayv2,
            self.clients.servicediscovery,
            self.clients.ecs,
        )

    def _called(self, operation: str) -> None:
        self.calls.append(operation)

    # ------------------------------------------------------------ observe

    def observe(self, what: frozenset[Observe], observed: Observation) -> Observation:
        updates: dict[str, Any] = {}
        for item in sorted(what):
            match item:
                case Observe.STATE:
                    updates["state"], updates["state_lost"] = self._state()
                case Observe.SERVICE:
                    updates["service"] = self._service()
                case Observe.ALARMS:
                    updates["alarms"], updates["alarms_changed"] = self._alarms()
                case Observe.ROUTE:
                    updates["weights"] = self._weights()
                case Observe.HEALTH:
                    updates["healthy_targets"] = self._healthy_targets()
        return replace(observed, **updates)

    def _state(self) -> tuple[ControllerState, str | None]:
        """The record, or the empty one and why the real one is lost (the decision rebuilds and reports it)."""
        self._called("ssm:GetParameter")
        try:
            answer = self.clients.ssm.get_parameter(Name=self.settings.state_parameter_name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ParameterNotFound":
                raise  # throttling, access denied...: the invocation fails and is retried
            return ControllerState(), "the parameter does not exist"
        try:
            return parse_state(answer.get("Parameter", {}).get("Value")), None
        except StateDocumentError as error:
            first_lines = " ".join(str(error).splitlines()[:3])
            return ControllerState(), f"the parameter does not hold a controller record: {first_lines[:300]}"

    def _service(self) -> ServiceView:
        self._called("ecs:DescribeServices")
        answer = self.clients.ecs.describe_services(
            cluster=self.settings.cluster_name, services=[self.settings.service_name]
        )
        services = [s for s in answer.get("services", []) if s.get("status") != "INACTIVE"]
        if not services:
            raise AwsStateError(
                f"service {self.settings.service_name} not found in cluster {self.settings.cluster_name}: "
                f"{answer.get('failures')}"
            )
        service = services[0]
        deployments = service.get("deployments", [])
        in_progress = len(deployments) > 1 or any(d.get("rolloutState") == "IN_PROGRESS" for d in deployments)
        return ServiceView(
            desired_count=service.get("desiredCount", 0),
            running_count=service.get("runningCount", 0),
            deployment_in_progress=in_progress,
        )

    def _alarms(self) -> tuple[dict[str, str], dict[str, datetime | None]]:
        """Each alarm's state and when it last changed (``StateUpdatedTimestamp``), from one call."""
        self._called("cloudwatch:DescribeAlarms")
        names = [self.settings.idle_alarm_name, self.settings.wake_alarm_name]
        answer = self.clients.cloudwatch.describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        found: list[Any] = [*answer.get("MetricAlarms", []), *answer.get("CompositeAlarms", [])]
        states = {a["AlarmName"]: a["StateValue"] for a in found}
        changed = {a["AlarmName"]: _aware(a.get("StateUpdatedTimestamp")) for a in found}
        # A missing alarm reads as "MISSING", which no decision treats as ALARM.
        return (
            {name: states.get(name, "MISSING") for name in names},
            {name: changed.get(name) for name in names},
        )

    def _weights(self) -> Weights:
        door = self.front_door
        self._called(door.read_operation)
        return door.weights()

    def _healthy_targets(self) -> int:
        door = self.front_door
        for operation in door.health_operations:
            self._called(operation)
        return door.healthy_targets()

    # ------------------------------------------------------------ act

    def perform(self, action: Action) -> None:
        match action:
            case RouteTraffic(to=to):
                door = self.front_door
                self._called(door.write_operation)
                door.route(to)
            case SetDesiredCount(count=count, force_new_deployment=force):
                self._called("ecs:UpdateService")
                self.clients.ecs.update_service(
                    cluster=self.settings.cluster_name,
                    service=self.settings.service_name,
                    desiredCount=count,
                    forceNewDeployment=force,
                )
            case SaveState(state=state):
                self._called("ssm:PutParameter")
                self.clients.ssm.put_parameter(
                    Name=self.settings.state_parameter_name,
                    Value=state.to_json(),
                    Type="String",
                    Overwrite=True,
                )
