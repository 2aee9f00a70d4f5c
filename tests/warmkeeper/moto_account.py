"""A moto account shaped like a stack built from template.yaml, and the simulations moto needs.

moto runs no tasks and leaves the primary deployment's rolloutState as it was created. What a real
account would do on its own (a task becoming a healthy target, a deployment finishing) is done here
explicitly by the functions named ``simulate_*``, never by relaxing the controller's checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import boto3
from moto.ecs.models import ecs_backends

from tests.warmkeeper.helpers import ACCOUNT, ENVIRONMENT, REGION

_CLIENTS: dict[str, Any] = {}


def _client(name: str) -> Any:
    """Test-side clients, made once: creating a client costs more than a moto call."""
    if name not in _CLIENTS:
        _CLIENTS[name] = boto3.client(name, region_name=REGION)  # type: ignore[call-overload]
    return _CLIENTS[name]


CLUSTER = "warmkeeper"
SERVICE = "warmkeeper"
PARAMETER = "/warmkeeper/warmkeeper/state"


@dataclass(frozen=True)
class MotoAccount:
    listener_arn: str
    rule_arn: str
    ecs_tg_arn: str
    waker_tg_arn: str

    @property
    def environment(self) -> dict[str, str]:
        return ENVIRONMENT | {
            "ROUTE_RULE_ARN": self.rule_arn,
            "ECS_TARGET_GROUP_ARN": self.ecs_tg_arn,
            "WAKER_TARGET_GROUP_ARN": self.waker_tg_arn,
        }

    # ------------------------------------------------------------ reading the outcome

    def desired_count(self) -> int:
        service = _client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])
        return int(service["services"][0]["desiredCount"])

    def weights(self) -> tuple[int, int]:
        rule = _client("elbv2").describe_rules(RuleArns=[self.rule_arn])
        groups = rule["Rules"][0]["Actions"][0]["ForwardConfig"]["TargetGroups"]
        by_arn = {g["TargetGroupArn"]: g.get("Weight", 1) for g in groups}
        return by_arn[self.ecs_tg_arn], by_arn[self.waker_tg_arn]

    def state_raw(self) -> str:
        answer = _client("ssm").get_parameter(Name=PARAMETER)
        return str(answer["Parameter"]["Value"])

    def state(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.state_raw())
        return parsed

    # ------------------------------------------------------------ arranging a scene

    def put_state(self, document: dict[str, Any]) -> None:
        self.put_state_raw(json.dumps(document))

    def put_state_raw(self, value: str) -> None:
        _client("ssm").put_parameter(Name=PARAMETER, Value=value, Type="String", Overwrite=True)

    def set_alarm(self, name: str, value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]) -> None:
        _client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=value, StateReason="set by the test")

    def set_desired_count(self, count: int) -> None:
        """An operator (or AWS at service creation) scaling the service by hand."""
        _client("ecs").update_service(cluster=CLUSTER, service=SERVICE, desiredCount=count)

    def set_weights(self, ecs: int, waker: int) -> None:
        _client("elbv2").modify_rule(
            RuleArn=self.rule_arn, Actions=_forward(self.ecs_tg_arn, ecs, self.waker_tg_arn, waker)
        )

    def default_action(self) -> Any:
        """The listener's default action, which the controller must never change."""
        listener = _client("elbv2").describe_listeners(ListenerArns=[self.listener_arn])
        return listener["Listeners"][0]["DefaultActions"]

    def simulate_task_healthy(self, ip: str = "10.0.1.10") -> None:
        """A task came up and passed its health check: moto reports a registered target healthy at once."""
        _client("elbv2").register_targets(TargetGroupArn=self.ecs_tg_arn, Targets=[{"Id": ip, "Port": 80}])

    def simulate_tasks_gone(self) -> None:
        elbv2 = _client("elbv2")
        targets = elbv2.describe_target_health(TargetGroupArn=self.ecs_tg_arn)["TargetHealthDescriptions"]
        if targets:
            elbv2.deregister_targets(
                TargetGroupArn=self.ecs_tg_arn, Targets=[{"Id": t["Target"]["Id"]} for t in targets]
            )

    def simulate_deployment(self, rollout_state: str) -> None:
        """Set the primary deployment's rolloutState, which moto never advances by itself."""
        backend = ecs_backends[ACCOUNT][REGION]
        service = backend.services[f"{CLUSTER}:{SERVICE}"]
        for deployment in service.deployments:
            deployment["rolloutState"] = rollout_state


