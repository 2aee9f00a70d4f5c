"""template.yaml in every mode: the full stack, an attached service, a shared listener, and both.

Each mode is the template with its conditions applied (as CloudFormation applies them for these parameter
values), then translated by SAM; every mode is also linted by cfn-lint and `sam validate --lint`.
"""

from __future__ import annotations

import json
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
from tests.template.test_template import NOT_RESOURCE_SCOPED, READ_ONLY_PREFIXES, as_list, of_type, statements

ACCOUNT_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012"
TARGET_GROUP = f"{ACCOUNT_ARN}:targetgroup/shop-web/0123456789abcdef"
LISTENER = f"{ACCOUNT_ARN}:listener/app/shared-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"
SERVICE = {"ExistingClusterName": "shared", "ExistingServiceName": "shop", "ExistingTargetGroupArn": TARGET_GROUP}
SHARED_LISTENER = {"ExistingListenerArn": LISTENER}
# Creating the service behind someone else's listener needs the load balancer's security group and a host.
OWN_SERVICE_ON_SHARED_LISTENER = SHARED_LISTENER | {
    "ExistingLoadBalancerSecurityGroupId": "sg-0123456789abcdef0",
    "DomainName": "shop.example.com",
}
HOSTS = {"HostNames": "shop.example.com,www.shop.example.com", "RulePriority": "40"}

MODES: dict[str, dict[str, str]] = {
    "full-stack": {},
    "full-stack-with-hosts": HOSTS,
    "full-stack-https": {
        "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0b1d5e3c-1111-2222-3333-444455556666",
        "DomainName": "shop.example.com",
    },
    "attached-service": SERVICE,
    "shared-listener": OWN_SERVICE_ON_SHARED_LISTENER,
    "shared-listener-with-hosts": OWN_SERVICE_ON_SHARED_LISTENER | HOSTS,
    "attached-service-on-shared-listener": SERVICE | SHARED_LISTENER,
    "attached-service-on-shared-listener-with-hosts": SERVICE | SHARED_LISTENER | HOSTS,
}
ATTACHED_SERVICE = [m for m in MODES if "attached-service" in m]
SHARED = [m for m in MODES if "shared-listener" in m]


def mode(raw: Template, name: str) -> tuple[Template, dict[str, Any]]:
    resolved, translated = resolve_mode(raw, MODES[name])
    return resolved, translated["Resources"]


def rules(resolved: Template) -> dict[str, dict[str, Any]]:
    found = of_type(resolved["Resources"], "AWS::ElasticLoadBalancingV2::ListenerRule")
    return {name: rule["Properties"] for name, rule in found.items()}


def conditions(rule: dict[str, Any]) -> dict[str, list[str]]:
    fields = {"path-pattern": "PathPatternConfig", "host-header": "HostHeaderConfig"}
    return {c["Field"]: c[fields[c["Field"]]]["Values"] for c in rule["Conditions"]}


# ------------------------------------------------------------------ what each mode creates


