"""template.yaml is the single source: a copy of it with a renamed idle alarm and another health check path
gives a local stack with both, end to end (the controller's rule and settings, the target group, the task)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from local_aws.endpoint import LocalEndpoint
from tests.local_aws.conftest import local_aws, template_copy


def test_an_edited_copy_of_the_template_gives_an_edited_local_stack(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    copy = template_copy(
        tmp_path,
        ("AlarmName: !Sub ${AWS::StackName}-idle", "AlarmName: !Sub ${AWS::StackName}-quiet"),
        ("Default: /api/health", "Default: /healthz"),
    )
    with local_aws(endpoint, copy, IdleMinutes="2") as local:
        stack = local.stack
        assert stack.outputs["IdleAlarmName"] == "warmkeeper-quiet"
        assert stack.function("WarmkeeperFunction").environment["IDLE_ALARM_NAME"] == "warmkeeper-quiet"
        assert stack.function("HeartbeatFunction").environment["HEALTH_CHECK_PATH"] == "/healthz"
        group = stack.endpoint.client("elbv2").describe_target_groups(
            TargetGroupArns=[stack.outputs["EcsTargetGroupArn"]]
        )
        assert group["TargetGroups"][0]["HealthCheckPath"] == "/healthz"
        names = {a["AlarmName"] for a in stack.endpoint.client("cloudwatch").describe_alarms()["MetricAlarms"]}
        assert "warmkeeper-quiet" in names
        assert "warmkeeper-idle" not in names
        # The task's Caddy answers the new path too (its environment comes from the same parameter).
        lines = local.ecs.task_comes_up()
        assert any("health checks of /healthz answered [200, 200]" in line for line in lines)
        local.bus.settle()
        # The renamed alarm fires after the 2 idle minutes, its event matches the controller's rule.
        local.clock.advance(timedelta(minutes=3))
        local.bus.settle()
        observed = local.observe()
        assert observed.alarms["warmkeeper-quiet"] == "ALARM"
        assert observed.desired_count == 0
        assert observed.weights == {"ecs": 0, "waker": 1}
        slept = [
            d
            for d in local.bus.deliveries
            if d.event.get("detail", {}).get("alarmName") == "warmkeeper-quiet"
            and isinstance(d.result.payload, dict)
            and d.result.payload.get("outcome") == "slept"
        ]
        assert len(slept) == 1
