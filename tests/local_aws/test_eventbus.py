"""Events reach the functions the way EventBridge would send them: matched against the template's own rule
patterns (moto's matcher, on the deployed rules), retried on error, then dead-lettered."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest

from local_aws.endpoint import LocalEndpoint
from local_aws.eventbus import Delivery
from local_aws.runtime import LocalAws
from tests.local_aws.conftest import local_aws


@pytest.fixture
def local(endpoint: LocalEndpoint) -> Iterator[LocalAws]:
    with local_aws(endpoint) as running:
        yield running


def _request(local: LocalAws, detail_type: str, detail: dict[str, object]) -> list[Delivery]:
    local.bus.put([{"Source": "warmkeeper", "DetailType": detail_type, "Detail": json.dumps(detail)}])
    return local.bus.settle()


def test_a_request_for_this_stack_reaches_the_controller_through_its_rule(local: LocalAws) -> None:
    (delivery,) = _request(local, "Wake Requested", {"stack": "warmkeeper", "requestedBy": "test"})
    assert delivery.rule == local.stack.physical_ids["WarmkeeperFunctionRequests"]
    assert delivery.function == "WarmkeeperFunction"
    assert delivery.event["source"] == "warmkeeper"
    assert delivery.event["account"] == "123456789012"
    assert delivery.result.error is None
    assert delivery.result.payload["outcome"] in ("already-awake", "woke")


def test_a_request_for_another_stack_is_not_delivered(local: LocalAws) -> None:
    assert _request(local, "Wake Requested", {"stack": "someone-else", "requestedBy": "test"}) == []


def test_only_this_stacks_alarms_reach_the_controller(local: LocalAws) -> None:
    cloudwatch = local.stack.endpoint.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="another-stack-idle",
        Namespace="AWS/ApplicationELB",
        MetricName="RequestCount",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="LessThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="another-stack-idle", StateValue="ALARM", StateReason="test")
    assert local.bus.settle() == []
    cloudwatch.set_alarm_state(AlarmName="warmkeeper-wake", StateValue="ALARM", StateReason="test")
    (delivery,) = local.bus.settle()
    assert delivery.event["detail-type"] == "CloudWatch Alarm State Change"
    assert delivery.event["detail"]["alarmName"] == "warmkeeper-wake"
    assert delivery.event["detail"]["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert delivery.event["resources"] == ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:warmkeeper-wake"]
    assert delivery.result.error is None


def test_a_malformed_request_is_retried_then_dead_lettered(local: LocalAws) -> None:
    (delivery,) = _request(
        local, "Pin Requested", {"stack": "warmkeeper", "requestedBy": "test", "until": "not a time"}
    )
    assert [attempt.error is not None for attempt in delivery.attempts] == [True, True, True]
    assert "MalformedEventError" in str(delivery.result.error)
    assert delivery.dead_lettered
    # A minute later the template's dead-letter alarm sees the queue's depth, as in AWS.
    local.clock.advance(timedelta(minutes=1))
    alarm = local.stack.endpoint.client("cloudwatch").describe_alarms(AlarmNames=["warmkeeper-dead-letters"])
    assert alarm["MetricAlarms"][0]["StateValue"] == "ALARM"
    sqs = local.stack.endpoint.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=local.stack.outputs["DeadLetterQueueUrl"])["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["detail"]["until"] == "not a time"


def test_the_reconcile_schedule_fires_on_the_clock(local: LocalAws) -> None:
    minute = local.clock.start.replace(minute=(local.clock.start.minute + 1) % 60)
    deliveries = local.bus.fire_schedules(minute)
    assert [d.event["detail-type"] for d in deliveries] == ["Scheduled Event"]
    assert deliveries[0].event["resources"] == [
        f"arn:aws:events:us-east-1:123456789012:rule/{local.stack.physical_ids['WarmkeeperFunctionReconcile']}"
    ]
    assert deliveries[0].result.error is None


def test_the_in_process_functions_give_the_process_its_modules_back(endpoint: LocalEndpoint) -> None:
    import warmkeeper.handler  # noqa: PLC0415 - the module as the rest of the test process sees it

    before = warmkeeper.handler
    with local_aws(endpoint) as local:
        _request(local, "Wake Requested", {"stack": "warmkeeper", "requestedBy": "test"})
        assert sys.modules["warmkeeper.handler"] is not before
    assert sys.modules["warmkeeper.handler"] is before