@pytest.mark.parametrize("name", ATTACHED_SERVICE)
def test_an_attached_service_gets_no_cluster_task_definition_service_or_target_group(raw: Template, name: str) -> None:
    resolved, resources = mode(raw, name)
    assert not [r for r in resources.values() if r["Type"].startswith("AWS::ECS::")]
    (group,) = of_type(resources, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert group == "WakerTargetGroup"
    assert "TaskSecurityGroup" not in resources
    env = resources["WarmkeeperFunction"]["Properties"]["Environment"]["Variables"]
    assert (env["CLUSTER_NAME"], env["SERVICE_NAME"], env["ECS_TARGET_GROUP_ARN"]) == ("shared", "shop", TARGET_GROUP)
    forward = rules(resolved)["ServiceRouteRule"]["Actions"][0]["ForwardConfig"]["TargetGroups"]
    assert [g["TargetGroupArn"] for g in forward] == [TARGET_GROUP, {"Ref": "WakerTargetGroup"}]


@pytest.mark.parametrize("name", SHARED)
def test_a_shared_listener_gets_no_load_balancer_listener_or_its_security_group(raw: Template, name: str) -> None:
    resolved, resources = mode(raw, name)
    for kind in ("LoadBalancer", "Listener"):
        assert not of_type(resources, f"AWS::ElasticLoadBalancingV2::{kind}"), kind
    assert "AlbSecurityGroup" not in resources
    assert {rule["ListenerArn"] for rule in rules(resolved).values()} == {LISTENER}
    assert "LoadBalancerDnsName" not in resolved["Outputs"]


def test_the_full_stack_creates_everything_as_before(raw: Template) -> None:
    _, resources = mode(raw, "full-stack")
    for name in ("Cluster", "TaskDefinition", "Service", "EcsTargetGroup", "LoadBalancer", "HttpListener"):
        assert name in resources, name
    assert resources["TaskSecurityGroup"]["Type"] == "AWS::EC2::SecurityGroup"
    ingress = resources["TaskIngressFromOwnLoadBalancer"]["Properties"]
    assert ingress["SourceSecurityGroupId"] == {"Ref": "AlbSecurityGroup"}
    assert "TaskIngressFromSharedLoadBalancer" not in resources


def test_a_service_created_behind_a_shared_listener_accepts_its_load_balancer_only(raw: Template) -> None:
    _, resources = mode(raw, "shared-listener")
    ingress = resources["TaskIngressFromSharedLoadBalancer"]["Properties"]
    assert ingress["SourceSecurityGroupId"] == "sg-0123456789abcdef0"
    assert (ingress["FromPort"], ingress["ToPort"]) == (80, 80)
    caddy = next(c for c in resources["TaskDefinition"]["Properties"]["ContainerDefinitions"] if c["Name"] == "caddy")
    url = next(e["Value"] for e in caddy["Environment"] if e["Name"] == "WARMKEEPER_HEARTBEAT_URL")
    assert url == "https://shop.example.com/_warmkeeper/heartbeat"


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("full-stack-with-hosts", "http://shop.example.com/_warmkeeper/heartbeat"),
        ("full-stack-https", "https://shop.example.com/_warmkeeper/heartbeat"),
        ("shared-listener-with-hosts", "https://shop.example.com/_warmkeeper/heartbeat"),
    ],
)
def test_heartbeats_go_to_a_host_the_warmkeeper_rule_answers(raw: Template, name: str, url: str) -> None:
    resolved, _ = mode(raw, name)
    caddy = next(
        c for c in resolved["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"] if c["Name"] == "caddy"
    )
    found = next(e["Value"] for e in caddy["Environment"] if e["Name"] == "WARMKEEPER_HEARTBEAT_URL")
    assert found == url
    hosts = conditions(rules(resolved)["WarmkeeperPathRule"]).get("host-header")
    assert hosts is None or url.split("/")[2] in hosts
    assert resolved["Outputs"]["Url"]["Value"] == url.removesuffix("/_warmkeeper/heartbeat")


# ------------------------------------------------------------------ rules: hosts and priorities


@pytest.mark.parametrize("name", [m for m in MODES if m.endswith("with-hosts")])
def test_both_rules_are_scoped_to_the_host_names(raw: Template, name: str) -> None:
    resolved, _ = mode(raw, name)
    found = rules(resolved)
    hosts = ["shop.example.com", "www.shop.example.com"]
    assert conditions(found["WarmkeeperPathRule"]) == {"path-pattern": ["/_warmkeeper/*"], "host-header": hosts}
    assert conditions(found["ServiceRouteRule"]) == {"host-header": hosts}


@pytest.mark.parametrize("name", ["full-stack", "shared-listener", "attached-service-on-shared-listener"])
def test_without_host_names_the_service_owns_every_host_of_the_listener(raw: Template, name: str) -> None:
    resolved, _ = mode(raw, name)
    found = rules(resolved)
    assert conditions(found["WarmkeeperPathRule"]) == {"path-pattern": ["/_warmkeeper/*"]}
    assert conditions(found["ServiceRouteRule"]) == {"path-pattern": ["/*"]}


@pytest.mark.parametrize("first", ["1", "40", "997"])
def test_rules_take_rule_priority_and_two_above_leaving_one_reserved(raw: Template, first: str) -> None:
    resolved, _ = resolve_mode(raw, SERVICE | SHARED_LISTENER | {"RulePriority": first})
    found = rules(resolved)
    p = int(first)
    assert int(found["WarmkeeperPathRule"]["Priority"]) == p
    assert int(found["ServiceRouteRule"]["Priority"]) == p + 2
    assert resolved["Outputs"]["RulePriorities"]["Value"] == f"{p},{p + 1},{p + 2}"
    assert raw["Parameters"]["RulePriority"]["MaxValue"] == 997  # the lists below stop at 999


