"""The internet-facing surface in template.yaml: flood bounds, least privilege, non-visitor routing, access logs."""

from __future__ import annotations

from heartbeat.adapters.aws import STATE_MAX_AGE_SECONDS
from heartbeat.settings import Settings
from tests.template.conftest import Template

# Lambda's default concurrency per account and region, and what AWS keeps unreserved whatever is reserved.
ACCOUNT_CONCURRENCY = 1000
UNRESERVED_MINIMUM = 100
# SSM GetParameter/PutParameter default throughput, shared by the whole account and region.
SSM_SHARED_PER_SECOND = 40


def test_the_http_face_has_a_concurrency_cap_that_keeps_ssm_reads_far_below_the_account_quota(raw: Template) -> None:
    function = raw["Resources"]["HeartbeatFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == {
        "Fn::If": ["CapsHttpFace", {"Ref": "HttpFaceConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    cap = int(raw["Parameters"]["HttpFaceConcurrency"]["Default"])
    controller = 1  # SerializeController reserves one
    assert ACCOUNT_CONCURRENCY - cap - controller >= UNRESERVED_MINIMUM
    # Each environment reads the record at most once per STATE_MAX_AGE_SECONDS: under a quarter of the quota.
    assert cap / STATE_MAX_AGE_SECONDS <= SSM_SHARED_PER_SECOND / 4


def test_the_http_face_may_put_only_wake_requested_events(raw: Template) -> None:
    statements = raw["Resources"]["HeartbeatRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    [put] = [s for s in statements if s.get("Action") == "events:PutEvents"]
    assert put["Condition"] == {"StringEquals": {"events:source": "warmkeeper", "events:detail-type": "Wake Requested"}}


def test_monitors_and_crawlers_go_to_the_http_face_in_every_state(raw: Template) -> None:
    rule = raw["Resources"]["NonVisitorRule"]["Properties"]
    # RulePriority + 1: after /_warmkeeper/* (RulePriority), before the weighted rule forwarding user traffic.
    assert rule["Priority"] == {
        "Fn::Select": [
            {"Ref": "RulePriority"},
            {"Fn::Split": [",", {"Fn::FindInMap": ["RulePriorities", "Offsets", "PlusOne"]}]},
        ]
    }
    assert rule["ListenerArn"] == raw["Resources"]["WarmkeeperPathRule"]["Properties"]["ListenerArn"]
    # Scoped to the stack's host names when it has some, like its other rules.
    branch, with_hosts, without_hosts = rule["Conditions"]["Fn::If"]
    assert branch == "HasHostNames"
    host, *rest = with_hosts
    assert host == {"Field": "host-header", "HostHeaderConfig": {"Values": {"Fn::Split": [",", {"Ref": "HostNames"}]}}}
    assert rest == without_hosts
    condition, methods = without_hosts
    # Reads only: a webhook POSTed by an agent called "...bot" must still reach the service.
    assert methods == {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET", "HEAD"]}}
    assert condition["Field"] == "http-header"
    assert condition["HttpHeaderConfig"] == {
        "HttpHeaderName": "User-Agent",
        "Values": {"Fn::Split": [",", {"Ref": "NonVisitorRuleUserAgents"}]},
    }
    assert rule["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "WakerTargetGroup"}}]


def test_the_rules_default_patterns_fit_alb_limits_and_the_function_recognizes_them(raw: Template) -> None:
    patterns = raw["Parameters"]["NonVisitorRuleUserAgents"]["Default"].split(",")
    # An ALB rule: at most 5 values and 5 wildcards in all its conditions; 2 go to the methods, and attach
    # mode adds a host name.
    assert len(patterns) + 2 <= 4
    assert sum(p.count("*") + p.count("?") for p in patterns) <= 4
    # Whatever the rule sends, the function itself must take for a non-visitor (or it would ask for a wake).
    fragments = [f.strip().casefold() for f in raw["Parameters"]["NonVisitorUserAgents"]["Default"].split(",")]
    for pattern in patterns:
        core = pattern.strip("*?").casefold()
        assert any(fragment in core for fragment in fragments), pattern
    assert set(fragments) >= {f.casefold() for f in Settings.model_fields["non_visitor_user_agents"].default}


def _ecr_path(image: str) -> str:
    """What the template's Fn::Select/Fn::Split computes for an image (see TaskExecutionRole)."""
    return f"{image}amazonaws.com/".split("amazonaws.com/")[1]


def test_the_execution_role_reads_only_the_configured_ecr_repositories(raw: Template) -> None:
    statements = raw["Resources"]["TaskExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    [pull] = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    resources = pull["Resource"]
    assert len(resources) == 3
    for resource, image in zip(resources, ("ApiImage", "WebImage", "CaddyImage"), strict=True):
        template, variables = resource["Fn::Sub"]
        assert template.endswith(":repository/${Path}")
        assert variables["Path"] == {
            "Fn::Select": [1, {"Fn::Split": ["amazonaws.com/", {"Fn::Sub": f"${{{image}}}amazonaws.com/"}]}]
        }
    assert _ecr_path("123456789012.dkr.ecr.eu-west-3.amazonaws.com/team/api") == "team/api"
    # GHCR (the defaults): "repository/" names no repository, so nothing in ECR is readable.
    assert _ecr_path(raw["Parameters"]["ApiImage"]["Default"]) == ""


def test_alb_access_logs_go_to_an_expiring_private_bucket(raw: Template) -> None:
    resources = raw["Resources"]
    attributes = {a["Key"]: a["Value"] for a in resources["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": "AccessLogBucket"}
    bucket = resources["AccessLogBucket"]["Properties"]
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "AccessLogDays"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    policy = resources["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [delivery] = [s for s in policy if s["Sid"] == "ElbLogDelivery"]
    assert delivery["Action"] == "s3:PutObject"
    principal = delivery["Principal"]["Fn::If"]
    assert principal[0] == "ElbAccountRegion"
    assert principal[2] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    # Every region named in the condition has an account in the mapping.
    mapped = set(raw["Mappings"]["ElbLogAccount"])
    named = {
        clause["Fn::Equals"][1]
        for part in ("ElbAccountRegionA", "ElbAccountRegionB")
        for clause in raw["Conditions"][part]["Fn::Or"]
    }
    assert named == mapped


def test_every_checkov_suppression_says_why(raw: Template) -> None:
    seen = 0
    for name, resource in raw["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            seen += 1
            assert skip["id"].startswith("CKV_"), name
            assert len(skip.get("comment", "").strip()) > 20, f"{name} {skip['id']} needs a reason"
    assert seen >= 15
