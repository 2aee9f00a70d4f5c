"""Where the service's traffic goes: the controller's one lever besides desiredCount, behind one seam.

A front door reads the current weights (service or waker) and routes all traffic to one side. The decisions
never know which front door is in use; the settings choose it. Today there is one: a weighted forward in a
listener rule Warmkeeper owns, the same on a load balancer of the stack and on a listener shared with
other services (the listener's default action and other rules are never touched).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from warmkeeper.domain.model import Weights
from warmkeeper.models.settings import Settings
from warmkeeper_shared.state import Route

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client


class AwsStateError(RuntimeError):
    """AWS answered, but not with what the stack should look like (a missing service, rule...)."""


class FrontDoor(Protocol):
    # The operation names each method calls, for the gateway's record of calls.
    read_operation: ClassVar[str]
    write_operation: ClassVar[str]

    def weights(self) -> Weights: ...

    def route(self, to: Route) -> None: ...


@dataclass(frozen=True)
class AlbRuleFrontDoor:
    """The weighted forward of the listener rule Warmkeeper owns: the service's target group and the waker's."""

    elbv2: ElasticLoadBalancingv2Client
    rule_arn: str
    ecs_target_group_arn: str
    waker_target_group_arn: str

    read_operation: ClassVar[str] = "elbv2:DescribeRules"
    write_operation: ClassVar[str] = "elbv2:ModifyRule"

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


def front_door_for(settings: Settings, elbv2: ElasticLoadBalancingv2Client) -> FrontDoor:
    """The front door the settings name (an ALB rule is the only one so far)."""
    return AlbRuleFrontDoor(
        elbv2=elbv2,
        rule_arn=settings.route_rule_arn,
        ecs_target_group_arn=settings.ecs_target_group_arn,
        waker_target_group_arn=settings.waker_target_group_arn,
    )