def test_the_priority_lists_count_up_by_one_from_one_and_two(raw: Template) -> None:
    offsets = raw["Mappings"]["RulePriorities"]["Offsets"]
    maximum = raw["Parameters"]["RulePriority"]["MaxValue"]
    for key, start in (("PlusOne", 1), ("PlusTwo", 2)):
        values = [int(v) for v in offsets[key].split(",")]
        assert values == list(range(start, start + len(values))), key
        assert len(values) > maximum, key  # Fn::Select with index RulePriority stays inside the list


# ------------------------------------------------------------------ IAM and events


@pytest.mark.parametrize("name", list(MODES))
def test_the_controller_scales_only_its_service_and_modifies_only_its_rule(raw: Template, name: str) -> None:
    _, resources = mode(raw, name)
    by_action: dict[str, list[Any]] = {}
    for role, statement in statements(resources):
        for action in as_list(statement["Action"]):
            if not action.split(":", 1)[1].startswith(READ_ONLY_PREFIXES) and role == "WarmkeeperRole":
                by_action.setdefault(action, []).append(statement["Resource"])
            verb = action.split(":", 1)[1]
            if "*" in as_list(statement["Resource"]):
                assert verb.startswith(READ_ONLY_PREFIXES) or action in NOT_RESOURCE_SCOPED, (role, action)
    assert by_action["elasticloadbalancing:ModifyRule"] == [{"Ref": "ServiceRouteRule"}]
    assert not [
        a for a in by_action if a.startswith("elasticloadbalancing:") and a != "elasticloadbalancing:ModifyRule"
    ]
    (service,) = by_action["ecs:UpdateService"]
    if name in ATTACHED_SERVICE:
        assert service == {
            "Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/"
            "${ExistingClusterName}/${ExistingServiceName}"
        }
    else:
        assert service == {"Ref": "Service"}


@pytest.mark.parametrize("name", ATTACHED_SERVICE)
def test_ecs_events_of_the_attached_service_only_feed_the_controller(raw: Template, name: str) -> None:
    _, resources = mode(raw, name)
    patterns = {
        n: r["Properties"]["EventPattern"]
        for n, r in of_type(resources, "AWS::Events::Rule").items()
        if "EventPattern" in r["Properties"]
    }
    (service_arn,) = patterns["WarmkeeperFunctionServiceEvents"]["resources"]
    assert service_arn["Fn::Sub"].endswith(":service/${ExistingClusterName}/${ExistingServiceName}")
    stopped = patterns["WarmkeeperFunctionStoppedTasks"]["detail"]
    assert stopped["group"] == ["service:shop"]
    assert stopped["clusterArn"][0]["Fn::Sub"].endswith(":cluster/${ExistingClusterName}")


# ------------------------------------------------------------------ signals


@pytest.mark.parametrize("name", ATTACHED_SERVICE)
def test_the_idle_alarm_counts_requests_of_the_given_target_group(raw: Template, name: str) -> None:
    resolved, _ = mode(raw, name)
    requests = next(m for m in resolved["Resources"]["IdleAlarm"]["Properties"]["Metrics"] if m["Id"] == "requests")
    dimensions = {d["Name"]: d["Value"] for d in requests["MetricStat"]["Metric"]["Dimensions"]}
    assert dimensions["TargetGroup"] == "targetgroup/shop-web/0123456789abcdef"
    if name in SHARED:
        assert dimensions["LoadBalancer"] == "app/shared-alb/50dc6c495c0c9188"


@pytest.mark.parametrize("name", SHARED)
def test_on_a_shared_listener_no_load_balancer_wide_count_can_wake_the_service(raw: Template, name: str) -> None:
    resolved, _ = mode(raw, name)
    metrics = resolved["Resources"]["WakeAlarm"]["Properties"]["Metrics"]
    for m in metrics:
        if "MetricStat" not in m:
            continue
        metric = m["MetricStat"]["Metric"]
        names = {d["Name"] for d in metric["Dimensions"]}
        if metric["Namespace"] == "AWS/ApplicationELB":
            # Load-balancer-wide counts (no TargetGroup dimension) belong to every service on the listener.
            assert "TargetGroup" in names, metric["MetricName"]
            target_group = next(d["Value"] for d in metric["Dimensions"] if d["Name"] == "TargetGroup")
            assert target_group == {"Fn::GetAtt": ["WakerTargetGroup", "TargetGroupFullName"]}
        else:
            assert metric["Dimensions"] == [{"Name": "service", "Value": {"Ref": "AWS::StackName"}}]
    assert any(m["MetricStat"]["Metric"]["MetricName"] == "WakeRequests" for m in metrics if "MetricStat" in m)


