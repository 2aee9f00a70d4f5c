"""The local ALB picks the rule the way an ALB does: priority, host-header, path-pattern, weights, default."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_aws.alb import AlbEmulator, HttpRequest, HttpResponse, matching_rule
from local_aws.clock import Clock
from local_aws.endpoint import LocalEndpoint
from local_aws.stack import ROOT, LocalStack, create_network


def _rule(priority: str, *conditions: dict[str, Any], default: bool = False) -> dict[str, Any]:
    return {
        "Priority": priority,
        "IsDefault": default,
        "Conditions": list(conditions),
        "Actions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": priority}}],
    }


def _host(*values: str) -> dict[str, Any]:
    return {"Field": "host-header", "HostHeaderConfig": {"Values": list(values)}}


def _path(*values: str) -> dict[str, Any]:
    return {"Field": "path-pattern", "PathPatternConfig": {"Values": list(values)}}


def _request(host: str, path: str, method: str = "GET") -> HttpRequest:
    return HttpRequest(method, path, {"host": [host]})


RULES = [
    # Deliberately out of order: priority decides, not the order DescribeRules lists them in.
    _rule("default", default=True),
    _rule("30", _host("a.example")),
    _rule("10", _host("a.example"), _path("/_warmkeeper/*")),
    _rule("20", _host("*.b.example", "b.example"), _path("/api/*", "/v?/*")),
    _rule("5", {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["DELETE"]}}),
]


@pytest.mark.parametrize(
    ("host", "path", "method", "priority"),
    [
        ("a.example", "/_warmkeeper/status", "GET", "10"),  # both 10 and 30 match: the lower priority wins
        ("a.example", "/page", "GET", "30"),
        ("A.Example", "/page", "GET", "30"),  # host names are case-insensitive
        ("a.example", "/_WARMKEEPER/status", "GET", "30"),  # paths are case-sensitive
        ("b.example", "/api/places", "GET", "20"),
        ("shop.b.example", "/v2/x", "GET", "20"),  # * and ? wildcards in both fields
        ("b.example", "/page", "GET", "default"),  # every condition of a rule must hold
        ("c.example", "/api/places", "GET", "default"),
        ("c.example", "/", "DELETE", "5"),
    ],
)
def test_the_first_rule_by_priority_whose_conditions_all_hold(host: str, path: str, method: str, priority: str) -> None:
    rule = matching_rule(RULES, _request(host, path, method))
    assert rule is not None
    assert rule["Priority"] == priority


def test_an_unknown_condition_is_a_clear_error() -> None:
    rules = [_rule("1", {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}})]
    with pytest.raises(ValueError, match="does not evaluate source-ip"):
        matching_rule(rules, _request("a.example", "/"))


# ---------------------------------------------------------------- on a listener in the local endpoint


@dataclass
class _App:
    name: str

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, {}, f"{self.name} {request.path}", self.name)


@dataclass
class _Listener:
    alb: AlbEmulator
    arn: str
    groups: dict[str, str]  # name -> ARN


def _forward(*weighted: tuple[str, int]) -> list[dict[str, Any]]:
    groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weighted]
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]


@pytest.fixture(scope="module")
def listener(endpoint: LocalEndpoint) -> Iterator[_Listener]:
    """A user's ALB made through the API: a fixed 404 by default, host rules, four ip target groups."""
    endpoint.reset()
    network = create_network(endpoint)
    elbv2 = endpoint.client("elbv2")
    balancer = elbv2.create_load_balancer(Name="users-alb", Subnets=network["SubnetIds"])["LoadBalancers"][0]
    groups = {}
    for name in ("a", "b", "b2", "empty"):
        group = elbv2.create_target_group(
            Name=f"users-{name}", Protocol="HTTP", Port=80, VpcId=network["VpcId"], TargetType="ip"
        )["TargetGroups"][0]
        groups[name] = group["TargetGroupArn"]
        if name != "empty":
            elbv2.register_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": "10.42.1.5", "Port": 80}])
    arn = elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "no site"},
            }
        ],
    )["Listeners"][0]["ListenerArn"]
    elbv2.create_rule(ListenerArn=arn, Priority=10, Conditions=[_host("a.example")], Actions=_forward((groups["a"], 1)))
    elbv2.create_rule(
        ListenerArn=arn,
        Priority=20,
        Conditions=[_host("b.example")],
        Actions=_forward((groups["b"], 1), (groups["b2"], 0)),
    )
    elbv2.create_rule(
        ListenerArn=arn, Priority=30, Conditions=[_host("empty.example")], Actions=_forward((groups["empty"], 1))
    )
    nothing = LocalStack(
        endpoint=endpoint,
        name="none",
        template_path=ROOT / "template.yaml",
        parameters={},
        translated={"Resources": {}},
        physical_ids={},
        outputs={},
        functions={},
        network=network,
    )
    alb = AlbEmulator(
        nothing,
        functions=None,  # type: ignore[arg-type]  # no Lambda target on this listener
        clock=Clock(speed=0),
        app=_App("default-app"),
        listener=arn,
        apps={groups[name]: _App(name) for name in ("a", "b", "b2")},
        extra_names={arn: name for name, arn in groups.items()},
    )
    yield _Listener(alb, arn, groups)


def test_host_rules_send_each_site_to_its_own_target_group(listener: _Listener) -> None:
    assert listener.alb.request("GET", "/x", {"host": "a.example"}).body == "a /x"
    assert listener.alb.request("GET", "/y", {"host": "b.example"}).body == "b /y"


def test_the_users_fixed_response_default_answers_any_other_host(listener: _Listener) -> None:
    response = listener.alb.request("GET", "/", {"host": "unknown.example"})
    assert (response.status, response.served_by, response.body) == (404, "alb", "no site")
    assert response.header("content-type") == "text/plain"


def test_weights_of_a_rule_are_read_on_every_request(listener: _Listener) -> None:
    elbv2 = listener.alb.stack.endpoint.client("elbv2")
    rules = elbv2.describe_rules(ListenerArn=listener.arn)["Rules"]
    b_rule = next(r for r in rules if r.get("Priority") == "20")
    groups = listener.groups
    try:
        elbv2.modify_rule(RuleArn=b_rule["RuleArn"], Actions=_forward((groups["b"], 0), (groups["b2"], 1)))
        assert {listener.alb.request("GET", "/", {"host": "b.example"}).served_by for _ in range(4)} == {"b2"}
        elbv2.modify_rule(RuleArn=b_rule["RuleArn"], Actions=_forward((groups["b"], 1), (groups["b2"], 1)))
        # Equal weights share the traffic (a deterministic rotation stands in for the ALB's random pick).
        served = [listener.alb.request("GET", "/", {"host": "b.example"}).served_by for _ in range(4)]
        assert sorted(served) == ["b", "b", "b2", "b2"]
        elbv2.modify_rule(RuleArn=b_rule["RuleArn"], Actions=_forward((groups["b"], 0), (groups["b2"], 0)))
        response = listener.alb.request("GET", "/", {"host": "b.example"})
        assert (response.status, response.served_by) == (503, "alb")
    finally:
        elbv2.modify_rule(RuleArn=b_rule["RuleArn"], Actions=_forward((groups["b"], 1), (groups["b2"], 0)))
    # Another host's rule was not touched by any of it.
    assert listener.alb.request("GET", "/", {"host": "a.example"}).served_by == "a"


def test_a_target_group_with_no_registered_target_is_the_albs_503(listener: _Listener) -> None:
    response = listener.alb.request("GET", "/", {"host": "empty.example"})
    assert (response.status, response.served_by) == (503, "alb")
    assert "no registered target" in response.body
