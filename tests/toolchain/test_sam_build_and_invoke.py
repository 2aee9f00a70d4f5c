"""Smoke tests of the project's own template: `sam build`, then each function through `sam local invoke` in
the local Lambda image, with fixtures from events/ and a moto server the containers reach."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from samcli.yamlhelper import yaml_parse

from tests.samlocal import EVENTS_DIR, REGION, SamLocal, stack_env

pytestmark = pytest.mark.docker

FUNCTIONS = {"WarmkeeperFunction": "warmkeeper", "HeartbeatFunction": "heartbeat"}


def _fixture_token() -> str:
    """The bearer token the ping fixture presents (see events/heartbeat/README.md)."""
    event = json.loads((EVENTS_DIR / "heartbeat" / "ping.json").read_text())
    headers = {name.lower(): values for name, values in event["multiValueHeaders"].items()}
    authorization: str = headers["authorization"][0]
    scheme, token = authorization.split(" ", 1)
    assert scheme.lower() == "bearer"
    return token


def _sleeping_service(endpoint: str) -> dict[str, str]:
    """The pieces of a sleeping `warmkeeper` stack the HTTP face reads; returns the functions' environment."""
    env = stack_env(endpoint)
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name=REGION)
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION)
    ecs = boto3.client("ecs", endpoint_url=endpoint, region_name=REGION)
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION)
    elbv2 = boto3.client("elbv2", endpoint_url=endpoint, region_name=REGION)
    ssm.put_parameter(Name=env["STATE_PARAMETER_NAME"], Value="{}", Type="String")
    secrets.create_secret(Name=env["TOKEN_SECRET_ARN"], SecretString=_fixture_token())
    ecs.create_cluster(clusterName=env["CLUSTER_NAME"])
    ecs.register_task_definition(
        family="warmkeeper", containerDefinitions=[{"name": "caddy", "image": "caddy:2", "memory": 128}]
    )
    ecs.create_service(
        cluster=env["CLUSTER_NAME"], serviceName=env["SERVICE_NAME"], taskDefinition="warmkeeper", desiredCount=0
    )
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = elbv2.create_target_group(Name="warmkeeper-ecs", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    # moto makes up the ARN's suffix; the function must look at the target group that exists.
    env["ECS_TARGET_GROUP_ARN"] = group["TargetGroups"][0]["TargetGroupArn"]
    return env


def _header(response: dict[str, Any], name: str) -> list[str]:
    headers: dict[str, list[str]] = response["multiValueHeaders"]
    return next((values for key, values in headers.items() if key.lower() == name.lower()), [])


def test_sam_build_packages_each_function_and_the_shared_layer(sam_local: SamLocal) -> None:
    assert sam_local.build_dir is not None
    build_dir: Path = sam_local.build_dir
    built = yaml_parse(sam_local.built_template.read_text())
    resources = built["Resources"]
    for function, package in FUNCTIONS.items():
        assert resources[function]["Properties"]["CodeUri"] == function
        code = build_dir / function
        assert (code / package / "handler.py").is_file()
        # The pinned dependencies are bundled, boto3 is not: the runtime provides it.
        assert (code / "aws_lambda_powertools").is_dir()
        assert (code / "pydantic").is_dir()
        assert not (code / "boto3").exists()
    assert resources["SharedLayer"]["Properties"]["ContentUri"] == "SharedLayer"
    assert (build_dir / "SharedLayer" / "python" / "warmkeeper_shared" / "state.py").is_file()


def test_heartbeat_status_reports_the_service_it_observes(sam_local: SamLocal, moto_bridge_endpoint: str) -> None:
    env = _sleeping_service(moto_bridge_endpoint)

    # The detailed view (the token's): the public one holds no counts.
    result = sam_local.invoke("HeartbeatFunction", "heartbeat/status-detailed.json", env=env)

    assert result.error is None, result.logs
    response = result.payload
    assert response["statusCode"] == 200, response
    assert _header(response, "Content-Type") == ["application/json"]
    body = json.loads(response["body"])
    # desiredCount 0 in the local endpoint: the container really read the service from it.
    assert body["state"] == "sleeping"
    assert body["desiredCount"] == 0
    assert _header(response, "X-Warmkeeper-State") == ["sleeping"]


def test_heartbeat_ping_is_accepted_and_counted(sam_local: SamLocal, moto_bridge_endpoint: str) -> None:
    env = _sleeping_service(moto_bridge_endpoint)

    result = sam_local.invoke("HeartbeatFunction", "heartbeat/ping.json", env=env)

    assert result.error is None, result.logs
    assert result.payload["statusCode"] == 202, result.payload
    assert json.loads(result.payload["body"])["accepted"] is True
    # The Heartbeats metric, as Powertools writes it (EMF) to the function's log, namespace from the template.
    metrics = [record for record in result.log_records if "_aws" in record]
    assert [record["Heartbeats"] for record in metrics if "Heartbeats" in record] == [[1.0]]
    namespaces = {m["Namespace"] for record in metrics for m in record["_aws"]["CloudWatchMetrics"]}
    assert namespaces == {"Warmkeeper"}


def test_controller_ignores_another_stacks_alarm_and_says_why(sam_local: SamLocal) -> None:
    # No endpoint: the controller must decide this from the event alone (its AWS calls would fail here).
    result = sam_local.invoke("WarmkeeperFunction", "warmkeeper/alarm-of-another-stack.json", env=stack_env())

    assert result.error is None, result.logs
    assert result.payload["outcome"] == "ignored"
    ignored = [record for record in result.log_records if record.get("message") == "event ignored"]
    assert len(ignored) == 1, result.logs
    assert ignored[0]["function_name"] == "WarmkeeperFunction"
    assert ignored[0]["level"] == "INFO"
    assert ignored[0]["reason"] == result.payload["reason"]
