"""CloudWatch locally: EMF documents become datapoints, and alarms are evaluated from them like CloudWatch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_aws.cloudwatch import AlarmEvaluator, AlarmNotEvaluable, evaluate, publish_emf
from local_aws.endpoint import LocalEndpoint

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _alarm(endpoint: LocalEndpoint, namespace: str, expression: str = "FILL(m, 0)", **extra: Any) -> dict[str, Any]:
    name = f"a{uuid.uuid4().hex[:8]}"
    cloudwatch = endpoint.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Metrics=[
            {
                "Id": "m",
                "ReturnData": False,
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": "Hits",
                        "Dimensions": [{"Name": "service", "Value": "s"}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            },
            {"Id": "e", "Expression": expression, "ReturnData": True},
        ],
        ComparisonOperator=extra.pop("ComparisonOperator", "LessThanOrEqualToThreshold"),
        Threshold=0,
        EvaluationPeriods=3,
        DatapointsToAlarm=3,
        TreatMissingData="breaching",
        **extra,
    )
    alarm: dict[str, Any] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return alarm


def _emf(namespace: str, value: float) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": 0,
            "CloudWatchMetrics": [
                {"Namespace": namespace, "Dimensions": [["service"]], "Metrics": [{"Name": "Hits", "Unit": "Count"}]}
            ],
        },
        "service": "s",
        "Hits": [value],
    }


def test_three_quiet_minutes_alarm_and_one_hit_keeps_it_ok(endpoint: LocalEndpoint) -> None:
    namespace = f"ns{uuid.uuid4().hex[:6]}"
    alarm = _alarm(endpoint, namespace)
    cloudwatch = endpoint.client("cloudwatch")
    quiet = evaluate(cloudwatch, alarm, NOW)
    assert (quiet.state, quiet.values, quiet.breaching) == ("ALARM", [0.0, 0.0, 0.0], 3)
    assert publish_emf(endpoint, [_emf(namespace, 1.0)], NOW - timedelta(seconds=90)) == 1
    busy = evaluate(cloudwatch, alarm, NOW)
    assert (busy.state, busy.values) == ("OK", [0.0, 1.0, 0.0])


def test_a_change_of_state_goes_through_set_alarm_state(endpoint: LocalEndpoint) -> None:
    alarm = _alarm(endpoint, f"ns{uuid.uuid4().hex[:6]}")
    evaluator = AlarmEvaluator(endpoint, [alarm["AlarmName"]])
    (changed,) = evaluator.evaluate_all(NOW)
    assert changed.state == "ALARM"
    assert evaluator.evaluate_all(NOW + timedelta(minutes=1)) == []
    state = endpoint.client("cloudwatch").describe_alarms(AlarmNames=[alarm["AlarmName"]])["MetricAlarms"][0]
    assert (state["StateValue"], state["StateReason"]) == ("ALARM", changed.reason)


def test_an_expression_the_evaluator_does_not_know_is_an_error_not_a_guess(endpoint: LocalEndpoint) -> None:
    alarm = _alarm(endpoint, f"ns{uuid.uuid4().hex[:6]}", expression="RATE(m)")
    with pytest.raises(AlarmNotEvaluable, match="RATE"):
        evaluate(endpoint.client("cloudwatch"), alarm, NOW)
