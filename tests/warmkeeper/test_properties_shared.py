"""Two services on one listener: the four invariants for one, and each one's steps never touch the other.

Service A is the controller of tests/warmkeeper/machine.py, in its moving world, with every fault it
injects (lost, duplicated, reordered and racing events, throttling, 5xx, access denied, UpdateService
failing for a stretch). Service B sits on the same listener, with its own cluster/service, target groups,
route rule, alarms and record; its controller gets events of its own (a visitor's wake, idle alarms, pins,
sleeps, reconcile ticks, some failing on an AWS fault).

The account is shared: every call is answered from the resource it names (the service, the rule ARN, the
target group, the alarm names, the parameter name), so a controller that addressed the other service's
resources would change them. Checked after every step: no step of A changed B's desired count, rule
weights, alarms or record, and no step of B changed A's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from botocore.exceptions import ClientError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from tests.warmkeeper.fake_aws import World, _Ecs
from tests.warmkeeper.helpers import ECS_TG_ARN, ENVIRONMENT, RULE_ARN, WAKER_TG_ARN
from tests.warmkeeper.machine import ControllerMachine, WorldLike, faults
from warmkeeper.adapters.aws import AwsClients, AwsGateway
from warmkeeper.controller import run
from warmkeeper.domain.model import (
    IdleAlarmed,
    PinRequested,
    ReconcileTick,
    SleepRequested,
    SteadyState,
    Trigger,
    UnpinRequested,
    WakeOrigin,
    WakeRequested,
)
from warmkeeper.models.settings import Settings

# The same listener, another rule: what a second stack with RulePriority 20 and HostNames b.example owns.
_LISTENER = RULE_ARN.rsplit("/", 1)[0]
B_RULE_ARN = f"{_LISTENER}/0b0b0b0b0b0b0b0b"
B_ECS_TG_ARN = ECS_TG_ARN.replace("warmkeeper-ecs/", "service-b/")
B_WAKER_TG_ARN = WAKER_TG_ARN.replace("warmkeeper-waker/", "warmkeeper-b-waker/")
B_ENVIRONMENT = {
    **ENVIRONMENT,
    "STACK_NAME": "warmkeeper-b",
    "CLUSTER_NAME": "users-cluster",
    "SERVICE_NAME": "service-b",
    "STATE_PARAMETER_NAME": "/warmkeeper/warmkeeper-b/state",
    "ROUTE_RULE_ARN": B_RULE_ARN,
    "ECS_TARGET_GROUP_ARN": B_ECS_TG_ARN,
    "WAKER_TARGET_GROUP_ARN": B_WAKER_TG_ARN,
    "IDLE_ALARM_NAME": "warmkeeper-b-idle",
    "WAKE_ALARM_NAME": "warmkeeper-b-wake",
}

SCALE = float(os.environ.get("WARMKEEPER_PROPERTY_SCALE", "1"))
SHARED = settings(
    max_examples=max(1, int(500 * SCALE)),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)


class UnknownResource(AssertionError):
    """A controller named a resource no service of the account has: a defect, not an AWS fault."""


@dataclass
class Account:
    """The services of one account and region, and the rules of the one listener they share."""

    worlds: list[SharedWorld] = field(default_factory=list)

    def by(self, what: str, match: Any) -> SharedWorld:
        for world in self.worlds:
            if match(world):
                return world
        raise UnknownResource(f"no service of the account has this {what}")


@dataclass(kw_only=True)
class SharedWorld(World):
    """A service of the shared account: its own names, calls answered from whichever service they name."""

    account: Account
    environment: dict[str, str]

    def __post_init__(self) -> None:
        self.weights = {self.environment["ECS_TARGET_GROUP_ARN"]: 1, self.environment["WAKER_TARGET_GROUP_ARN"]: 0}
        self.alarms = {self.environment["IDLE_ALARM_NAME"]: "OK", self.environment["WAKE_ALARM_NAME"]: "OK"}
        self.account.worlds.append(self)

    def settings_environment(self) -> dict[str, str]:
        return dict(self.environment)

    def clients(self) -> AwsClients:
        return AwsClients(
            ecs=cast(Any, _SharedEcs(self)),
            elbv2=cast(Any, _SharedElbv2(self)),
            cloudwatch=cast(Any, _SharedCloudWatch(self)),
            ssm=cast(Any, _SharedSsm(self)),
        )

    def snapshot(self) -> tuple[int, dict[str, int], dict[str, str], str]:
        return (self.desired, dict(self.weights), dict(self.alarms), self.parameter)


# Each fake counts and faults the call in the caller's world (its controller made it), then answers it
# from the service the call names, in the shapes of tests/warmkeeper/fake_aws.py.


@dataclass
class _SharedEcs:
    caller: SharedWorld

    def _named(self, cluster: str, service: str) -> SharedWorld:
        return self.caller.account.by(
            f"service {cluster}/{service}",
            lambda w: (w.environment["CLUSTER_NAME"], w.environment["SERVICE_NAME"]) == (cluster, service),
        )

    def describe_services(self, *, cluster: str, services: list[str]) -> dict[str, Any]:
        self.caller.before_call("ecs:DescribeServices", {"cluster": cluster, "services": services})
        return {"services": [_Ecs(self._named(cluster, services[0]))._view()], "failures": []}

    def update_service(self, **params: Any) -> dict[str, Any]:
        self.caller.before_call("ecs:UpdateService", params)
        owner = self._named(params["cluster"], params["service"])
        owner.desired = params["desiredCount"]
        if params.get("forceNewDeployment"):
            owner.deploying = True
        return {"service": _Ecs(owner)._view()}


@dataclass
class _SharedElbv2:
    caller: SharedWorld

    def _rule(self, arn: str) -> SharedWorld:
        return self.caller.account.by(f"rule {arn}", lambda w: w.environment["ROUTE_RULE_ARN"] == arn)

    def describe_rules(self, *, RuleArns: list[str]) -> dict[str, Any]:
        self.caller.before_call("elbv2:DescribeRules", {"RuleArns": RuleArns})
        owner = self._rule(RuleArns[0])
        groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in owner.weights.items()]
        rule = {
            "RuleArn": RuleArns[0],
            "Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": [owner.environment["STACK_NAME"]]}}],
            "Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
            "IsDefault": False,
        }
        return {"Rules": [rule]}

    def modify_rule(self, **params: Any) -> dict[str, Any]:
        self.caller.before_call("elbv2:ModifyRule", params)
        owner = self._rule(params["RuleArn"])
        groups = {g["TargetGroupArn"]: g["Weight"] for g in params["Actions"][0]["ForwardConfig"]["TargetGroups"]}
        # A rule's forward keeps its own two target groups (ECS refuses a target group no rule uses).
        assert set(groups) == set(owner.weights), f"rule {params['RuleArn']} given target groups {sorted(groups)}"
        owner.weights.update(groups)
        return {"Rules": []}

    def describe_target_health(self, *, TargetGroupArn: str) -> dict[str, Any]:
        self.caller.before_call("elbv2:DescribeTargetHealth", {"TargetGroupArn": TargetGroupArn})
        owner = self.caller.account.by(
            f"target group {TargetGroupArn}", lambda w: w.environment["ECS_TARGET_GROUP_ARN"] == TargetGroupArn
        )
        healthy = [
            {"Target": {"Id": f"10.0.1.{i}"}, "TargetHealth": {"State": "healthy"}} for i in range(owner.healthy)
        ]
        return {"TargetHealthDescriptions": healthy}


@dataclass
class _SharedCloudWatch:
    caller: SharedWorld

    def describe_alarms(self, *, AlarmNames: list[str], AlarmTypes: list[str]) -> dict[str, Any]:
        self.caller.before_call("cloudwatch:DescribeAlarms", {"AlarmNames": AlarmNames})
        found = [
            {
                "AlarmName": name,
                "StateValue": world.alarms[name],
                "StateUpdatedTimestamp": world.alarms_changed.get(name, datetime(2026, 11, 1, tzinfo=UTC)),
            }
            for name in AlarmNames
            for world in self.caller.account.worlds
            if name in world.alarms
        ]
        return {"MetricAlarms": found, "CompositeAlarms": []}


@dataclass
class _SharedSsm:
    caller: SharedWorld

    def _named(self, name: str) -> SharedWorld:
        return self.caller.account.by(f"parameter {name}", lambda w: w.environment["STATE_PARAMETER_NAME"] == name)

    def get_parameter(self, *, Name: str) -> dict[str, Any]:
        self.caller.before_call("ssm:GetParameter", {"Name": Name})
        return {"Parameter": {"Name": Name, "Value": self._named(Name).parameter, "Type": "String"}}

    def put_parameter(self, **params: Any) -> dict[str, Any]:
        self.caller.before_call("ssm:PutParameter", params)
        self._named(params["Name"]).parameter = params["Value"]
        return {"Version": 1}


b_triggers = st.sampled_from(
    [
        ReconcileTick(),
        WakeRequested(WakeOrigin.REQUEST, "waiting-page"),
        WakeRequested(WakeOrigin.WAKE_ALARM, "warmkeeper-b-wake"),
        IdleAlarmed(),
        SleepRequested("ops"),
        PinRequested(None, "ops"),
        UnpinRequested("ops"),
        SteadyState(),
    ]
)


class SharedListenerMachine(ControllerMachine):
    """machine.py's controller as service A, and service B beside it on the same listener."""

    def make_world(self) -> WorldLike:
        self.account = Account()
        a = SharedWorld(account=self.account, environment=dict(ENVIRONMENT))
        self.b = SharedWorld(account=self.account, environment=dict(B_ENVIRONMENT))
        self.b_settings = Settings.from_environ(self.b.settings_environment())
        self.b_clients = self.b.clients()
        self.b_expected = self.b.snapshot()
        return a

    @property
    def a(self) -> SharedWorld:
        return cast(SharedWorld, self.world)

    def _sync_b_clock(self) -> datetime:
        self.b.now = self.world.now
        return self.b.now

    # ------------------------------------------------------------ B's own life

    @rule(trigger=b_triggers, fault=faults)
    def b_controller_runs(self, trigger: Trigger, fault: tuple[int, str] | None) -> None:
        now = self._sync_b_clock()
        a_before = self.a.snapshot()
        self.b.fault_at = None
        if fault is not None:
            self.b.arm_fault(*fault)
        try:
            run(trigger, now, self.b_settings, AwsGateway(self.b_clients, self.b_settings))
        except ClientError:
            pass  # an AWS fault: B's invocation failed, Lambda retries or dead-letters it
        finally:
            self.b.fault_at = None
        assert self.a.snapshot() == a_before, f"B's {trigger!r} changed A: {a_before} -> {self.a.snapshot()}"
        self.b_expected = self.b.snapshot()

    @rule(tasks_up=st.booleans(), idle=st.booleans())
    def b_world_moves(self, tasks_up: bool, idle: bool) -> None:
        """B's tasks start or stop as its desired count says; its idle alarm changes with its traffic."""
        a_before = self.a.snapshot()
        if tasks_up:
            self.b.set_healthy(self.b.desired)
        self.b.set_alarm(B_ENVIRONMENT["IDLE_ALARM_NAME"], "ALARM" if idle else "OK")
        assert self.a.snapshot() == a_before
        self.b_expected = self.b.snapshot()

    # ------------------------------------------------------------ the isolation invariant

    @invariant()
    def b_untouched_by_a(self) -> None:
        assert self.b.snapshot() == self.b_expected, f"a step of A changed B: {self.b_expected} -> {self.b.snapshot()}"


TestSharedListener = SharedListenerMachine.TestCase
TestSharedListener.settings = SHARED
