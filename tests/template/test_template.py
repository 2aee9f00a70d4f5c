"""What template.yaml must hold for scale-to-zero to be safe (the AWS facts in docs/design.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.template.conftest import Template
from warmkeeper_shared.events import SOURCE

PSEUDO = {"AWS::StackName", "AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::StackId", "AWS::NoValue"}
READ_ONLY_PREFIXES = ("Describe", "List", "Get")
# Actions AWS does not scope to resources at all; "*" is the only possible value for them.
NOT_RESOURCE_SCOPED = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "ecr:GetAuthorizationToken"}


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def references(node: Any) -> Iterator[str]:
    """Logical ids and parameters a CloudFormation value refers to (Ref, GetAtt, ${...} in Sub)."""
    if isinstance(node, dict):
        if "Ref" in node:
            yield node["Ref"]
        elif "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            yield (target[0] if isinstance(target, list) else target.split(".")[0])
        elif "Fn::Sub" in node:
            body = node["Fn::Sub"]
            text, variables = (body[0], body[1]) if isinstance(body, list) else (body, {})
            for name in re.findall(r"\$\{([^}!]+)\}", text):
                base = name.split(".")[0]
                if base not in variables:
                    yield base
            yield from references(variables)
        else:
            for value in node.values():
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def forward_weights(action: dict[str, Any]) -> dict[str, int]:
    assert action["Type"] == "forward"
    groups = action["ForwardConfig"]["TargetGroups"]
    return {group["TargetGroupArn"]["Ref"]: group["Weight"] for group in groups}


def statements(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                # A statement of one front door only is an Fn::If: both branches are statements of the role.
                branches = statement["Fn::If"][1:] if "Fn::If" in statement else [statement]
                for branch in branches:
                    if branch != {"Ref": "AWS::NoValue"}:
                        yield name, branch


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------ the service


def test_service_has_no_desired_count_so_deploys_never_wake_it(raw: Template) -> None:
    service = raw["Resources"]["Service"]["Properties"]
    assert "DesiredCount" not in service


def test_deploys_keep_the_old_task_until_the_new_one_is_healthy(raw: Template) -> None:
    deployment = raw["Resources"]["Service"]["Properties"]["DeploymentConfiguration"]
    assert deployment["MinimumHealthyPercent"] == 100
    assert deployment["MaximumPercent"] == 200
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_service_name_matches_the_literal_name_the_functions_use(raw: Template) -> None:
    service = raw["Resources"]["Service"]["Properties"]
    env = raw["Globals"]["Function"]["Environment"]["Variables"]
    assert env["SERVICE_NAME"] == {
        "Fn::If": ["AttachesService", {"Ref": "ExistingServiceName"}, service["ServiceName"]]
    }
    assert service["ServiceName"] == {"Ref": "AWS::StackName"}
    assert raw["Resources"]["Cluster"]["Properties"]["ClusterName"] == {"Ref": "AWS::StackName"}


def test_task_runs_three_containers_with_caddy_in_front(raw: Template) -> None:
    task = raw["Resources"]["TaskDefinition"]["Properties"]
    containers = {c["Name"]: c for c in task["ContainerDefinitions"]}
    assert set(containers) == {"api", "web", "caddy"}
    assert containers["api"]["PortMappings"][0]["ContainerPort"] == 4000
    assert containers["web"]["PortMappings"][0]["ContainerPort"] == 3000
    assert containers["caddy"]["PortMappings"][0]["ContainerPort"] == 80
    assert {d["ContainerName"] for d in containers["caddy"]["DependsOn"]} == {"api", "web"}
    secrets = {s["Name"]: s["ValueFrom"] for s in containers["caddy"]["Secrets"]}
    assert secrets["WARMKEEPER_TOKEN"] == {"Ref": "HeartbeatTokenSecret"}
    for container in containers.values():
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    # The alb front door (the default); http-api registers the same container in Cloud Map instead.
    service_lb = raw["Resources"]["Service"]["Properties"]["LoadBalancers"]["Fn::If"][1][0]
    assert (service_lb["ContainerName"], service_lb["ContainerPort"]) == ("caddy", 80)


# ------------------------------------------------------------------ the load balancer


def test_default_actions_carry_no_weights_the_owned_rule_does(raw: Template, full: Template) -> None:
    # One mechanism in every mode: the controller flips its own rule, never a listener's default action.
    http = raw["Resources"]["HttpListener"]["Properties"]["DefaultActions"]["Fn::If"]
    assert http[0] == "HasCertificate"
    assert http[1][0]["Type"] == "redirect"
    assert http[2][0]["Type"] == "fixed-response"
    assert http[2][0]["FixedResponseConfig"]["StatusCode"] == "404"
    https = raw["Resources"]["HttpsListener"]["Properties"]["DefaultActions"]
    assert [a["Type"] for a in https] == ["fixed-response"]
    rule = full["Resources"]["ServiceRouteRule"]["Properties"]
    assert forward_weights(rule["Actions"][0]) == {"EcsTargetGroup": 1, "WakerTargetGroup": 0}
    # No host names: the rule catches every path, so the default action never answers.
    assert rule["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}]
    assert rule["ListenerArn"] == {"Ref": "HttpListener"}


def test_the_service_waits_for_the_rule_that_uses_its_target_group(raw: Template) -> None:
    # No conditional DependsOn in CloudFormation: a handle that refers to the front door's resource.
    assert raw["Resources"]["Service"]["DependsOn"] == "ServiceFrontDoorReady"
    handle = raw["Resources"]["ServiceFrontDoorReady"]
    assert handle["Type"] == "AWS::CloudFormation::WaitConditionHandle"
    assert handle["Metadata"]["FrontDoor"] == {
        "Fn::If": ["UsesAlb", {"Ref": "ServiceRouteRule"}, {"Ref": "CloudMapService"}]
    }


def test_warmkeeper_paths_always_reach_the_heartbeat_function(full: Template) -> None:
    rule = full["Resources"]["WarmkeeperPathRule"]["Properties"]
    assert rule["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/_warmkeeper/*"]}}]
    assert rule["Actions"][0]["TargetGroupArn"] == {"Ref": "WakerTargetGroup"}
    assert rule["ListenerArn"] == {"Ref": "HttpListener"}
    # Before the weighted rule: /_warmkeeper/* reaches the HTTP face whatever the weights.
    assert int(rule["Priority"]) < int(full["Resources"]["ServiceRouteRule"]["Properties"]["Priority"])


def test_ecs_health_checks_make_a_new_task_routable_in_about_ten_seconds(raw: Template) -> None:
    group = raw["Resources"]["EcsTargetGroup"]["Properties"]
    assert group["TargetType"] == "ip"
    assert group["HealthCheckIntervalSeconds"] == 5
    assert group["HealthyThresholdCount"] == 2
    assert group["HealthCheckTimeoutSeconds"] < group["HealthCheckIntervalSeconds"]
    assert group["HealthCheckPath"] == {"Ref": "HealthCheckPath"}
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert 10 <= int(attributes["deregistration_delay.timeout_seconds"]) <= 30


def test_waker_target_group_is_the_heartbeat_function_with_multi_value_headers(raw: Template) -> None:
    group = raw["Resources"]["WakerTargetGroup"]
    assert group["Properties"]["TargetType"] == "lambda"
    assert group["Properties"]["Targets"] == [{"Id": {"Fn::GetAtt": ["HeartbeatFunction", "Arn"]}}]
    attributes = {a["Key"]: a["Value"] for a in group["Properties"]["TargetGroupAttributes"]}
    assert attributes["lambda.multi_value_headers.enabled"] == "true"
    assert group["DependsOn"] == "HeartbeatInvokePermission"


def test_invoke_permission_is_scoped_to_the_waker_target_group_name(raw: Template) -> None:
    name_parts = raw["Resources"]["WakerTargetGroup"]["Properties"]["Name"]["Fn::Join"][1]
    permission = raw["Resources"]["HeartbeatInvokePermission"]["Properties"]
    assert permission["Principal"] == "elasticloadbalancing.amazonaws.com"
    arn_parts = permission["SourceArn"]["Fn::Join"][1]
    # The ARN is ".../targetgroup/" + the same name parts as the target group + "/*".
    assert arn_parts[0]["Fn::Sub"].endswith(":targetgroup/waker-")
    assert arn_parts[1] == name_parts[1] and arn_parts[3] == name_parts[2]
    assert arn_parts[-1] == "/*"


# ------------------------------------------------------------------ the functions


def test_functions_run_python_313_traced_with_json_logs_and_a_local_endpoint_hook(resources: dict[str, Any]) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    assert set(functions) == {"WarmkeeperFunction", "HeartbeatFunction"}
    for function in functions.values():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.13"
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["LoggingConfig"]["LogFormat"] == "JSON"
        variables = properties["Environment"]["Variables"]
        assert variables["AWS_ENDPOINT_URL"] == ""
        assert variables["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
        log_group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_every_function_environment_value_refers_to_something_that_exists(cfn: Template) -> None:
    known = set(cfn["Resources"]) | set(cfn["Parameters"]) | PSEUDO
    for function in of_type(cfn["Resources"], "AWS::Lambda::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        for name, value in variables.items():
            missing = set(references(value)) - known
            assert not missing, f"{name} refers to {missing}"


def test_controller_environment_names_the_resources_it_acts_on(resources: dict[str, Any]) -> None:
    variables = resources["WarmkeeperFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["IDLE_ALARM_NAME"] == {"Ref": "IdleAlarm"}
    assert variables["WAKE_ALARM_NAME"] == {"Ref": "WakeAlarm"}
    assert variables["WAKER_TARGET_GROUP_ARN"] == {"Fn::If": ["UsesAlb", {"Ref": "WakerTargetGroup"}, ""]}
    assert variables["ECS_TARGET_GROUP_ARN"] == {
        "Fn::If": [
            "UsesHttpApi",
            "",
            {"Fn::If": ["AttachesService", {"Ref": "ExistingTargetGroupArn"}, {"Ref": "EcsTargetGroup"}]},
        ]
    }
    assert variables["STATE_PARAMETER_NAME"] == {"Ref": "StateParameter"}
    assert variables["ROUTE_RULE_ARN"] == {"Fn::If": ["UsesAlb", {"Ref": "ServiceRouteRule"}, ""]}
    assert variables["HTTP_API_ROUTE_ID"] == {"Fn::If": ["UsesHttpApi", {"Ref": "DefaultRoute"}, ""]}
    assert "LISTENER_ARN" not in variables
    heartbeat = resources["HeartbeatFunction"]["Properties"]["Environment"]["Variables"]
    assert heartbeat["TOKEN_SECRET_ARN"] == {"Ref": "HeartbeatTokenSecret"}


def test_no_write_action_on_every_resource(resources: dict[str, Any]) -> None:
    checked = 0
    for role, statement in statements(resources):
        if statement["Effect"] != "Allow" or "*" not in as_list(statement["Resource"]):
            continue
        for action in as_list(statement["Action"]):
            checked += 1
            verb = action.split(":", 1)[1]
            assert verb.startswith(READ_ONLY_PREFIXES) or action in NOT_RESOURCE_SCOPED, (
                f"{role} may {action} on every resource"
            )
    assert checked > 0  # the roles do have read-only "*" statements; make sure they were seen


def test_function_roles_carry_no_managed_policies(resources: dict[str, Any]) -> None:
    for name in ("WarmkeeperRole", "HeartbeatRole"):
        assert "ManagedPolicyArns" not in resources[name]["Properties"]
    assert resources["WarmkeeperFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["WarmkeeperRole", "Arn"]}


def test_only_the_controller_may_change_the_service_and_only_its_own_rule(resources: dict[str, Any]) -> None:
    writers: dict[str, set[str]] = {}
    for role, statement in statements(resources):
        for action in as_list(statement["Action"]):
            if action.startswith("elasticloadbalancing:Modify") or action in {"ecs:UpdateService", "ssm:PutParameter"}:
                writers.setdefault(action, set()).add(role)
    assert writers == {
        "ecs:UpdateService": {"WarmkeeperRole"},
        "elasticloadbalancing:ModifyRule": {"WarmkeeperRole"},
        "ssm:PutParameter": {"WarmkeeperRole"},
    }
    (modify,) = [s for _, s in statements(resources) if s["Action"] == "elasticloadbalancing:ModifyRule"]
    assert modify["Resource"] == {"Ref": "ServiceRouteRule"}


# ------------------------------------------------------------------ signals and events


def rules_to_controller(resources: dict[str, Any]) -> dict[str, Any]:
    rules = {}
    for name, rule in of_type(resources, "AWS::Events::Rule").items():
        targets = rule["Properties"]["Targets"]
        if any(t["Arn"] == {"Fn::GetAtt": ["WarmkeeperFunction", "Arn"]} for t in targets):
            rules[name] = rule["Properties"]
    return rules


def test_alarm_state_changes_of_both_alarms_feed_the_controller(resources: dict[str, Any]) -> None:
    rules = rules_to_controller(resources)
    pattern = rules["WarmkeeperFunctionAlarmStateChanges"]["EventPattern"]
    assert pattern["source"] == ["aws.cloudwatch"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["resources"] == [
        {"Fn::GetAtt": ["IdleAlarm", "Arn"]},
        {"Fn::GetAtt": ["WakeAlarm", "Arn"]},
    ]


def test_ecs_events_of_this_service_only_feed_the_controller(resources: dict[str, Any]) -> None:
    rules = rules_to_controller(resources)
    service = rules["WarmkeeperFunctionServiceEvents"]["EventPattern"]
    assert set(service["detail-type"]) == {"ECS Service Action", "ECS Deployment State Change"}
    assert service["resources"][0]["Fn::If"][2] == {"Ref": "Service"}
    tasks = rules["WarmkeeperFunctionStoppedTasks"]["EventPattern"]
    assert tasks["detail"]["group"][0]["Fn::If"][2] == {"Fn::Sub": "service:${AWS::StackName}"}
    assert tasks["detail"]["lastStatus"] == ["STOPPED"]


def test_custom_events_of_this_stack_feed_the_controller_with_the_shared_source(resources: dict[str, Any]) -> None:
    pattern = rules_to_controller(resources)["WarmkeeperFunctionRequests"]["EventPattern"]
    assert pattern == {"source": [SOURCE], "detail": {"stack": [{"Ref": "AWS::StackName"}]}}


def test_a_reconcile_schedule_feeds_the_controller(resources: dict[str, Any]) -> None:
    schedule = rules_to_controller(resources)["WarmkeeperFunctionReconcile"]
    assert schedule["ScheduleExpression"]["Fn::If"][1] == "rate(1 minute)"


def test_every_rule_to_the_controller_has_the_dead_letter_queue_and_a_retry_policy(resources: dict[str, Any]) -> None:
    rules = rules_to_controller(resources)
    assert len(rules) == 5
    for name, rule in rules.items():
        (target,) = rule["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}, name
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 2, name


def test_failed_invocations_end_in_the_dead_letter_queue_which_may_receive_them(resources: dict[str, Any]) -> None:
    invoke = of_type(resources, "AWS::Lambda::EventInvokeConfig")["WarmkeeperFunctionEventInvokeConfig"]
    assert invoke["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }
    sends = [s for role, s in statements(resources) if role == "WarmkeeperRole" and s["Action"] == "sqs:SendMessage"]
    assert sends and sends[0]["Resource"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    policy = resources["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert policy["Principal"] == {"Service": "events.amazonaws.com"}
    # Exactly the rules that feed the controller may drop their failed deliveries here.
    allowed = {arn["Fn::GetAtt"][0] for arn in policy["Condition"]["ArnEquals"]["aws:SourceArn"]}
    assert allowed == set(rules_to_controller(resources))
    alarm = resources["DeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}


def metric(alarm: dict[str, Any], metric_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [m for m in alarm["Metrics"] if m["Id"] == metric_id]
    assert len(found) == 1, found
    return found[0]


def test_idle_alarm_counts_user_requests_plus_heartbeats_and_treats_silence_as_idle(
    raw: Template, full: Template
) -> None:
    alarm = full["Resources"]["IdleAlarm"]["Properties"]
    requests = metric(alarm, "requests")["MetricStat"]
    assert requests["Metric"]["MetricName"] == "RequestCount"
    dimensions = {d["Name"]: d["Value"] for d in requests["Metric"]["Dimensions"]}
    assert dimensions["TargetGroup"] == {"Fn::GetAtt": ["EcsTargetGroup", "TargetGroupFullName"]}
    heartbeats = metric(alarm, "heartbeats")["MetricStat"]["Metric"]
    env = raw["Globals"]["Function"]["Environment"]["Variables"]
    assert heartbeats["Namespace"] == env["POWERTOOLS_METRICS_NAMESPACE"]
    assert heartbeats["MetricName"] == "Heartbeats"
    assert heartbeats["Dimensions"] == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]
    assert metric(alarm, "activity")["Expression"] == "FILL(requests, 0) + FILL(heartbeats, 0)"
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["ComparisonOperator"] == "LessThanOrEqualToThreshold" and alarm["Threshold"] == 0
    as_written = raw["Resources"]["IdleAlarm"]["Properties"]
    assert as_written["EvaluationPeriods"] == as_written["DatapointsToAlarm"] == {"Ref": "IdleMinutes"}
    assert raw["Parameters"]["IdleMinutes"]["Default"] == 5


def test_wake_backstop_alarm_sees_alb_503s_and_waiting_visitors(full: Template) -> None:
    alarm = full["Resources"]["WakeAlarm"]["Properties"]
    lb503 = metric(alarm, "lb503")["MetricStat"]["Metric"]
    assert lb503["MetricName"] == "HTTPCode_ELB_503_Count"
    # Load balancer wide: with no registered target the 503 has no target-group dimension.
    assert [d["Name"] for d in lb503["Dimensions"]] == ["LoadBalancer"]
    # A 502 is the waiter itself failing (a timeout): its wake request may not have gone out.
    assert metric(alarm, "lb502")["MetricStat"]["Metric"]["MetricName"] == "HTTPCode_ELB_502_Count"
    assert metric(alarm, "wakerequests")["MetricStat"]["Metric"]["MetricName"] == "WakeRequests"
    assert metric(alarm, "demand")["Expression"] == "FILL(lb503, 0) + FILL(lb502, 0) + FILL(wakerequests, 0)"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("name", ["IdleAlarm", "WakeAlarm", "DeadLetterAlarm", "WakeFailureAlarm"])
def test_alarm_names_are_per_stack(raw: Template, name: str) -> None:
    alarm_name = raw["Resources"][name]["Properties"]["AlarmName"]["Fn::Sub"]
    assert alarm_name.startswith("${AWS::StackName}-")


def test_alarm_notifications_can_reach_the_topic(raw: Template) -> None:
    # CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key alias/aws/sns.
    topic = raw["Resources"]["AlertTopic"]["Properties"]
    assert topic.get("KmsMasterKeyId") != "alias/aws/sns"
    for name in ("DeadLetterAlarm", "WakeFailureAlarm"):
        actions = raw["Resources"][name]["Properties"]["AlarmActions"]
        assert actions == {"Fn::If": ["HasNotificationEmail", [{"Ref": "AlertTopic"}], {"Ref": "AWS::NoValue"}]}


def test_controller_decisions_are_serialized_unless_the_account_cannot_reserve(raw: Template) -> None:
    function = raw["Resources"]["WarmkeeperFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == {"Fn::If": ["ReservesConcurrency", 1, {"Ref": "AWS::NoValue"}]}
    assert raw["Parameters"]["SerializeController"]["Default"] == "true"


def test_state_parameter_and_token_secret_exist_for_the_functions(raw: Template) -> None:
    parameter = raw["Resources"]["StateParameter"]["Properties"]
    assert parameter["Value"] == "{}"
    secret = raw["Resources"]["HeartbeatTokenSecret"]["Properties"]["GenerateSecretString"]
    assert secret["PasswordLength"] >= 32 and secret["ExcludePunctuation"] is True


def test_outputs_give_operators_what_they_need(raw: Template) -> None:
    expected = {
        "Url",
        "ClusterName",
        "ServiceName",
        "ListenerArn",
        "EcsTargetGroupArn",
        "WakerTargetGroupArn",
        "WarmkeeperFunctionName",
        "HeartbeatFunctionName",
        "DashboardUrl",
    }
    assert expected <= set(raw["Outputs"])


def test_dashboard_body_is_valid_json_with_the_operator_widgets(raw: Template) -> None:
    body, variables = raw["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    # Substitute placeholders with harmless strings to check the JSON shape.
    rendered = re.sub(r"\$\{[^}]+\}", "x", body)
    widgets = json.loads(rendered)["widgets"]
    titles = " ".join(w["properties"].get("title", "") for w in widgets).lower()
    for word in ("requests", "tasks", "wake", "heartbeats", "dead-letter"):
        assert word in titles
    assert set(variables) == {"LbName", "EcsTgName", "DlqName", "ClusterName", "ServiceName"}
