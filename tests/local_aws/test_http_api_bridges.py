"""The moto gaps an HTTP API front door falls into, shown without the bridges, and closed with them.

Without the bridges (a fresh process, moto's CloudFormation in process): the API Gateway V2 and Cloud Map
resources of a template are skipped (moto has their APIs but no CloudFormation models), and an ECS
service's ``ServiceRegistries`` are dropped. With them, the same template gives what AWS would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from local_aws import bridges
from local_aws.endpoint import LocalEndpoint

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:face"


def _front_door(name: str, registry_arn: Any) -> dict[str, Any]:
    """A tiny http-api front door: API, stage, VPC link, both integrations, both routes, Cloud Map, ECS."""
    return {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1a"},
            },
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": f"{name}-api", "ProtocolType": "HTTP"}},
            "Stage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "StageName": "$default",
                    "AutoDeploy": True,
                    "DefaultRouteSettings": {"DetailedMetricsEnabled": True},
                    "StageVariables": {"StackName": name},
                },
            },
            "Link": {
                "Type": "AWS::ApiGatewayV2::VpcLink",
                "Properties": {"Name": f"{name}-link", "SubnetIds": [{"Ref": "Subnet"}]},
            },
            "Namespace": {"Type": "AWS::ServiceDiscovery::HttpNamespace", "Properties": {"Name": f"{name}.local"}},
            "CloudMapService": {
                "Type": "AWS::ServiceDiscovery::Service",
                "Properties": {
                    "Name": "web",
                    "NamespaceId": {"Ref": "Namespace"},
                    "HealthCheckCustomConfig": {"FailureThreshold": 1},
                },
            },
            "Private": {
                "Type": "AWS::ApiGatewayV2::Integration",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "IntegrationType": "HTTP_PROXY",
                    "IntegrationMethod": "ANY",
                    "ConnectionType": "VPC_LINK",
                    "ConnectionId": {"Ref": "Link"},
                    "IntegrationUri": {"Fn::GetAtt": ["CloudMapService", "Arn"]},
                    "PayloadFormatVersion": "1.0",
                },
            },
            "Face": {
                "Type": "AWS::ApiGatewayV2::Integration",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "IntegrationType": "AWS_PROXY",
                    "IntegrationUri": FUNCTION_ARN,
                    "PayloadFormatVersion": "2.0",
                    "TimeoutInMillis": 10000,
                },
            },
            "FaceRoute": {
                "Type": "AWS::ApiGatewayV2::Route",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "RouteKey": "ANY /_warmkeeper/{proxy+}",
                    "Target": {"Fn::Sub": "integrations/${Face}"},
                },
            },
            "DefaultRoute": {
                "Type": "AWS::ApiGatewayV2::Route",
                "Properties": {
                    "ApiId": {"Ref": "Api"},
                    "RouteKey": "$default",
                    "Target": {"Fn::Join": ["/", ["integrations", {"Ref": "Private"}]]},
                },
            },
            "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": name}},
            "TaskDefinition": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": name,
                    "RequiresCompatibilities": ["FARGATE"],
                    "NetworkMode": "awsvpc",
                    "Cpu": "256",
                    "Memory": "512",
                    "ContainerDefinitions": [{"Name": "caddy", "Image": "caddy:2"}],
                },
            },
            "Service": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "Cluster": {"Ref": "Cluster"},
                    "ServiceName": name,
                    "TaskDefinition": {"Ref": "TaskDefinition"},
                    "LaunchType": "FARGATE",
                    "ServiceRegistries": [{"RegistryArn": registry_arn, "ContainerName": "caddy"}],
                },
            },
        },
        "Outputs": {
            "ApiEndpoint": {"Value": {"Fn::GetAtt": ["Api", "ApiEndpoint"]}},
            "CloudMapServiceArn": {"Value": {"Fn::GetAtt": ["CloudMapService", "Arn"]}},
            "DefaultRouteId": {"Value": {"Ref": "DefaultRoute"}},
        },
    }


# Runs in a fresh process: moto in process, no bridge installed. Prints what moto made of the template.
_PROBE = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import boto3
from moto import mock_aws
with mock_aws():
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    error = None
    try:
        cloudformation.create_stack(StackName="probe", TemplateBody=sys.argv[1])
    except Exception as caught:
        error = f"{type(caught).__name__}: {caught}"
    ecs = boto3.client("ecs", region_name="us-east-1")
    services = ecs.describe_services(cluster="probe", services=["probe"])["services"]
    gateway = boto3.client("apigatewayv2", region_name="us-east-1")
    link = gateway.create_vpc_link(Name="probe", SubnetIds=[])["VpcLinkId"]
    from moto.apigatewayv2.models import apigatewayv2_backends
    apigatewayv2_backends["123456789012"]["us-east-1"].get_vpc_link(link).status = "INACTIVE"
    link_status = gateway.get_vpc_link(VpcLinkId=link)["VpcLinkStatus"]
    from moto.ecs import models as ecs_models
    backend = ecs_models.ecs_backends["123456789012"]["us-east-1"]
    task = ecs_models.Task(
        backend.clusters["probe"], backend.describe_task_definition("probe"), None, None, backend, group="service:probe"
    )
    backend.tasks.setdefault("probe", {})[task.task_arn] = task
    task_status = ecs.describe_tasks(cluster="probe", tasks=[task.id])["tasks"][0]["lastStatus"]
    print(json.dumps({
        "error": error,
        "apis": len(boto3.client("apigatewayv2", region_name="us-east-1").get_apis()["Items"]),
        "vpcLinks": len(gateway.get_vpc_links()["Items"]) - 1,
        "linkStatus": link_status,
        "newTaskStatus": task_status,
        "cloudMapServices": len(boto3.client("servicediscovery", region_name="us-east-1").list_services()["Services"]),
        "serviceRegistries": services[0].get("serviceRegistries") if services else "no service",
    }))
"""


