"""Each gap of local_aws.bridges exists in moto without the bridge, and each bridge gives AWS's behaviour."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from local_aws import bridges
from local_aws.endpoint import LocalEndpoint
from tests.local_aws.tiny_templates import GAPS, attached_rule, template, update_tag, users_listener

ROOT = Path(__file__).resolve().parents[2]


def _name() -> str:
    return "b" + uuid.uuid4().hex[:6]


def _create(endpoint: LocalEndpoint, gap: str) -> str:
    name = _name()
    cloudformation = endpoint.client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template(gap, name)))
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    return name


@pytest.fixture(scope="module")
def unbridged() -> dict[str, Any]:
    """What moto does with each tiny template in a process where no bridge is installed."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.local_aws.gap_probe"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    observed: dict[str, Any] = json.loads(result.stdout)
    return observed


def test_every_bridge_is_installed_and_named_for_a_probed_gap(endpoint: LocalEndpoint) -> None:
    # In any order: a test may install some bridges (the http-api ones) before the stack installs them all.
    assert sorted(bridges.installed()) == sorted(bridges.BRIDGES)
    assert set(bridges.BRIDGES) == {
        *GAPS,
        "alarm_state_change_events",
        "events_lambda_targets",
        "listener_rule_delete",
        "target_group_delete",
        "service_running_count",
        "stack_update_dependents",
        "task_definition_update_casing",
        # The http-api front door's gaps: tests/local_aws/test_http_api_bridges.py.
        "http_api_models",
        "cloud_map_models",
        "service_registries",
        "vpc_link_status",
        "ecs_task_states",
    }


def test_gaps_exist_without_the_bridges(unbridged: dict[str, Any]) -> None:
    assert unbridged["alarm_model"] == {"error": None, "alarms": []}
    assert unbridged["secret_model"]["secrets"] == []
    assert "TargetGroupArn" in unbridged["listener_forward_config"]["error"]
    assert unbridged["service_default_desired_count"]["desiredCount"] == 0
    assert unbridged["service_running_count"] == {"runningCountRightAfterUpdate": 3}
    assert "get_cfn_attribute" in unbridged["target_group_attributes"]["error"]
    assert unbridged["stack_update_dependents"] == {
        "error": None,
        "serviceImage": "app:1",
        "serviceFollowsNewRevision": False,
    }
    # The image (and name) of the container are lost in the new revision.
    assert "image" not in unbridged["task_definition_update_casing"]["keys"]
    assert not str(unbridged["load_balancer_full_name"]["value"]).startswith("app/")
    assert unbridged["alarm_state_change_events"] == {"state": "ALARM", "events": 0}
    assert "NotImplementedError" in unbridged["events_lambda_targets"]["error"]
    assert "TypeError" in unbridged["select_index_intrinsic"]["error"]
    assert "'<' not supported between instances of" in unbridged["listener_rule_priority_type"]["error"]
    # The deleted stack's rule and waker target group are still there.
    assert unbridged["stack_delete"] == {"rules": ["110", "default"], "targetGroups": ["del-app", "del-waker"]}