NOT_FOUND: Any = [
    {
        "Type": "fixed-response",
        "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "Not found"},
    }
]


def _forward(ecs_arn: str, ecs: int, waker_arn: str, waker: int) -> Any:
    return [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": ecs_arn, "Weight": ecs},
                    {"TargetGroupArn": waker_arn, "Weight": waker},
                ]
            },
        }
    ]


def build_account() -> MotoAccount:
    """Inside an active ``mock_aws``: the resources of the template the controller touches.

    The service starts awake (desiredCount 1, traffic on ECS, a healthy target, deployment COMPLETED), as a
    freshly deployed stack is in AWS.
    """
    ec2 = _client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    group = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
    elbv2 = _client("elbv2")
    alb = elbv2.create_load_balancer(Name="warmkeeper-alb", Subnets=subnets, SecurityGroups=[group])
    alb_arn = alb["LoadBalancers"][0]["LoadBalancerArn"]
    ecs_tg = elbv2.create_target_group(
        Name="warmkeeper-ecs", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip", HealthCheckIntervalSeconds=5
    )["TargetGroups"][0]["TargetGroupArn"]
    waker_tg = elbv2.create_target_group(Name="warmkeeper-waker", TargetType="lambda")["TargetGroups"][0][
        "TargetGroupArn"
    ]
    # As the template builds it: a fixed 404 default action, and the rule whose weights the controller flips.
    listener = elbv2.create_listener(LoadBalancerArn=alb_arn, Protocol="HTTP", Port=80, DefaultActions=NOT_FOUND)[
        "Listeners"
    ][0]["ListenerArn"]
    rule = elbv2.create_rule(
        ListenerArn=listener,
        Priority=3,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
        Actions=_forward(ecs_tg, 1, waker_tg, 0),
    )["Rules"][0]["RuleArn"]

    ecs = _client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="warmkeeper",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "caddy", "image": "caddy:2", "essential": True, "portMappings": [{"containerPort": 80}]}
        ],
    )
    # No desiredCount, as in the template.
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition="warmkeeper",
        launchType="FARGATE",
        loadBalancers=[{"targetGroupArn": ecs_tg, "containerName": "caddy", "containerPort": 80}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group]}},
        deploymentConfiguration={
            "minimumHealthyPercent": 100,
            "maximumPercent": 200,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
    )

    cloudwatch = _client("cloudwatch")
    for name, metric in (("warmkeeper-idle", "RequestCount"), ("warmkeeper-wake", "HTTPCode_ELB_503_Count")):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Metrics=[
                {
                    "Id": "m",
                    "ReturnData": False,
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": metric},
                        "Period": 60,
                        "Stat": "Sum",
                    },
                },
                {"Id": "e", "Expression": "FILL(m, 0)", "ReturnData": True},
            ],
            ComparisonOperator="LessThanOrEqualToThreshold" if name.endswith("idle") else "GreaterThanThreshold",
            Threshold=0,
            EvaluationPeriods=5,
            TreatMissingData="breaching",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="created by the test")
    _client("ssm").put_parameter(Name=PARAMETER, Value="{}", Type="String")

    account = MotoAccount(listener_arn=listener, rule_arn=rule, ecs_tg_arn=ecs_tg, waker_tg_arn=waker_tg)
    # AWS starts a service without DesiredCount at 1 task; moto at 0. Done by hand, as AWS would.
    account.set_desired_count(1)
    account.simulate_deployment("COMPLETED")
    account.simulate_task_healthy()
    return account
