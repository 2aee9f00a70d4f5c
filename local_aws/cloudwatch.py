"""CloudWatch's part of the local stack: EMF logs become metrics, and the stack's alarms are evaluated.

moto keeps metrics and alarms but evaluates nothing. Here, every minute of the scenario's clock, each alarm
of the stack is evaluated the way CloudWatch does for the shapes template.yaml uses: one metric, or metric
math that adds metrics and ``FILL(metric, constant)`` terms, over ``EvaluationPeriods`` periods with
``DatapointsToAlarm`` and ``TreatMissingData``. A change of state goes through ``SetAlarmState`` on the
local endpoint, so the alarm-state-change bridge emits the event AWS would. An alarm using any other
expression is reported as not evaluable, never guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from local_aws.endpoint import LocalEndpoint

_COMPARE = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
_TERM = re.compile(
    r"^\s*(?:FILL\(\s*(?P<fill_id>[a-z][A-Za-z0-9_]*)\s*,\s*(?P<fill>-?[0-9.]+)\s*\)|(?P<id>[a-z][A-Za-z0-9_]*))\s*$"
)


class AlarmNotEvaluable(ValueError):
    """The alarm uses a shape the local evaluator does not reproduce."""


def publish_emf(endpoint: LocalEndpoint, documents: Iterable[dict[str, Any]], at: datetime) -> int:
    """PutMetricData for each metric of each EMF document, stamped ``at``; returns the datapoints sent."""
    cloudwatch = endpoint.client("cloudwatch")
    sent = 0
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            namespace = directive["Namespace"]
            for dimension_set in directive.get("Dimensions", [[]]):
                dimensions = [{"Name": name, "Value": str(document[name])} for name in dimension_set]
                data = []
                for metric in directive.get("Metrics", []):
                    values = document.get(metric["Name"])
                    for value in values if isinstance(values, list) else [values]:
                        if isinstance(value, int | float):
                            data.append(
                                {
                                    "MetricName": metric["Name"],
                                    "Dimensions": dimensions,
                                    "Timestamp": at,
                                    "Value": float(value),
                                    "Unit": metric.get("Unit", "None"),
                                }
                            )
                if data:
                    cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)
                    sent += len(data)
    return sent


def publish_queue_depths(endpoint: LocalEndpoint, queue_urls: Iterable[str], at: datetime) -> None:
    """``AWS/SQS ApproximateNumberOfMessagesVisible`` of each queue, as SQS reports it to CloudWatch."""
    sqs = endpoint.client("sqs")
    cloudwatch = endpoint.client("cloudwatch")
    for url in queue_urls:
        depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        cloudwatch.put_metric_data(
            Namespace="AWS/SQS",
            MetricData=[
                {
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{"Name": "QueueName", "Value": url.rsplit("/", 1)[1]}],
                    "Timestamp": at,
                    "Value": float(depth["Attributes"]["ApproximateNumberOfMessages"]),
                    "Unit": "Count",
                }
            ],
        )


@dataclass(frozen=True)
class Evaluation:
    alarm: str
    values: list[float | None]
    breaching: int
    state: str
    reason: str


def _sum_for_minute(cloudwatch: Any, stat: dict[str, Any], start: datetime, period: int) -> float | None:
    metric = stat["Metric"]
    answer = cloudwatch.get_metric_statistics(
        Namespace=metric["Namespace"],
        MetricName=metric["MetricName"],
        Dimensions=metric.get("Dimensions", []),
        StartTime=start,
        EndTime=start + timedelta(seconds=period),
        Period=period,
        Statistics=[stat["Stat"]],
    )
    points = answer.get("Datapoints", [])
    if not points:
        return None
    return float(sum(point[stat["Stat"]] for point in points))


def _expression_value(expression: str, values: dict[str, float | None]) -> float | None:
    total = 0.0
    for raw in expression.split("+"):
        match = _TERM.match(raw)
        if match is None:
            raise AlarmNotEvaluable(f"unsupported metric math term {raw.strip()!r} in {expression!r}")
        metric_id = match["fill_id"] or match["id"]
        if metric_id not in values:
            raise AlarmNotEvaluable(f"{expression!r} names {metric_id!r}, which the alarm does not define")
        value = values[metric_id]
        if value is None and match["fill"] is not None:
            value = float(match["fill"])
        if value is None:
            return None
        total += value
    return total


def _period_value(cloudwatch: Any, alarm: dict[str, Any], start: datetime) -> tuple[float | None, int]:
    if alarm.get("Metrics"):
        returned = [m for m in alarm["Metrics"] if m.get("ReturnData", True) and "Expression" in m]
        stats = [m for m in alarm["Metrics"] if "MetricStat" in m]
        if len(returned) != 1:
            raise AlarmNotEvaluable(f"alarm {alarm['AlarmName']} must return exactly one expression")
        period = int(stats[0]["MetricStat"]["Period"]) if stats else 60
        values = {m["Id"]: _sum_for_minute(cloudwatch, m["MetricStat"], start, period) for m in stats}
        return _expression_value(returned[0]["Expression"], values), period
    period = int(alarm["Period"])
    stat = {
        "Metric": {
            "Namespace": alarm["Namespace"],
            "MetricName": alarm["MetricName"],
            "Dimensions": alarm.get("Dimensions", []),
        },
        "Stat": alarm["Statistic"],
    }
    return _sum_for_minute(cloudwatch, stat, start, period), period


def evaluate(cloudwatch: Any, alarm: dict[str, Any], now: datetime) -> Evaluation:
    """The state ``alarm`` should be in at ``now`` (a minute boundary), from the last complete periods."""
    periods = int(alarm["EvaluationPeriods"])
    needed = int(alarm.get("DatapointsToAlarm") or periods)
    compare = _COMPARE.get(alarm["ComparisonOperator"])
    if compare is None:
        raise AlarmNotEvaluable(f"unsupported comparison {alarm['ComparisonOperator']}")
    threshold = float(alarm["Threshold"])
    _, period = _period_value(cloudwatch, alarm, now - timedelta(minutes=1))
    starts = [now - timedelta(seconds=period * (index + 1)) for index in reversed(range(periods))]
    values = [_period_value(cloudwatch, alarm, start)[0] for start in starts]
    missing = alarm.get("TreatMissingData", "missing")
    breaching = 0
    present = 0
    for value in values:
        if value is None:
            if missing == "breaching":
                breaching += 1
                present += 1
            elif missing == "notBreaching":
                present += 1
            continue
        present += 1
        breaching += compare(value, threshold)
    if breaching >= needed:
        state = "ALARM"
    elif present == 0 and missing == "missing":
        state = "INSUFFICIENT_DATA"
    elif present == 0 and missing == "ignore":
        state = alarm["StateValue"]
    else:
        state = "OK"
    shown = ", ".join("missing" if v is None else f"{v:g}" for v in values)
    reason = (
        f"Threshold Crossed: {breaching} out of the last {periods} datapoints [{shown}] "
        f"{'were' if state == 'ALARM' else 'were not all'} {alarm['ComparisonOperator']} {threshold:g} "
        f"(minimum {needed} datapoints for ALARM)"
    )
    return Evaluation(alarm["AlarmName"], values, breaching, state, reason)


@dataclass
class AlarmEvaluator:
    """Evaluates the stack's alarms (by name) once per minute of the scenario's clock."""

    endpoint: LocalEndpoint
    alarm_names: list[str]

    def evaluate_all(self, now: datetime) -> list[Evaluation]:
        cloudwatch = self.endpoint.client("cloudwatch")
        alarms = cloudwatch.describe_alarms(AlarmNames=self.alarm_names)["MetricAlarms"]
        changed = []
        for alarm in alarms:
            evaluation = evaluate(cloudwatch, alarm, now)
            if evaluation.state != alarm["StateValue"]:
                cloudwatch.set_alarm_state(
                    AlarmName=alarm["AlarmName"],
                    StateValue=evaluation.state,
                    StateReason=evaluation.reason,
                    StateReasonData=json.dumps(
                        {
                            "version": "1.0",
                            "queryDate": now.isoformat(),
                            "recentDatapoints": [v for v in evaluation.values if v is not None],
                            "threshold": float(alarm["Threshold"]),
                        }
                    ),
                )
                changed.append(evaluation)
        return changed