def test_alarm_model_creates_the_metric_math_alarm_in_insufficient_data(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "alarm_model")
    alarm = endpoint.client("cloudwatch").describe_alarms(AlarmNames=[f"{name}-idle"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["EvaluationPeriods"] == 3
    assert alarm["DatapointsToAlarm"] == 3
    assert alarm["TreatMissingData"] == "breaching"
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    assert metrics["activity"]["Expression"] == "FILL(requests, 0)"
    dimension = metrics["requests"]["MetricStat"]["Metric"]["Dimensions"][0]
    assert re.fullmatch(rf"targetgroup/{name}-a/[0-9a-f]{{16}}", dimension["Value"])
    resources = endpoint.client("cloudformation").describe_stack_resources(StackName=name)["StackResources"]
    assert {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}["Alarm"] == f"{name}-idle"


def test_alarm_model_follows_a_rename_and_a_delete(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "alarm_model")
    cloudwatch = endpoint.client("cloudwatch")
    cloudformation = endpoint.client("cloudformation")
    renamed = template("alarm_model", name)
    renamed["Resources"]["Alarm"]["Properties"]["AlarmName"] = f"{name}-quiet"
    cloudformation.update_stack(StackName=name, TemplateBody=json.dumps(renamed))
    names = {a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNamePrefix=name)["MetricAlarms"]}
    assert names == {f"{name}-quiet"}
    cloudformation.delete_stack(StackName=name)
    assert cloudwatch.describe_alarms(AlarmNamePrefix=name)["MetricAlarms"] == []


def test_alarm_model_update_keeps_the_state_as_aws_does(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "alarm_model")
    cloudwatch = endpoint.client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName=f"{name}-idle", StateValue="ALARM", StateReason="test")
    changed = template("alarm_model", name)
    changed["Resources"]["Alarm"]["Properties"]["EvaluationPeriods"] = 4
    endpoint.client("cloudformation").update_stack(StackName=name, TemplateBody=json.dumps(changed))
    alarm = cloudwatch.describe_alarms(AlarmNames=[f"{name}-idle"])["MetricAlarms"][0]
    assert (alarm["EvaluationPeriods"], alarm["StateValue"]) == (4, "ALARM")


def test_secret_model_generates_the_token_and_refs_to_its_arn(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "secret_model")
    value = endpoint.client("secretsmanager").get_secret_value(SecretId=f"{name}/token")
    assert re.fullmatch(r"[A-Za-z0-9]{48}", value["SecretString"])
    referenced = endpoint.client("ssm").get_parameter(Name=f"/{name}/token-arn")["Parameter"]["Value"]
    assert referenced == value["ARN"]


def test_listener_forward_config_keeps_both_weighted_target_groups(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "listener_forward_config")
    elbv2 = endpoint.client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=[f"{name}-alb"])["LoadBalancers"][0]
    listener = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"][0]
    (action,) = listener["DefaultActions"]
    weights = {tg["TargetGroupArn"].split("/")[1]: tg["Weight"] for tg in action["ForwardConfig"]["TargetGroups"]}
    assert weights == {f"{name}-a": 1, f"{name}-b": 0}


def test_service_default_desired_count_is_one_and_updates_leave_it_alone(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "service_default_desired_count")
    ecs = endpoint.client("ecs")
    assert ecs.describe_services(cluster=name, services=[name])["services"][0]["desiredCount"] == 1
    ecs.update_service(cluster=name, service=name, desiredCount=0)
    deployed = template("service_default_desired_count", name)
    deployed["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Image"] = "app:2"
    endpoint.client("cloudformation").update_stack(StackName=name, TemplateBody=json.dumps(deployed))
    assert ecs.describe_services(cluster=name, services=[name])["services"][0]["desiredCount"] == 0


def test_service_running_count_follows_tasks_not_the_desired_count(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "service_default_desired_count")
    ecs = endpoint.client("ecs")
    ecs.update_service(cluster=name, service=name, desiredCount=3)
    service = ecs.describe_services(cluster=name, services=[name])["services"][0]
    assert (service["desiredCount"], service["runningCount"], service["pendingCount"]) == (3, 0, 3)


def test_stack_update_dependents_roll_a_new_image_tag_into_the_service(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "stack_update_dependents")
    ecs = endpoint.client("ecs")
    first = ecs.describe_services(cluster=name, services=[name])["services"][0]["taskDefinition"]
    update_tag(endpoint.client("cloudformation"), "stack_update_dependents", name, "2")
    service = ecs.describe_services(cluster=name, services=[name])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert service["taskDefinition"] != first
    assert definition["containerDefinitions"][0]["image"] == "app:2"
    assert service["desiredCount"] == 1


def test_target_group_attributes_answer_the_full_name(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "target_group_attributes")
    value = endpoint.client("ssm").get_parameter(Name=f"/{name}/target-group")["Parameter"]["Value"]
    arn = endpoint.client("elbv2").describe_target_groups(Names=[f"{name}-a"])["TargetGroups"][0]["TargetGroupArn"]
    assert arn.endswith(":" + value)
    assert value.startswith(f"targetgroup/{name}-a/")


