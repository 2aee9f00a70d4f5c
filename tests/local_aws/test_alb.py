"""The local ALB routes by the listener's rules and current weights, read from the local endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_aws.endpoint import LocalEndpoint
from local_aws.runtime import LocalAws
from tests.local_aws.conftest import local_aws


@pytest.fixture(scope="module")
def local(endpoint: LocalEndpoint) -> Iterator[LocalAws]:
    with local_aws(endpoint) as running:
        yield running


def _weights(local: LocalAws, ecs: int, waker: int) -> None:
    """What the controller does: ModifyRule on the stack's own route rule."""
    outputs = local.stack.outputs
    local.stack.endpoint.client("elbv2").modify_rule(
        RuleArn=outputs["RouteRuleArn"],
        Actions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": outputs["EcsTargetGroupArn"], "Weight": ecs},
                        {"TargetGroupArn": outputs["WakerTargetGroupArn"], "Weight": waker},
                    ]
                },
            }
        ],
    )


def test_no_registered_target_means_the_albs_own_503(local: LocalAws) -> None:
    _weights(local, 1, 0)
    response = local.alb.request("GET", "/")
    assert (response.status, response.served_by) == (503, "alb")


def test_the_warmkeeper_paths_go_to_the_function_with_multi_value_headers(local: LocalAws) -> None:
    response = local.alb.request("GET", "/_warmkeeper/status?a=1&a=2", {"accept": "application/json"})
    assert response.served_by == "waker"
    assert response.status == 200
    assert response.json()["service"] == "City Guided"
    invocation = local.functions.invocations[-1]
    assert invocation.function == "HeartbeatFunction"
    assert invocation.event["multiValueHeaders"]["accept"] == ["application/json"]
    assert invocation.event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert invocation.event["requestContext"]["elb"]["targetGroupArn"] == local.stack.outputs["WakerTargetGroupArn"]
    assert "headers" not in invocation.event
    assert response.header("x-warmkeeper-state") is not None


def test_weights_decide_between_the_application_and_the_waker(local: LocalAws) -> None:
    local.ecs.task_comes_up()
    local.bus.settle()
    _weights(local, 1, 0)
    assert local.alb.request("GET", "/somewhere").served_by == "ecs"
    _weights(local, 0, 1)
    assert local.alb.request("GET", "/somewhere", {"accept": "text/html"}).served_by == "waker"
    local.bus.settle()
    # The listener's default action is not Warmkeeper's: the full stack's is a fixed 404 nobody switches.
    listener = local.stack.endpoint.client("elbv2").describe_listeners(ListenerArns=[local.stack.listener_arn])
    assert [a["Type"] for a in listener["Listeners"][0]["DefaultActions"]] == ["fixed-response"]


def test_requests_to_the_application_count_in_the_idle_alarms_metric(local: LocalAws) -> None:
    # Its own healthy target: under xdist this test may run without the one above.
    local.ecs.task_comes_up()
    local.bus.settle()
    _weights(local, 1, 0)
    local.alb.request("GET", "/counted")
    cloudwatch = local.stack.endpoint.client("cloudwatch")
    dimension = local.stack.outputs["EcsTargetGroupArn"].split(":", 5)[5]
    metrics = cloudwatch.list_metrics(Namespace="AWS/ApplicationELB", MetricName="RequestCount")["Metrics"]
    assert any({"Name": "TargetGroup", "Value": dimension} in m["Dimensions"] for m in metrics)
