"""What the decision sees (triggers, observations) and what it returns (actions, metrics). No AWS here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

from warmkeeper_shared.state import ControllerState, FailureKind, Route

# ---------------------------------------------------------------- triggers: what happened


@dataclass(frozen=True)
class IdleAlarmed:
    """The idle alarm went to ALARM."""


class WakeOrigin(StrEnum):
    REQUEST = "request"  # a "Wake Requested" event: the waiting page, its retry button, an operator
    WAKE_ALARM = "wake-alarm"  # the wake backstop alarm went to ALARM
    PIN = "pin"  # a pin of a sleeping service
    RECONCILE = "reconcile"  # a reconcile tick found a wake due

    @property
    def automatic(self) -> bool:
        """Nobody asked for this wake just now: it must not retry a fresh failure (AUTOMATIC_RETRY_AFTER)."""
        return self in (WakeOrigin.WAKE_ALARM, WakeOrigin.RECONCILE)


@dataclass(frozen=True)
class WakeRequested:
    origin: WakeOrigin
    requested_by: str = "unknown"
    # The event's time (EventBridge's ``time``), when the wake came from an event: a request delivered
    # long after it was sent (EventBridge retries for up to a day) no longer stands for a waiting visitor.
    sent_at: datetime | None = None


@dataclass(frozen=True)
class SleepRequested:
    requested_by: str = "unknown"


@dataclass(frozen=True)
class PinRequested:
    until: datetime | None
    requested_by: str = "unknown"


@dataclass(frozen=True)
class UnpinRequested:
    requested_by: str = "unknown"


@dataclass(frozen=True)
class SteadyState:
    """SERVICE_STEADY_STATE for this service."""


@dataclass(frozen=True)
class ReadinessCheck:
    """The readiness watch's tick during a wake: is a target healthy yet? (SERVICE_STEADY_STATE is a hint
    that may come early, late or never; this does not depend on it.)"""


@dataclass(frozen=True)
class ServiceTrouble:
    """An ECS service action saying tasks cannot start (impaired, placement, configuration)."""

    kind: FailureKind
    reason: str
    # The event's time: an event from before the current wake started says nothing about that wake.
    at: datetime | None = None


@dataclass(frozen=True)
class DeploymentStarted:
    deployment_id: str


@dataclass(frozen=True)
class DeploymentCompleted:
    deployment_id: str


@dataclass(frozen=True)
class DeploymentFailed:
    deployment_id: str
    reason: str


@dataclass(frozen=True)
class TaskStopped:
    task_arn: str
    reason: str
    created_at: datetime | None


@dataclass(frozen=True)
class TaskRunning:
    """A task of the service reached RUNNING: a mark of the wake's timeline, nothing to act on."""

    task_arn: str
    started_at: datetime | None
    created_at: datetime | None


@dataclass(frozen=True)
class ReconcileTick:
    """The reconcile schedule."""


Trigger = (
    IdleAlarmed
    | WakeRequested
    | SleepRequested
    | PinRequested
    | UnpinRequested
    | SteadyState
    | ReadinessCheck
    | ServiceTrouble
    | DeploymentStarted
    | DeploymentCompleted
    | DeploymentFailed
    | TaskStopped
    | TaskRunning
    | ReconcileTick
)

# ---------------------------------------------------------------- observations: what AWS says now


class Observe(StrEnum):
    STATE = "state"  # SSM GetParameter
    SERVICE = "service"  # ECS DescribeServices
    ALARMS = "alarms"  # CloudWatch DescribeAlarms (both alarms, one call)
    ROUTE = "route"  # where traffic goes: the front door (ELBv2 DescribeRules of the owned rule)
    HEALTH = "health"  # ELBv2 DescribeTargetHealth (ECS target group)


@dataclass(frozen=True)
class ServiceView:
    desired_count: int
    running_count: int
    # Any deployment not yet COMPLETED (a new task definition rolling out, or a rollback).
    deployment_in_progress: bool


@dataclass(frozen=True)
class Weights:
    ecs: int
    waker: int

    @property
    def route(self) -> Route | None:
        """Where all traffic goes, or None when it is split (only a partial write leaves it so)."""
        if self.ecs > 0 and self.waker == 0:
            return Route.ECS
        if self.waker > 0 and self.ecs == 0:
            return Route.WAKER
        return None


@dataclass(frozen=True)
class Observation:
    """What has been read so far in this invocation; None means not read (not 'absent')."""

    state: ControllerState | None = None
    service: ServiceView | None = None
    alarms: dict[str, str] | None = None  # alarm name -> OK | ALARM | INSUFFICIENT_DATA
    # Read with ``alarms`` (same call): alarm name -> its StateUpdatedTimestamp, None if AWS gave none.
    alarms_changed: dict[str, datetime | None] | None = None
    weights: Weights | None = None
    healthy_targets: int | None = None
    # Read with ``state``: why the record could not be used (deleted, not a record), or None. ``state`` is
    # then the empty record, and the decision rebuilds a safe one from what AWS tells.
    state_lost: str | None = None


# ---------------------------------------------------------------- decisions: what to do


@dataclass(frozen=True)
class RouteTraffic:
    to: Route


@dataclass(frozen=True)
class SetDesiredCount:
    count: int
    # A retry after a failed start: a new deployment resets ECS's task-launch back-off.
    force_new_deployment: bool = False


@dataclass(frozen=True)
class SaveState:
    state: ControllerState


@dataclass(frozen=True)
class StartReadinessWatch:
    """Start the short-lived loop that asks for a readiness check every few seconds while this wake lasts.

    Best effort: if it cannot start, SERVICE_STEADY_STATE and the reconcile still hand traffic back."""

    wake_started_at: datetime


Action = RouteTraffic | SetDesiredCount | SaveState | StartReadinessWatch


@dataclass(frozen=True)
class MetricPoint:
    name: str
    value: float
    unit: Literal["Count", "Seconds"] = "Count"


@dataclass(frozen=True)
class Need:
    """The decision cannot be made without these observations."""

    what: frozenset[Observe]


@dataclass(frozen=True)
class Decision:
    outcome: str  # short, stable, machine-friendly: "slept", "sleep-skipped", "woke", ...
    actions: tuple[Action, ...] = ()
    metrics: tuple[MetricPoint, ...] = ()
    reason: str | None = None
    level: Literal["info", "warning", "error"] = "info"
    details: dict[str, str | int | float | None] = field(default_factory=dict)