@pytest.fixture(scope="module")
def unbridged() -> dict[str, Any]:
    # A literal registry ARN: without the Cloud Map model, a GetAtt of it would fail before the service.
    template = _front_door("probe", "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-literal")
    # The outputs read attributes of the resources moto skips: they would fail the whole stack.
    del template["Outputs"]
    result = subprocess.run(  # noqa: S603 - this interpreter, the probe above, no shell
        [sys.executable, "-c", _PROBE, json.dumps(template)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    observed: dict[str, Any] = json.loads(result.stdout)
    return observed


def test_the_gaps_exist_without_the_bridges(unbridged: dict[str, Any]) -> None:
    assert unbridged["error"] is None, unbridged
    # The stack completes, but none of the front door's resources exists, and ECS forgot the registry.
    assert (unbridged["apis"], unbridged["vpcLinks"], unbridged["cloudMapServices"]) == (0, 0, 0)
    assert unbridged["serviceRegistries"] == []
    # moto's VPC link says AVAILABLE whatever happened to it.
    assert unbridged["linkStatus"] == "AVAILABLE"
    # A task moto has just made RUNNING is no longer RUNNING at its first DescribeTasks.
    assert unbridged["newTaskStatus"] == "DEACTIVATING"


def test_the_bridges_are_installed(endpoint: LocalEndpoint) -> None:
    assert {"http_api_models", "cloud_map_models", "service_registries", "vpc_link_status"} <= set(bridges.installed())


def _stack(endpoint: LocalEndpoint) -> tuple[str, dict[str, str], dict[str, str]]:
    name = "h" + uuid.uuid4().hex[:6]
    cloudformation = endpoint.client("cloudformation")
    template = _front_door(name, {"Fn::GetAtt": ["CloudMapService", "Arn"]})
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    resources = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    return name, physical, outputs


def test_http_api_models_create_the_api_its_stage_integrations_and_routes(endpoint: LocalEndpoint) -> None:
    name, physical, outputs = _stack(endpoint)
    gateway = endpoint.client("apigatewayv2")
    api_id = physical["Api"]
    api = gateway.get_api(ApiId=api_id)
    assert (api["Name"], api["ProtocolType"]) == (f"{name}-api", "HTTP")
    assert outputs["ApiEndpoint"] == api["ApiEndpoint"]
    stage = gateway.get_stage(ApiId=api_id, StageName="$default")
    assert stage["DefaultRouteSettings"]["DetailedMetricsEnabled"] is True
    assert stage["StageVariables"] == {"StackName": name}
    routes = {r["RouteKey"]: r for r in gateway.get_routes(ApiId=api_id)["Items"]}
    assert routes["$default"]["Target"] == f"integrations/{physical['Private']}"
    assert routes["ANY /_warmkeeper/{proxy+}"]["Target"] == f"integrations/{physical['Face']}"
    assert outputs["DefaultRouteId"] == routes["$default"]["RouteId"]
    private = gateway.get_integration(ApiId=api_id, IntegrationId=physical["Private"])
    assert private["ConnectionType"] == "VPC_LINK"
    assert private["ConnectionId"] == physical["Link"]
    assert private["IntegrationUri"] == outputs["CloudMapServiceArn"]
    face = gateway.get_integration(ApiId=api_id, IntegrationId=physical["Face"])
    assert (face["PayloadFormatVersion"], face["TimeoutInMillis"]) == ("2.0", 10000)
    link = gateway.get_vpc_link(VpcLinkId=physical["Link"])
    assert link["Name"] == f"{name}-link"


def test_cloud_map_models_and_service_registries(endpoint: LocalEndpoint) -> None:
    name, physical, outputs = _stack(endpoint)
    discovery = endpoint.client("servicediscovery")
    service = discovery.get_service(Id=physical["CloudMapService"])["Service"]
    assert service["Arn"] == outputs["CloudMapServiceArn"]
    assert service["HealthCheckCustomConfig"] == {"FailureThreshold": 1}
    namespace = discovery.get_namespace(Id=service["NamespaceId"])["Namespace"]
    assert (namespace["Name"], namespace["Type"]) == (f"{name}.local", "HTTP")
    ecs = endpoint.client("ecs").describe_services(cluster=name, services=[name])["services"][0]
    assert ecs["serviceRegistries"] == [{"registryArn": service["Arn"], "containerName": "caddy"}]


def test_deleting_the_stack_removes_the_front_door(endpoint: LocalEndpoint) -> None:
    name, physical, _ = _stack(endpoint)
    endpoint.client("cloudformation").delete_stack(StackName=name)
    assert physical["Api"] not in {a["ApiId"] for a in endpoint.client("apigatewayv2").get_apis()["Items"]}
    services = endpoint.client("servicediscovery").list_services()["Services"]
    assert physical["CloudMapService"] not in {s["Id"] for s in services}
