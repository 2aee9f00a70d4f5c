"""template.yaml with FrontDoor=http-api: no load balancer, an API Gateway HTTP API with a VPC link to Cloud Map.

Each mode is the template with its conditions applied (as CloudFormation applies them for these parameter
values), then translated by SAM; every mode is also linted by cfn-lint and `sam validate --lint`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import cost
from tests.template.conftest import TEMPLATE, Template, resolve_mode
from tests.template.test_attach_modes import _cfn_lint, _copy_for
from tests.template.test_template import NOT_RESOURCE_SCOPED, READ_ONLY_PREFIXES, as_list, of_type, statements

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0b1d5e3c-1111-2222-3333-444455556666"
HTTP_API = {"FrontDoor": "http-api"}
MODES: dict[str, dict[str, str]] = {
    "http-api": HTTP_API,
    "http-api-custom-domain": HTTP_API | {"CertificateArn": CERTIFICATE, "DomainName": "shop.example.com"},
}
# The HTTP API's hard ceiling on an integration's answer (API Gateway quotas).
INTEGRATION_TIMEOUT_MS = 30_000


def mode(raw: Template, name: str) -> tuple[Template, dict[str, Any]]:
    resolved, translated = resolve_mode(raw, MODES[name])
    return resolved, translated["Resources"]


def _metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    return [m["MetricStat"]["Metric"] for m in alarm["Properties"]["Metrics"] if "MetricStat" in m]


# ------------------------------------------------------------------ what the mode creates, and what not


@pytest.mark.parametrize("name", list(MODES))
def test_no_load_balancer_target_group_rule_or_internet_ingress(raw: Template, name: str) -> None:
    _, resources = mode(raw, name)
    assert not [n for n, r in resources.items() if r["Type"].startswith("AWS::ElasticLoadBalancingV2::")]
    assert "AlbSecurityGroup" not in resources and "AccessLogBucket" not in resources
    for group in of_type(resources, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert "CidrIp" not in rule, rule
    for ingress in of_type(resources, "AWS::EC2::SecurityGroupIngress").values():
        assert "CidrIp" not in ingress["Properties"]
    # The tasks accept the VPC link only.
    (ingress,) = of_type(resources, "AWS::EC2::SecurityGroupIngress").values()
    assert ingress["Properties"]["SourceSecurityGroupId"] == {"Ref": "VpcLinkSecurityGroup"}
    assert "Dashboard" not in resources


def test_an_http_api_with_a_default_stage_that_deploys_route_changes_itself(raw: Template) -> None:
    _, resources = mode(raw, "http-api")
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "HTTP"
    (stage,) = of_type(resources, "AWS::ApiGatewayV2::Stage").values()
    # $default: no stage name prefixed to paths; AutoDeploy: the controller's UpdateRoute needs no deployment.
    assert stage["Properties"]["StageName"] == "$default"
    assert stage["Properties"]["AutoDeploy"] is True
    assert "DestinationArn" in stage["Properties"]["AccessLogSettings"]


def test_routes_the_http_face_path_and_everything_else_by_the_default_route(raw: Template) -> None:
    _, resources = mode(raw, "http-api")
    found = of_type(resources, "AWS::ApiGatewayV2::Route").values()
    routes = {r["Properties"]["RouteKey"]: r["Properties"]["Target"] for r in found}
    face = {"Fn::Sub": "integrations/${FaceIntegration}"}
    assert routes["ANY /_warmkeeper/{proxy+}"] == face
    # It starts on the service, as the ALB front door's weights do; the controller flips it.
    assert routes["$default"] == {"Fn::Sub": "integrations/${ServiceIntegration}"}
    assert routes["GET /_warmkeeper/link"] == {"Fn::Sub": "integrations/${LinkProbeIntegration}"}
    assert set(routes) == {"ANY /_warmkeeper/{proxy+}", "$default", "GET /_warmkeeper/link"}


def test_the_service_integration_goes_through_the_vpc_link_to_cloud_map(raw: Template) -> None:
    _, resources = mode(raw, "http-api")
    service = resources["ServiceIntegration"]["Properties"]
    assert (service["IntegrationType"], service["ConnectionType"]) == ("HTTP_PROXY", "VPC_LINK")
    assert service["ConnectionId"] == {"Ref": "VpcLink"}
    assert service["IntegrationUri"] == {"Fn::GetAtt": ["CloudMapService", "Arn"]}
    # The path as sent, whatever the stage (a named stage's name would be prefixed).
    assert service["RequestParameters"] == {"overwrite:path": "$request.path"}
    probe = resources["LinkProbeIntegration"]["Properties"]
    assert probe["RequestParameters"] == {"overwrite:path": "/api/health"}
    assert probe["ConnectionId"] == {"Ref": "VpcLink"}
    face = resources["FaceIntegration"]["Properties"]
    assert (face["IntegrationType"], face["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    assert face["IntegrationUri"] == {"Fn::GetAtt": ["HeartbeatFunction", "Arn"]}
    for integration in of_type(resources, "AWS::ApiGatewayV2::Integration").values():
        assert integration["Properties"]["TimeoutInMillis"] <= INTEGRATION_TIMEOUT_MS


def test_the_http_face_answers_well_within_the_integration_timeout(raw: Template) -> None:
    _, resources = mode(raw, "http-api")
    # A held request (HoldSeconds) must end before the function's timeout, itself under the API's 30 s.
    assert int(resources["HeartbeatFunction"]["Properties"]["Timeout"]) * 1000 < INTEGRATION_TIMEOUT_MS
    permission = resources["HeartbeatApiInvokePermission"]["Properties"]
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*"
    }


def test_ecs_registers_healthy_tasks_in_cloud_map_with_their_port(raw: Template) -> None:
    _, resources = mode(raw, "http-api")
    service = resources["Service"]["Properties"]
    assert "LoadBalancers" not in service
    assert service["ServiceRegistries"] == [
        {"RegistryArn": {"Fn::GetAtt": ["CloudMapService", "Arn"]}, "ContainerName": "caddy", "ContainerPort": 80}
    ]
    discovery = resources["CloudMapService"]["Properties"]
    assert discovery["DnsConfig"]["DnsRecords"] == [{"Type": "SRV", "TTL": 10}]
    assert discovery["HealthCheckCustomConfig"] == {"FailureThreshold": 1}
    (namespace,) = of_type(resources, "AWS::ServiceDiscovery::PrivateDnsNamespace").values()
    assert raw["Resources"]["ServiceDiscoveryNamespace"]["Properties"]["Vpc"] == {"Ref": "VpcId"}
    assert namespace["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}.warmkeeper.internal"}
    containers = {c["Name"]: c for c in resources["TaskDefinition"]["Properties"]["ContainerDefinitions"]}
    check = containers["caddy"]["HealthCheck"]
    assert check["Command"][0] == "CMD-SHELL" and "$HEALTH_CHECK_PATH" in check["Command"][1]
    assert check["Interval"] == 5
    # The default front door keeps the ALB's own checks and no container check.
    _, alb = resolve_mode(raw, {})
    alb_containers = {c["Name"]: c for c in alb["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]}
    assert "HealthCheck" not in alb_containers["caddy"]
    assert "ServiceRegistries" not in alb["Resources"]["Service"]["Properties"]


@pytest.mark.parametrize(("name", "url"), [("http-api", "api"), ("http-api-custom-domain", "domain")])
def test_heartbeats_go_to_the_api(raw: Template, name: str, url: str) -> None:
    _, resources = mode(raw, name)
    containers = {c["Name"]: c for c in resources["TaskDefinition"]["Properties"]["ContainerDefinitions"]}
    env = {e["Name"]: e["Value"] for e in containers["caddy"]["Environment"]}
    expected = {
        "api": {"Fn::Sub": "${HttpApi.ApiEndpoint}/_warmkeeper/heartbeat"},
        "domain": "https://shop.example.com/_warmkeeper/heartbeat",
    }[url]
    assert env["WARMKEEPER_HEARTBEAT_URL"] == expected


def test_a_custom_domain_maps_the_default_stage(raw: Template) -> None:
    _, plain = mode(raw, "http-api")
    assert not of_type(plain, "AWS::ApiGatewayV2::DomainName")
    _, resources = mode(raw, "http-api-custom-domain")
    (domain,) = of_type(resources, "AWS::ApiGatewayV2::DomainName").values()
    (config,) = domain["Properties"]["DomainNameConfigurations"]
    assert config["CertificateArn"] == CERTIFICATE
    assert config["EndpointType"] == "REGIONAL"
    (mapping,) = of_type(resources, "AWS::ApiGatewayV2::ApiMapping").values()
    assert mapping["Properties"]["Stage"] == {"Ref": "HttpApiStage"}


def test_http_api_requires_its_own_service_and_no_listener(raw: Template) -> None:
    rule = raw["Rules"]["HttpApiCreatesItsOwnService"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "FrontDoor"}, "http-api"]}
    asserted = rule["Assertions"][0]["Assert"]["Fn::And"]
    assert {"Fn::Equals": [{"Ref": "ExistingServiceName"}, ""]} in asserted
    assert {"Fn::Equals": [{"Ref": "ExistingListenerArn"}, ""]} in asserted


# ------------------------------------------------------------------ the controller's rights


def test_the_controller_flips_only_its_own_route_and_writes_nothing_on_every_resource(raw: Template) -> None:
    _, resources = mode(raw, "http-api")
    writes: dict[str, list[Any]] = {}
    for role, statement in statements(resources):
        for action in as_list(statement["Action"]):
            verb = action.split(":", 1)[1]
            if "*" in as_list(statement["Resource"]):
                assert verb.startswith(READ_ONLY_PREFIXES) or action in NOT_RESOURCE_SCOPED, (role, action)
            if action.startswith(("apigateway:", "elasticloadbalancing:", "servicediscovery:")):
                writes.setdefault(action, []).append((role, statement["Resource"]))
    route = {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/apis/${HttpApi}/routes/${DefaultRoute}"}
    assert writes["apigateway:PATCH"] == [("WarmkeeperRole", route)]
    assert not [a for a in writes if a.startswith("elasticloadbalancing:")]
    health = {"Fn::GetAtt": ["CloudMapService", "Arn"]}
    assert sorted(writes["servicediscovery:GetInstancesHealthStatus"], key=str) == [
        ("HeartbeatRole", health),
        ("WarmkeeperRole", health),
    ]
    env = resources["WarmkeeperFunction"]["Properties"]["Environment"]["Variables"]
    assert env["FRONT_DOOR"] == "http-api"
    assert env["HTTP_API_ROUTE_ID"] == {"Ref": "DefaultRoute"}
    assert env["SERVICE_INTEGRATION_ID"] == {"Ref": "ServiceIntegration"}
    assert env["FACE_INTEGRATION_ID"] == {"Ref": "FaceIntegration"}
    assert env["ROUTE_RULE_ARN"] == ""


# ------------------------------------------------------------------ the signals in this mode


def test_the_alarms_read_only_metrics_that_exist_without_a_load_balancer(raw: Template) -> None:
    _, resources = mode(raw, "http-api")
    for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values():
        namespaces = [m["Namespace"] for m in _metrics(alarm)] if "Metrics" in alarm["Properties"] else []
        assert "AWS/ApplicationELB" not in namespaces
    (requests,) = _metrics(resources["IdleAlarm"])
    assert (requests["Namespace"], requests["MetricName"]) == ("AWS/ApiGateway", "Count")
    assert requests["Dimensions"] == [
        {"Name": "ApiId", "Value": {"Ref": "HttpApi"}},
        {"Name": "Stage", "Value": "$default"},
    ]
    idle = resources["IdleAlarm"]["Properties"]
    assert idle["TreatMissingData"] == "breaching"
    wake = {(m["Namespace"], m["MetricName"]): m["Dimensions"] for m in _metrics(resources["WakeAlarm"])}
    assert wake == {
        ("Warmkeeper", "WakeRequests"): [{"Name": "service", "Value": {"Ref": "AWS::StackName"}}],
        ("AWS/Lambda", "Errors"): [{"Name": "FunctionName", "Value": {"Ref": "HeartbeatFunction"}}],
    }


# ------------------------------------------------------------------ lint the mode


@pytest.mark.parametrize("name", list(MODES))
def test_cfn_lint_is_clean_for_the_http_api_modes(name: str, tmp_path: Path) -> None:
    result = _cfn_lint(_copy_for(MODES[name], tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODES))
def test_sam_validate_lint_is_clean_for_the_http_api_modes(name: str, tmp_path: Path) -> None:
    sam = shutil.which("sam", path=str(Path(sys.executable).parent)) or shutil.which("sam")
    assert sam, "the SAM CLI is part of the dev tools"
    path = _copy_for(MODES[name], tmp_path)
    result = subprocess.run(  # noqa: S603 - the venv's SAM CLI on a file we wrote
        [sam, "validate", "--lint", "--template", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=tmp_path,
        env=os.environ | {"SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_http_api_lint_fails_on_a_template_broken_on_purpose(tmp_path: Path) -> None:
    # The service registered in Cloud Map in every mode: with the alb front door there is no Cloud Map service.
    text = TEMPLATE.read_text()
    registries = (
        "      ServiceRegistries: !If\n"
        "        - UsesHttpApi\n"
        "        - - RegistryArn: !GetAtt CloudMapService.Arn\n"
        "            ContainerName: caddy\n"
        "            ContainerPort: 80\n"
        "        - !Ref AWS::NoValue\n"
    )
    assert text.count(registries) == 1
    broken = text.replace(
        registries,
        "      ServiceRegistries:\n"
        "        - RegistryArn: !GetAtt CloudMapService.Arn\n"
        "          ContainerName: caddy\n"
        "          ContainerPort: 80\n",
    )
    result = _cfn_lint(_copy_for(HTTP_API, tmp_path, broken))
    assert result.returncode != 0
    assert "CloudMapService" in result.stdout


# ------------------------------------------------------------------ what the mode costs (bench/cost.py)


def test_the_http_api_stack_costs_what_it_creates_and_fits_the_target(raw: Template) -> None:
    lines = {line.what: line.monthly for line in cost.asleep_per_mode(raw)["http-api stack"]}
    assert not [w for w in lines if "ALB" in w or w.startswith(("Application Load Balancer", "Public IPv4"))]
    assert lines["API Gateway HTTP API"] == 0.0
    # Idle 1 metric (the stage's Count), wake backstop 2, dead letters 1, wake failures 1.
    assert lines["CloudWatch alarms (5 metrics)"] == pytest.approx(0.50)
    assert lines["Cloud Map private DNS namespace (1)"] == pytest.approx(0.50)
    assert "CloudWatch dashboard" not in lines
    assert sum(lines.values()) <= cost.HTTP_API_TARGET


def test_the_cost_table_prints_the_http_api_line_and_its_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    cost.main()
    out = capsys.readouterr().out
    (figure,) = re.findall(r"^http-api stack, asleep: \$(\d+\.\d\d)/month$", out, re.MULTILINE)
    verdict = "met" if float(figure) <= cost.HTTP_API_TARGET else "NOT met"
    assert f"target for the http-api stack: at most $1.50/month ({verdict})" in out
    assert re.search(r"^a wake for one visit\s+\d+\.\d{4}", out, re.MULTILINE)
    assert re.search(r"^an hour awake\s+\d+\.\d{4}", out, re.MULTILINE)
