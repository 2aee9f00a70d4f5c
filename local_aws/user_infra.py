"""A user's own infrastructure, made outside template.yaml, as their CDK, Terraform or CloudFormation would.

Through the local AWS APIs only (no template): a VPC with two subnets, an Application Load Balancer whose
HTTP listener answers a fixed 404 by default and has rules of the user's own (``/healthz`` answered by
the load balancer; a parked host whose target group has no target, answered 503 by the load balancer), an
ECS cluster, and per service a task definition, an ip target group, a host rule
that forwards to it (what the user had before Warmkeeper) and a Fargate service registered in it.

Warmkeeper stacks then attach to these (``ExistingClusterName``, ``ExistingServiceName``,
``ExistingTargetGroupArn``, ``ExistingListenerArn``), each for its service's host names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from local_aws.endpoint import LocalEndpoint
from local_aws.stack import create_network

NOT_FOUND_BODY = "no site here (the user's default action)"
USERS_RULE_PATH = "/healthz"
USERS_RULE_BODY = "ok (the user's own rule)"
HEALTH_CHECK_PATH = "/health"
# A host of the user's whose target group has no registered target (a service the user scaled to zero by
# hand): the load balancer itself answers 503 there, counted in its load-balancer-wide 503 metric.
PARKED_HOST = "parked.example"
PARKED_RULE_PRIORITY = 900


@dataclass(frozen=True)
class UserService:
    """One of the user's services: what its Warmkeeper stack is given, and the user's own host rule."""

    name: str
    display_name: str
    host: str
    target_group_arn: str
    task_definition_arn: str
    users_rule_arn: str
    users_rule_priority: int


@dataclass
class UserInfra:
    network: dict[str, Any]
    load_balancer_arn: str
    listener_arn: str
    cluster_name: str
    users_rule_arn: str
    parked_rule_arn: str
    services: dict[str, UserService] = field(default_factory=dict)

    def attach_parameters(self, service: str, rule_priority: int) -> dict[str, str]:
        """The attach-mode parameters of a Warmkeeper stack for ``service`` on the user's listener."""
        chosen = self.services[service]
        return {
            "ExistingClusterName": self.cluster_name,
            "ExistingServiceName": chosen.name,
            "ExistingTargetGroupArn": chosen.target_group_arn,
            "ExistingListenerArn": self.listener_arn,
            "HostNames": chosen.host,
            "RulePriority": str(rule_priority),
        }


def _fixed(status: str, body: str) -> dict[str, Any]:
    return {
        "Type": "fixed-response",
        "FixedResponseConfig": {"StatusCode": status, "ContentType": "text/plain", "MessageBody": body},
    }


def create(endpoint: LocalEndpoint, services: dict[str, tuple[str, str]], name: str = "users") -> UserInfra:
    """The user's infrastructure with ``services``: service name -> (host name, display name)."""
    network = create_network(endpoint)
    elbv2 = endpoint.client("elbv2")
    ecs = endpoint.client("ecs")
    balancer = elbv2.create_load_balancer(Name=f"{name}-alb", Subnets=network["SubnetIds"], Type="application")
    balancer_arn = balancer["LoadBalancers"][0]["LoadBalancerArn"]
    listener_arn = elbv2.create_listener(
        LoadBalancerArn=balancer_arn, Protocol="HTTP", Port=80, DefaultActions=[_fixed("404", NOT_FOUND_BODY)]
    )["Listeners"][0]["ListenerArn"]
    users_rule = elbv2.create_rule(
        ListenerArn=listener_arn,
        Priority=1,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [USERS_RULE_PATH]}}],
        Actions=[_fixed("200", USERS_RULE_BODY)],
    )["Rules"][0]["RuleArn"]
    parked = elbv2.create_target_group(
        Name=f"{name}-parked", Protocol="HTTP", Port=80, VpcId=network["VpcId"], TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    parked_rule = elbv2.create_rule(
        ListenerArn=listener_arn,
        Priority=PARKED_RULE_PRIORITY,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": [PARKED_HOST]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": parked}],
    )["Rules"][0]["RuleArn"]
    cluster = ecs.create_cluster(clusterName=f"{name}-cluster")["cluster"]["clusterName"]
    tasks_group = endpoint.client("ec2").create_security_group(
        GroupName=f"{name}-tasks", Description="the user's tasks", VpcId=network["VpcId"]
    )["GroupId"]
    infra = UserInfra(network, balancer_arn, listener_arn, cluster, users_rule, parked_rule)
    for index, (service, (host, display)) in enumerate(services.items()):
        group = elbv2.create_target_group(
            Name=f"{name}-{service}",
            Protocol="HTTP",
            Port=80,
            VpcId=network["VpcId"],
            TargetType="ip",
            HealthCheckPath=HEALTH_CHECK_PATH,
            HealthCheckIntervalSeconds=5,
            HealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]
        # The user's own host rule, at a priority after the ones Warmkeeper's stacks will take.
        priority = 100 * (index + 1)
        rule = elbv2.create_rule(
            ListenerArn=listener_arn,
            Priority=priority,
            Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": [host]}}],
            Actions=[{"Type": "forward", "TargetGroupArn": group}],
        )["Rules"][0]["RuleArn"]
        definition = ecs.register_task_definition(
            family=f"{name}-{service}",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": "app",
                    "image": f"registry.example/{service}:1",
                    "portMappings": [{"containerPort": 80}],
                    "environment": [{"name": "HEALTH_CHECK_PATH", "value": HEALTH_CHECK_PATH}],
                }
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(
            cluster=cluster,
            serviceName=service,
            taskDefinition=definition,
            desiredCount=1,
            launchType="FARGATE",
            loadBalancers=[{"targetGroupArn": group, "containerName": "app", "containerPort": 80}],
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": network["SubnetIds"],
                    "securityGroups": [tasks_group],
                    "assignPublicIp": "DISABLED",
                }
            },
        )
        infra.services[service] = UserService(service, display, host, group, definition, rule, priority)
    return infra


__all__ = ["UserInfra", "UserService", "create"]