# ------------------------------------------------------------------ lint every mode


def _copy_for(parameters: dict[str, str], directory: Path, text: str | None = None) -> Path:
    """template.yaml with these parameter values as defaults (what cfn-lint resolves), next to src/."""
    content = text if text is not None else TEMPLATE.read_text()
    lines = content.splitlines(keepends=True)
    for name, value in parameters.items():
        start = lines.index(f"  {name}:\n")
        end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    "))
        block = [line for line in lines[start + 1 : end] if not line.startswith("    Default:")]
        lines[start + 1 : end] = [f"    Default: {json.dumps(value)}\n", *block]
    path = directory / "template.yaml"
    path.write_text("".join(lines))
    return path


def _cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    program = "from cfnlint.runner import main; main()"
    return subprocess.run(  # noqa: S603 - our own interpreter and a file we wrote
        [sys.executable, "-c", program, str(path)], capture_output=True, text=True, check=False, timeout=120
    )


@pytest.mark.parametrize("name", list(MODES))
def test_cfn_lint_is_clean_for_every_mode(name: str, tmp_path: Path) -> None:
    result = _cfn_lint(_copy_for(MODES[name], tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in MODES if n != "full-stack"])  # `make lint` runs the default
def test_sam_validate_lint_is_clean_for_every_mode(name: str, tmp_path: Path) -> None:
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


def test_the_mode_lint_fails_on_a_template_broken_on_purpose(tmp_path: Path) -> None:
    # The weighted rule naming the stack's own HTTP listener in every mode: on a shared listener there is none.
    text = TEMPLATE.read_text()
    owned = (
        "  ServiceRouteRule:\n"
        "    Condition: UsesAlb\n"
        "    Type: AWS::ElasticLoadBalancingV2::ListenerRule\n"
        "    Properties:\n"
        "      ListenerArn: !If\n"
        "        - AttachesListener\n"
        "        - !Ref ExistingListenerArn\n"
        "        - !If [HasCertificate, !Ref HttpsListener, !Ref HttpListener]\n"
        "      Priority: !Select\n"
    )
    assert text.count(owned) == 1
    broken = text.replace(
        owned,
        "  ServiceRouteRule:\n    Condition: UsesAlb\n    Type: AWS::ElasticLoadBalancingV2::ListenerRule\n"
        "    Properties:\n"
        "      ListenerArn: !Ref HttpListener\n      Priority: !Select\n",
    )
    result = _cfn_lint(_copy_for(SHARED_LISTENER, tmp_path, broken))
    assert result.returncode != 0
    assert "HttpListener" in result.stdout


# ------------------------------------------------------------------ what each mode costs (bench/cost.py)


def test_the_cost_of_each_mode_counts_what_that_mode_creates(raw: Template) -> None:
    per_mode = cost.asleep_per_mode(raw)
    full = {line.what: line.monthly for line in per_mode["full stack"]}
    extra = {line.what: line.monthly for line in per_mode["extra service on a shared ALB"]}
    assert full["Application Load Balancer"] == pytest.approx(730 * 0.0225)
    assert full["Public IPv4 addresses (2)"] == pytest.approx(2 * 730 * 0.005)
    assert "Application Load Balancer" not in extra and not [w for w in extra if w.startswith("Public IPv4")]
    # Idle 2 metrics, wake backstop 3, dead letters 1, wake failures 1.
    assert extra["CloudWatch alarms (7 metrics)"] == pytest.approx(0.70)
    assert "CloudWatch dashboard" in full and "CloudWatch dashboard" not in extra


def test_the_cost_table_prints_the_two_mode_lines(capsys: pytest.CaptureFixture[str]) -> None:
    cost.main()
    out = capsys.readouterr().out
    assert re.search(r"^full stack, asleep: \$\d+\.\d\d/month$", out, re.MULTILINE)
    assert re.search(r"^extra service on a shared ALB, asleep: \$\d+\.\d\d/month$", out, re.MULTILINE)
