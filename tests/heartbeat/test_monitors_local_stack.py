"""Monitors and crawlers never reach the service, in the local stack built from template.yaml: its
user-agent listener rule sends them to the HTTP face even while the service is awake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_aws.endpoint import LocalEndpoint
from local_aws.runtime import LocalAws
from tests.local_aws.conftest import endpoint, local_aws  # noqa: F401 - the module-scoped endpoint fixture

UPTIME_MONITOR = {"user-agent": "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"}
BROWSER = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}


@pytest.fixture(scope="module")
def awake(endpoint: LocalEndpoint) -> Iterator[LocalAws]:  # noqa: F811 - the imported fixture, used
    with local_aws(endpoint) as running:
        running.ecs.task_comes_up()
        running.bus.settle()
        outputs = running.stack.outputs
        running.stack.endpoint.client("elbv2").modify_listener(
            ListenerArn=outputs["ListenerArn"],
            DefaultActions=[
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": outputs["EcsTargetGroupArn"], "Weight": 1},
                            {"TargetGroupArn": outputs["WakerTargetGroupArn"], "Weight": 0},
                        ]
                    },
                }
            ],
        )
        yield running


def test_an_uptime_monitor_is_answered_by_the_http_face_while_awake(awake: LocalAws) -> None:
    assert awake.alb.request("GET", "/", BROWSER).served_by == "ecs"
    before = len(awake.functions.invocations)
    response = awake.alb.request("GET", "/api/health", UPTIME_MONITOR)
    assert response.served_by == "waker"
    assert awake.functions.invocations[before].function == "HeartbeatFunction"
    # Nothing was asked of the controller by it.
    assert "Wake Requested" not in [
        event.get("detail-type") for event in awake.functions.invocations[before:] if isinstance(event, dict)
    ]


def test_a_crawler_matches_the_rule_case_insensitively(awake: LocalAws) -> None:
    response = awake.alb.request("GET", "/guides", {"user-agent": "Mozilla/5.0 (compatible; GoogleBOT/2.1)"})
    assert response.served_by == "waker"
