"""Two stacks attached to a user's own services on one shared listener: the shared-alb scenario, in process."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from local_aws import demo, user_infra
from local_aws.alb import ordered_rules
from local_aws.clock import Clock
from local_aws.endpoint import LocalEndpoint
from local_aws.runtime import LocalAws
from local_aws.scenario import LOCAL_OVERRIDES, Timeline
from local_aws.shared_alb import SharedAlb, SharedAlbScenario
from tests.local_aws.conftest import template_copy


def _kinds(local: LocalAws) -> list[tuple[str, str]]:
    """(detail-type, outcome) of every event the stack's functions were given."""
    kinds = []
    for delivery in local.bus.deliveries:
        payload = delivery.result.payload if isinstance(delivery.result.payload, dict) else {}
        kinds.append((delivery.event["detail-type"], str(payload.get("outcome"))))
    return kinds


def _custom_event_stacks(local: LocalAws) -> set[str]:
    return {d.event["detail"].get("stack") for d in local.bus.deliveries if d.event["source"] == "warmkeeper"}


@pytest.mark.slow
def test_two_attached_stacks_share_one_listener_and_never_touch_each_other(endpoint: LocalEndpoint) -> None:
    out = io.StringIO()
    timeline = Timeline(out)
    with SharedAlb(
        overrides={**LOCAL_OVERRIDES, "IdleMinutes": "2"},
        clock=Clock(speed=0),
        on_delivery=timeline.delivery,
        on_alarm=timeline.alarm,
        endpoint=endpoint,
    ) as shared:
        a, b = shared.stacks["service-a"], shared.stacks["service-b"]
        timeline.local, timeline.others = a, [b]
        SharedAlbScenario(a, timeline, 2, shared=shared).run()

        # A slept and woke; B, busy all along, was never put to sleep nor woken.
        assert ("CloudWatch Alarm State Change", "slept") in _kinds(a)
        assert ("Wake Requested", "woke") in _kinds(a)
        assert not {outcome for _, outcome in _kinds(b)} & {"slept", "woke", "ready"}
        # One event per alarm transition, to the alarm's own stack only (each bus puts its own alarms').
        idle_a = a.stack.outputs["IdleAlarmName"]
        to_alarm = [
            d
            for d in a.bus.deliveries
            if d.event["detail-type"] == "CloudWatch Alarm State Change"
            and d.event["detail"]["alarmName"] == idle_a
            and d.event["detail"]["state"]["value"] == "ALARM"
        ]
        assert len(to_alarm) == 1
        assert all(d.event["detail"].get("alarmName") != idle_a for d in b.bus.deliveries)
        # Each stack's controller got only its own stack's requests (the deployed patterns decide).
        assert _custom_event_stacks(a) == {a.stack.name}
        assert _custom_event_stacks(b) <= {b.stack.name}
        # A's stack is gone with its rules; B's rules and the user's rules and default action remain.
        assert a.deleted
        elbv2 = endpoint.client("elbv2")
        rules = ordered_rules(elbv2.describe_rules(ListenerArn=shared.infra.listener_arn)["Rules"])
        assert [r["Priority"] for r in rules] == ["1", "20", "21", "22", "100", "200", "900", "default"]
        default: dict[str, Any] = rules[-1]["Actions"][0]
        assert default["FixedResponseConfig"]["MessageBody"] == user_infra.NOT_FOUND_BODY
        b_route = next(r for r in rules if r["Priority"] == "22")
        assert b_route["Conditions"][0]["HostHeaderConfig"]["Values"] == ["b.example"]
        weights = {g["TargetGroupArn"]: g["Weight"] for g in b_route["Actions"][0]["ForwardConfig"]["TargetGroups"]}
        assert weights == {b.stack.service_target_group_arn: 1, b.stack.waker_target_group_arn: 0}
        # Deleting Warmkeeper leaves the user's service as it was (awake here), never at 0.
        service_a = endpoint.client("ecs").describe_services(cluster=shared.infra.cluster_name, services=["service-a"])[
            "services"
        ][0]
        assert service_a["desiredCount"] == 1
        observed_b = b.observe()
        assert (observed_b.desired_count, observed_b.weights) == (1, {"ecs": 1, "waker": 0})
    text = out.getvalue()
    assert "B's desired count, weights, alarms and record unchanged" not in text  # only failures say it
    assert "GET a.example/shop/cart (browser) -> 503 from warmkeeper-a:waker" in text
    assert "-> warmkeeper-a/WarmkeeperFunction: woke" in text


@pytest.mark.slow
def test_the_demo_plays_the_shared_alb_scenario_green() -> None:
    out = io.StringIO()
    code = demo.main(["--scenario", "shared-alb", "--speed", "0", "--idle-minutes", "1"], out=out)
    text = out.getvalue()
    assert code == 0, text[-3000:]
    assert "5. A's Warmkeeper stack is deleted" in text
    assert "All expectations held" in text


def test_the_shared_alb_scenario_runs_in_process_only() -> None:
    out = io.StringIO()
    assert demo.main(["--scenario", "shared-alb", "--containers"], out=out) == 2
    assert "lifecycle scenario only" in out.getvalue()


def test_the_users_infrastructure_is_made_through_the_apis_not_a_stack(endpoint: LocalEndpoint) -> None:
    endpoint.reset()
    infra = user_infra.create(endpoint, {"shop": ("shop.example", "Shop")})
    assert endpoint.client("cloudformation").list_stacks()["StackSummaries"] == []
    parameters = infra.attach_parameters("shop", 40)
    assert parameters["HostNames"] == "shop.example"
    assert parameters["RulePriority"] == "40"
    service = endpoint.client("ecs").describe_services(cluster=infra.cluster_name, services=["shop"])["services"][0]
    assert service["loadBalancers"][0]["targetGroupArn"] == parameters["ExistingTargetGroupArn"]
    listener = endpoint.client("elbv2").describe_listeners(ListenerArns=[parameters["ExistingListenerArn"]])
    assert json.dumps(listener["Listeners"][0]["DefaultActions"]).count("fixed-response") == 1


@pytest.mark.slow
def test_a_route_rule_that_ignores_its_host_names_fails_the_shared_scenario(tmp_path: Path) -> None:
    # Service A's route rule (priority 12) then takes every host, B's visitors included.
    every_host = template_copy(
        tmp_path,
        (
            '        - - Field: host-header\n            HostHeaderConfig: { Values: !Split [",", !Ref HostNames] }\n'
            '        - - Field: path-pattern\n            PathPatternConfig: { Values: ["/*"] }\n',
            '        - - Field: path-pattern\n            PathPatternConfig: { Values: ["/*"] }\n'
            '        - - Field: path-pattern\n            PathPatternConfig: { Values: ["/*"] }\n',
        ),
    )
    out = io.StringIO()
    code = demo.main(
        ["--scenario", "shared-alb", "--speed", "0", "--idle-minutes", "1", "--template", str(every_host)], out=out
    )
    text = out.getvalue()
    assert code == 1, text[-2000:]
    assert "FAILED at step 'visitors use both sites'" in text
    assert "expected: 200 from service-b" in text