def test_load_balancer_full_name_is_the_metric_dimension_value(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "load_balancer_full_name")
    value = endpoint.client("ssm").get_parameter(Name=f"/{name}/load-balancer")["Parameter"]["Value"]
    arn = endpoint.client("elbv2").describe_load_balancers(Names=[f"{name}-alb"])["LoadBalancers"][0]["LoadBalancerArn"]
    assert arn.endswith(":loadbalancer/" + value)
    assert value.startswith(f"app/{name}-alb/")


def test_alarm_state_change_events_report_real_transitions_only(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "alarm_model")
    seen: list[bridges.AlarmTransition] = []
    bridges.add_alarm_listener(seen.append)
    try:
        cloudwatch = endpoint.client("cloudwatch")
        cloudwatch.set_alarm_state(AlarmName=f"{name}-idle", StateValue="OK", StateReason="first")
        cloudwatch.set_alarm_state(AlarmName=f"{name}-idle", StateValue="OK", StateReason="same state")
        cloudwatch.set_alarm_state(AlarmName=f"{name}-idle", StateValue="ALARM", StateReason="idle")
    finally:
        bridges.remove_alarm_listener(seen.append)
    mine = [t for t in seen if t.alarm_name == f"{name}-idle"]
    assert [(t.previous_value, t.value, t.reason) for t in mine] == [
        ("INSUFFICIENT_DATA", "OK", "first"),
        ("OK", "ALARM", "idle"),
    ]
    assert mine[1].previous_reason == "same state"
    assert {m["id"] for m in mine[1].configuration_metrics} == {"requests", "activity"}
    assert mine[1].alarm_arn.endswith(f":alarm:{name}-idle")


def test_events_lambda_targets_leave_the_function_to_the_local_bus_and_feed_the_other_targets(
    endpoint: LocalEndpoint,
) -> None:
    name = _name()
    sqs = endpoint.client("sqs")
    events = endpoint.client("events")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(
        Rule=name,
        Targets=[
            {"Id": "function", "Arn": f"arn:aws:lambda:us-east-1:123456789012:function:{name}"},
            {"Id": "queue", "Arn": queue_arn},
        ],
    )
    answer = events.put_events(Entries=[{"Source": name, "DetailType": "test", "Detail": '{"n": 1}'}])
    assert answer["FailedEntryCount"] == 0
    (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"])["detail"] == {"n": 1}
    targets = events.list_targets_by_rule(Rule=name)["Targets"]
    assert [t["Id"] for t in targets] == ["function", "queue"]


def test_listener_rule_and_target_group_delete_with_the_stack_leaving_the_users_listener(
    endpoint: LocalEndpoint,
) -> None:
    name = _name()
    elbv2 = endpoint.client("elbv2")
    listener, group = users_listener(elbv2, endpoint.client("ec2"), name)
    cloudformation = endpoint.client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(attached_rule(name, listener, group)))
    assert sorted(r["Priority"] for r in elbv2.describe_rules(ListenerArn=listener)["Rules"]) == ["110", "default"]
    cloudformation.delete_stack(StackName=name)
    (default,) = elbv2.describe_rules(ListenerArn=listener)["Rules"]
    assert default["IsDefault"]
    assert default["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    groups = {g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]}
    assert f"{name}-app" in groups
    assert f"{name}-waker" not in groups


def test_select_index_intrinsic_resolves_a_ref_index(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "select_index_intrinsic")
    assert endpoint.client("ssm").get_parameter(Name=f"/{name}/next")["Parameter"]["Value"] == "3"


def test_listener_rule_priority_type_orders_literal_and_selected_priorities(endpoint: LocalEndpoint) -> None:
    name = _create(endpoint, "listener_rule_priority_type")
    elbv2 = endpoint.client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=[f"{name}-alb"])["LoadBalancers"][0]
    listener = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"][0]
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    assert [r["Priority"] for r in rules] == ["1", "2", "default"]
