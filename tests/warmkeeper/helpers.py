"""Shared test helpers: the fixture files, settings shaped like the template's, a recording gateway."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warmkeeper.domain.model import Action, Observation, Observe
from warmkeeper.models.settings import Settings

EVENTS = Path(__file__).resolve().parents[2] / "events" / "warmkeeper"

ACCOUNT = "123456789012"
REGION = "us-east-1"
RULE_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/warmkeeper-alb/50dc6c495c0c9188/"
    "f2f7dc8efc522ab2/9683b2d02a6cabee"
)
ECS_TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/warmkeeper-ecs/6d0ecf831eec9f09"
WAKER_TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/warmkeeper-waker/73e2d6bc24d8a067"

ENVIRONMENT = {
    "STACK_NAME": "warmkeeper",
    "CLUSTER_NAME": "warmkeeper",
    "SERVICE_NAME": "warmkeeper",
    "STATE_PARAMETER_NAME": "/warmkeeper/warmkeeper/state",
    "ROUTE_RULE_ARN": RULE_ARN,
    "ECS_TARGET_GROUP_ARN": ECS_TG_ARN,
    "WAKER_TARGET_GROUP_ARN": WAKER_TG_ARN,
    "IDLE_ALARM_NAME": "warmkeeper-idle",
    "WAKE_ALARM_NAME": "warmkeeper-wake",
    "IDLE_MINUTES": "5",
    "MIN_AWAKE_MINUTES": "10",
    "WAKE_DEADLINE_MINUTES": "5",
    "MAX_PIN_HOURS": "24",
}

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def load_event(name: str) -> dict[str, Any]:
    """One scenario file from events/warmkeeper/ (the same files `sam local invoke -e` uses)."""
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


def settings(**overrides: str) -> Settings:
    return Settings.from_environ(ENVIRONMENT | overrides)


@dataclass
class RecordingGateway:
    """Serves observations from a complete picture and records what was read and done."""

    world: Observation
    reads: list[Observe] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)

    def observe(self, what: frozenset[Observe], observed: Observation) -> Observation:
        self.reads.extend(sorted(what))
        fields = {
            Observe.STATE: "state",
            Observe.SERVICE: "service",
            Observe.ALARMS: "alarms",
            Observe.ROUTE: "weights",
            Observe.HEALTH: "healthy_targets",
        }
        updates = {fields[w]: getattr(self.world, fields[w]) for w in what}
        if Observe.ALARMS in what:
            updates["alarms_changed"] = self.world.alarms_changed  # the same DescribeAlarms call
        return replace(observed, **updates)

    def perform(self, action: Action) -> None:
        self.actions.append(action)


@dataclass
class FakeContext:
    """What Powertools reads from a Lambda context."""

    function_name: str = "warmkeeper-WarmkeeperFunction-0123456789ab"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:warmkeeper-WarmkeeperFunction-0123456789ab"
    )
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects printed on stdout (Powertools logs and EMF metric blobs)."""
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return found


def emitted_metrics(text: str) -> dict[str, list[float]]:
    """Metric name -> values from the EMF blobs in ``text``."""
    metrics: dict[str, list[float]] = {}
    for blob in json_lines(text):
        if "_aws" not in blob:
            continue
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                metrics.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return metrics
