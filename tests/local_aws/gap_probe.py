"""Shows, in a process where no bridge is installed, that each gap of local_aws.bridges exists in moto.

Run as ``python -m tests.local_aws.gap_probe``; prints one JSON object: gap name -> what moto did.
When moto closes a gap, tests/local_aws/test_bridges.py says so and the bridge can go.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from typing import Any

import boto3
from moto import mock_aws

from tests.local_aws.tiny_templates import GAPS, attached_rule, template, update_tag, users_listener

REGION = "us-east-1"


def _create(gap: str, name: str) -> str | None:
    """Creates the tiny stack of ``gap``; returns the error text, if any."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    try:
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template(gap, name)))
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def probe() -> dict[str, Any]:
    observed: dict[str, Any] = {}
    for index, gap in enumerate(GAPS):
        name = f"g{index}"
        error = _create(gap, name)
        if gap == "alarm_model":
            alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]
            observed[gap] = {"error": error, "alarms": [a["AlarmName"] for a in alarms]}
        elif gap == "secret_model":
            secrets = boto3.client("secretsmanager", region_name=REGION).list_secrets()["SecretList"]
            observed[gap] = {"error": error, "secrets": [s["Name"] for s in secrets]}
        elif gap == "service_default_desired_count":
            ecs = boto3.client("ecs", region_name=REGION)
            service = ecs.describe_services(cluster=name, services=[name])["services"][0]
            observed[gap] = {"error": error, "desiredCount": service["desiredCount"]}
            ecs.update_service(cluster=name, service=name, desiredCount=3)
            service = ecs.describe_services(cluster=name, services=[name])["services"][0]
            observed["service_running_count"] = {"runningCountRightAfterUpdate": service["runningCount"]}
        elif gap == "stack_update_dependents":
            update_tag(boto3.client("cloudformation", region_name=REGION), gap, name, "2")
            ecs = boto3.client("ecs", region_name=REGION)
            service = ecs.describe_services(cluster=name, services=[name])["services"][0]
            image = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"][
                "containerDefinitions"
            ][0]["image"]
            observed[gap] = {"error": error, "serviceImage": image}
            changed = template(gap, name)
            changed["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Image"] = "app:3"
            boto3.client("cloudformation", region_name=REGION).update_stack(
                StackName=name, TemplateBody=json.dumps(changed)
            )
            service = ecs.describe_services(cluster=name, services=[name])["services"][0]
            newest = ecs.list_task_definitions(familyPrefix=name)["taskDefinitionArns"][-1]
            container = ecs.describe_task_definition(taskDefinition=newest)["taskDefinition"]["containerDefinitions"][0]
            observed["task_definition_update_casing"] = {"keys": sorted(container)}
            observed["stack_update_dependents"]["serviceFollowsNewRevision"] = service["taskDefinition"] == newest
        elif gap in ("target_group_attributes", "load_balancer_full_name"):
            suffix = "target-group" if gap == "target_group_attributes" else "load-balancer"
            parameters = boto3.client("ssm", region_name=REGION).describe_parameters()["Parameters"]
            names = {p["Name"] for p in parameters}
            value = None
            if f"/{name}/{suffix}" in names:
                value = boto3.client("ssm", region_name=REGION).get_parameter(Name=f"/{name}/{suffix}")["Parameter"][
                    "Value"
                ]
            observed[gap] = {"error": error, "value": value}
        else:
            observed[gap] = {"error": error}
    observed["alarm_state_change_events"] = _probe_alarm_events()
    observed["events_lambda_targets"] = _probe_lambda_target()
    observed["stack_delete"] = _probe_stack_delete()
    return observed


def _probe_stack_delete() -> dict[str, Any]:
    """A stack that added a rule and a target group to a user's listener, then deleted."""
    elbv2 = boto3.client("elbv2", region_name=REGION)
    listener, group = users_listener(elbv2, boto3.client("ec2", region_name=REGION), "del")
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName="del", TemplateBody=json.dumps(attached_rule("del", listener, group)))
    cloudformation.delete_stack(StackName="del")
    rules = elbv2.describe_rules(ListenerArn=listener)["Rules"]
    return {
        "rules": sorted(r["Priority"] for r in rules),
        "targetGroups": sorted(
            g["TargetGroupName"]
            for g in elbv2.describe_target_groups()["TargetGroups"]
            if g["TargetGroupName"].startswith("del-")
        ),
    }


def _probe_lambda_target() -> dict[str, Any]:
    """A rule with a Lambda target and a queue target; an event that matches it."""
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="lambda-rule-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="to-lambda", EventPattern=json.dumps({"source": ["probe"]}))
    events.put_targets(
        Rule="to-lambda",
        Targets=[
            {"Id": "function", "Arn": f"arn:aws:lambda:{REGION}:123456789012:function:probe"},
            {"Id": "queue", "Arn": queue_arn},
        ],
    )
    try:
        events.put_events(Entries=[{"Source": "probe", "DetailType": "probe", "Detail": "{}"}])
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}
    return {"error": None}


def _probe_alarm_events() -> dict[str, Any]:
    """An alarm that goes to ALARM, and a rule for alarm state changes with a queue as its target."""
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="alarm-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="alarms", EventPattern=json.dumps({"source": ["aws.cloudwatch"]}))
    events.put_targets(Rule="alarms", Targets=[{"Id": "queue", "Arn": queue_arn}])
    cloudwatch.put_metric_alarm(
        AlarmName="probe",
        MetricName="m",
        Namespace="n",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="probe", StateValue="ALARM", StateReason="probe")
    state = cloudwatch.describe_alarms(AlarmNames=["probe"])["MetricAlarms"][0]["StateValue"]
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])
    return {"state": state, "events": len(messages)}


def main() -> int:
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    if "local_aws.bridges" in sys.modules:
        raise SystemExit("the probe must run where no bridge is installed")
    with mock_aws():
        result = probe()
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
