"""The local stack is template.yaml: every resource created (or completed from its properties), names and
references resolved by CloudFormation, and an edited copy of the template gives an edited local stack."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_aws.clock import Clock
from local_aws.endpoint import LocalEndpoint
from local_aws.runtime import LocalAws
from local_aws.stack import StackError, deploy
from tests.local_aws.conftest import local_aws


@pytest.fixture(scope="module")
def local(endpoint: LocalEndpoint) -> Iterator[LocalAws]:
    with local_aws(endpoint) as running:
        yield running


def test_every_resource_of_the_template_exists_locally(local: LocalAws) -> None:
    stack = local.stack
    assert stack.not_modelled == {}
    created = set(stack.physical_ids)
    completed = {entry.split(":")[0] for entry in stack.created_after_stack}
    resources = stack.translated["Resources"]
    conditions_false = {name for name in resources if not stack.condition_holds(name)}
    # The full stack: no certificate, no e-mail, no budget, nothing attached.
    assert {"HttpsListener", "AlertTopic", "Budget", "TaskIngressFromSharedLoadBalancer"} <= conditions_false
    # WaitConditionHandles (conditional DependsOn): nothing to create.
    inert = {name for name, r in resources.items() if r["Type"] == "AWS::CloudFormation::WaitConditionHandle"}
    # moto gives permissions, layer versions and security group ingress rules no physical id: they are
    # checked through their APIs.
    permissions = {
        name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Permission" and name not in conditions_false
    }
    layers = {name for name, r in resources.items() if r["Type"] == "AWS::Lambda::LayerVersion"}
    ingress = {
        name
        for name, r in resources.items()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress" and name not in conditions_false
    }
    rest = set(resources) - created - completed - conditions_false - inert
    assert rest == permissions | layers | ingress
    ec2 = stack.endpoint.client("ec2")
    for name in ingress:
        source = resources[name]["Properties"]["SourceSecurityGroupId"]["Ref"]
        (group,) = ec2.describe_security_groups(GroupIds=[stack.physical_ids["TaskSecurityGroup"]])["SecurityGroups"]
        sources = {pair["GroupId"] for rule in group["IpPermissions"] for pair in rule.get("UserIdGroupPairs", [])}
        assert stack.physical_ids[source] in sources
    assert {"Service", "HttpListener", "IdleAlarm", "WakeAlarm", "HeartbeatTokenSecret"} <= created
    lambda_client = stack.endpoint.client("lambda")
    policies = {
        logical_id: json.loads(lambda_client.get_policy(FunctionName=function.name)["Policy"])["Statement"]
        for logical_id, function in stack.functions.items()
    }
    assert len(policies["WarmkeeperFunction"]) + len(policies["HeartbeatFunction"]) == len(permissions)
    assert [s["Principal"] for s in policies["HeartbeatFunction"]] == [
        {"Service": "elasticloadbalancing.amazonaws.com"}
    ]
    (layer,) = lambda_client.list_layers()["Layers"]
    assert layer["LayerName"].startswith("warmkeeper-SharedLayer")


def test_alarms_are_the_templates_with_resolved_dimensions(local: LocalAws) -> None:
    cloudwatch = local.stack.endpoint.client("cloudwatch")
    (idle,) = cloudwatch.describe_alarms(AlarmNames=["warmkeeper-idle"])["MetricAlarms"]
    requests = next(m for m in idle["Metrics"] if m["Id"] == "requests")
    dimensions = {d["Name"]: d["Value"] for d in requests["MetricStat"]["Metric"]["Dimensions"]}
    assert local.stack.outputs["EcsTargetGroupArn"].endswith(":" + dimensions["TargetGroup"])
    assert local.stack.physical_ids["LoadBalancer"].endswith(":loadbalancer/" + dimensions["LoadBalancer"])
    assert idle["EvaluationPeriods"] == 5
    assert (
        next(m for m in idle["Metrics"] if m.get("ReturnData"))["Expression"]
        == "FILL(requests, 0) + FILL(heartbeats, 0)"
    )


def test_functions_get_the_templates_environment_with_this_stacks_names(local: LocalAws) -> None:
    outputs = local.stack.outputs
    controller = local.stack.function("WarmkeeperFunction").environment
    heartbeat = local.stack.function("HeartbeatFunction").environment
    assert controller["ROUTE_RULE_ARN"] == outputs["RouteRuleArn"]
    assert controller["WAKER_TARGET_GROUP_ARN"] == outputs["WakerTargetGroupArn"]
    assert controller["IDLE_ALARM_NAME"] == "warmkeeper-idle"
    assert controller["IDLE_MINUTES"] == "5"
    assert heartbeat["TOKEN_SECRET_ARN"] == outputs["HeartbeatTokenSecretArn"]
    assert heartbeat["STATE_PARAMETER_NAME"] == "/warmkeeper/warmkeeper/state"
    assert controller["AWS_ENDPOINT_URL"] == heartbeat["AWS_ENDPOINT_URL"] == ""


def test_what_moto_skips_is_completed_from_the_translated_properties(local: LocalAws) -> None:
    endpoint = local.stack.endpoint
    elbv2 = endpoint.client("elbv2")
    waker = local.stack.outputs["WakerTargetGroupArn"]
    (target,) = elbv2.describe_target_health(TargetGroupArn=waker)["TargetHealthDescriptions"]
    assert target["Target"]["Id"] == local.stack.function("HeartbeatFunction").arn
    attributes = {
        a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(TargetGroupArn=waker)["Attributes"]
    }
    assert attributes["lambda.multi_value_headers.enabled"] == "true"
    ecs_group = local.stack.outputs["EcsTargetGroupArn"]
    ecs_attributes = {
        a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(TargetGroupArn=ecs_group)["Attributes"]
    }
    assert ecs_attributes["deregistration_delay.timeout_seconds"] == "15"
    config = endpoint.client("lambda").get_function_event_invoke_config(
        FunctionName=local.stack.function("WarmkeeperFunction").name
    )
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"]["Destination"].endswith(
        ":" + local.stack.outputs["DeadLetterQueueUrl"].rsplit("/", 1)[1]
    )


def test_rules_carry_the_templates_patterns(local: LocalAws) -> None:
    events = local.stack.endpoint.client("events")
    name = local.stack.physical_ids["WarmkeeperFunctionAlarmStateChanges"]
    pattern = json.loads(events.describe_rule(Name=name)["EventPattern"])
    assert pattern["resources"] == [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:warmkeeper-idle",
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:warmkeeper-wake",
    ]
    requests = json.loads(
        events.describe_rule(Name=local.stack.physical_ids["WarmkeeperFunctionRequests"])["EventPattern"]
    )
    assert requests == {"source": ["warmkeeper"], "detail": {"stack": ["warmkeeper"]}}


def test_a_template_that_is_not_one_is_a_clear_error(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text("just: text\n", encoding="utf-8")
    with pytest.raises(StackError, match="no Resources"):
        deploy(endpoint, template_path=broken)
    with pytest.raises(StackError, match="cannot read"):
        deploy(endpoint, template_path=tmp_path / "missing.yaml")


def test_a_local_aws_that_cannot_build_stops_its_endpoint(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text("Resources:\n  Odd:\n    Type: AWS::Serverless::Function\n    Properties: {}\n", encoding="utf-8")
    threads_before = set(threading.enumerate())
    with pytest.raises(StackError), LocalAws(template_path=broken, clock=Clock(speed=0)):
        pass
    assert set(threading.enumerate()) - threads_before == set()
