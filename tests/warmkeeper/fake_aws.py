"""An in-memory AWS for the property tests: the few ECS, ELBv2, CloudWatch and SSM calls the controller
makes, answering in boto3's response shapes, over a world the test drives.

Every call goes through ``World.before_call``, which counts it, can inject a fault (throttling, a 5xx,
access denied) and checks the safety rules at the moment of each write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from botocore.exceptions import ClientError

from tests.warmkeeper.helpers import ECS_TG_ARN, ENVIRONMENT, WAKER_TG_ARN
from warmkeeper.adapters.aws import AwsClients
from warmkeeper_shared.state import ControllerState, Route, parse_state

FAULTS = {
    "throttling": ("ThrottlingException", 400),
    "server-error": ("InternalFailure", 500),
    "access-denied": ("AccessDeniedException", 400),
    # What UpdateService answers for a task definition it cannot use.
    "invalid-parameter": ("InvalidParameterException", 400),
}


def fault(kind: str, operation: str) -> ClientError:
    code, status = FAULTS[kind]
    response: Any = {
        "Error": {"Code": code, "Message": f"injected {kind}"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


@dataclass(kw_only=True)
class FaultyCalls:
    """Counts every call, injects faults, runs the write-time checks: shared by both worlds.

    Two kinds of fault: one armed for a single call (``arm_fault``: the index of the call from now, then
    it is gone), and persistent ones (``persistent_faults``: operation -> kind) that fail every call of
    that operation until removed, like an IAM policy or a task definition that is wrong.
    """

    calls: list[str] = field(default_factory=list)
    # Fail the call with this index (0-based, counted from arm_fault) with this kind.
    fault_at: tuple[int, str] | None = None
    calls_since_armed: int = 0
    persistent_faults: dict[str, str] = field(default_factory=dict)
    # Whether the last armed single fault fired (a persistent one is not counted here).
    armed_fault_fired: bool = False
    # Called with (operation, params) before each write is applied; raises AssertionError to flag.
    write_checks: list[Callable[[str, dict[str, Any]], None]] = field(default_factory=list)

    def arm_fault(self, at: int, kind: str) -> None:
        self.fault_at = (at, kind)
        self.calls_since_armed = 0
        self.armed_fault_fired = False

    def before_call(self, operation: str, params: dict[str, Any]) -> None:
        self.calls.append(operation)
        index = self.calls_since_armed
        self.calls_since_armed += 1
        if self.fault_at is not None and self.fault_at[0] == index:
            kind = self.fault_at[1]
            self.fault_at = None
            self.armed_fault_fired = True
            raise fault(kind, operation)
        if operation in self.persistent_faults:
            raise fault(self.persistent_faults[operation], operation)
        for check in self.write_checks:
            check(operation, params)


@dataclass(kw_only=True)
class World(FaultyCalls):
    """The AWS state the controller acts on, plus what the test knows about it."""

    now: datetime = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    desired: int = 1
    healthy: int = 1
    deploying: bool = False
    alarms: dict[str, str] = field(default_factory=lambda: {"warmkeeper-idle": "OK", "warmkeeper-wake": "OK"})
    # StateUpdatedTimestamp of each alarm: when set_alarm last changed it.
    alarms_changed: dict[str, datetime] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=lambda: {ECS_TG_ARN: 1, WAKER_TG_ARN: 0})
    parameter: str = "{}"

    @property
    def route(self) -> Route | None:
        ecs, waker = self.weights[ECS_TG_ARN], self.weights[WAKER_TG_ARN]
        if ecs > 0 and waker == 0:
            return Route.ECS
        if waker > 0 and ecs == 0:
            return Route.WAKER
        return None

    @property
    def state(self) -> ControllerState:
        return parse_state(self.parameter)

    def clients(self) -> AwsClients:
        return AwsClients(
            ecs=cast(Any, _Ecs(self)),
            elbv2=cast(Any, _Elbv2(self)),
            cloudwatch=cast(Any, _CloudWatch(self)),
            ssm=cast(Any, _Ssm(self)),
        )

    def settings_environment(self) -> dict[str, str]:
        return dict(ENVIRONMENT)

    def minutes_later(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)

    # What the world (not the controller) changes; the moto world offers the same methods.

    def alarm(self, name: str) -> str:
        return self.alarms[name]

    def set_alarm(self, name: str, value: str) -> None:
        if self.alarms.get(name) != value:
            self.alarms_changed[name] = self.now
        self.alarms[name] = value

    def set_desired(self, count: int) -> None:
        self.desired = count

    def set_healthy(self, count: int) -> None:
        self.healthy = count

    def set_deploying(self, deploying: bool) -> None:
        self.deploying = deploying


@dataclass
class _Ecs:
    world: World

    def _view(self) -> dict[str, Any]:
        w = self.world
        return {
            "serviceName": "warmkeeper",
            "status": "ACTIVE",
            "desiredCount": w.desired,
            "runningCount": min(w.desired, w.healthy),
            "deployments": [{"status": "PRIMARY", "rolloutState": "IN_PROGRESS" if w.deploying else "COMPLETED"}],
        }

    def describe_services(self, *, cluster: str, services: list[str]) -> dict[str, Any]:
        self.world.before_call("ecs:DescribeServices", {"cluster": cluster, "services": services})
        return {"services": [self._view()], "failures": []}

    def update_service(self, **params: Any) -> dict[str, Any]:
        self.world.before_call("ecs:UpdateService", params)
        self.world.desired = params["desiredCount"]
        if params.get("forceNewDeployment"):
            self.world.deploying = True
        return {"service": self._view()}


@dataclass
class _Elbv2:
    world: World

    def describe_rules(self, *, RuleArns: list[str]) -> dict[str, Any]:
        self.world.before_call("elbv2:DescribeRules", {"RuleArns": RuleArns})
        groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in self.world.weights.items()]
        return {
            "Rules": [
                {
                    "RuleArn": RuleArns[0],
                    "Priority": "3",
                    "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
                    "Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
                    "IsDefault": False,
                }
            ]
        }

    def modify_rule(self, **params: Any) -> dict[str, Any]:
        self.world.before_call("elbv2:ModifyRule", params)
        for group in params["Actions"][0]["ForwardConfig"]["TargetGroups"]:
            self.world.weights[group["TargetGroupArn"]] = group["Weight"]
        return {"Rules": []}

    def describe_target_health(self, *, TargetGroupArn: str) -> dict[str, Any]:
        self.world.before_call("elbv2:DescribeTargetHealth", {"TargetGroupArn": TargetGroupArn})
        healthy = [
            {"Target": {"Id": f"10.0.1.{i}"}, "TargetHealth": {"State": "healthy"}} for i in range(self.world.healthy)
        ]
        return {"TargetHealthDescriptions": healthy}


@dataclass
class _CloudWatch:
    world: World

    def describe_alarms(self, *, AlarmNames: list[str], AlarmTypes: list[str]) -> dict[str, Any]:
        self.world.before_call("cloudwatch:DescribeAlarms", {"AlarmNames": AlarmNames})
        return {
            "MetricAlarms": [
                {
                    "AlarmName": name,
                    "StateValue": self.world.alarms[name],
                    "StateUpdatedTimestamp": self.world.alarms_changed.get(name, datetime(2026, 11, 1, tzinfo=UTC)),
                }
                for name in AlarmNames
                if name in self.world.alarms
            ],
            "CompositeAlarms": [],
        }


@dataclass
class _Ssm:
    world: World

    def get_parameter(self, *, Name: str) -> dict[str, Any]:
        self.world.before_call("ssm:GetParameter", {"Name": Name})
        return {"Parameter": {"Name": Name, "Value": self.world.parameter, "Type": "String"}}

    def put_parameter(self, **params: Any) -> dict[str, Any]:
        self.world.before_call("ssm:PutParameter", params)
        self.world.parameter = params["Value"]
        return {"Version": 1}
