"""Table-driven tests of the pure decision: every behaviour of issue 3, with the reads each one needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.warmkeeper.helpers import NOW, RecordingGateway, settings
from warmkeeper.controller import run
from warmkeeper.domain.model import (
    Action,
    DeploymentCompleted,
    DeploymentFailed,
    DeploymentStarted,
    IdleAlarmed,
    Observation,
    Observe,
    PinRequested,
    ReadinessCheck,
    ReconcileTick,
    RouteTraffic,
    SaveState,
    ServiceTrouble,
    ServiceView,
    SetDesiredCount,
    SleepRequested,
    StartReadinessWatch,
    SteadyState,
    TaskRunning,
    TaskStopped,
    Trigger,
    UnpinRequested,
    WakeOrigin,
    WakeRequested,
    Weights,
)
from warmkeeper_shared.state import ControllerState, Failure, FailureKind, ReadySignal, Route, WakeTimeline

S, SV, AL, RT, HL = Observe.STATE, Observe.SERVICE, Observe.ALARMS, Observe.ROUTE, Observe.HEALTH
ALL = {S, SV, AL, RT, HL}


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


@dataclass(frozen=True)
class World:
    """A compact picture of AWS: the defaults are an awake, idle-free, healthy service."""

    state: ControllerState = field(default_factory=ControllerState)
    desired: int = 1
    deploying: bool = False
    idle: str = "OK"
    wake_alarm: str = "OK"
    route: Route | None = Route.ECS
    healthy: int = 1
    # When the idle alarm last changed state (its StateUpdatedTimestamp); long ago by default.
    idle_changed: datetime | None = field(default_factory=lambda: ago(600))

    def observation(self) -> Observation:
        ecs, waker = {Route.ECS: (1, 0), Route.WAKER: (0, 1), None: (1, 1)}[self.route]
        return Observation(
            state=self.state,
            service=ServiceView(self.desired, self.desired if self.healthy else 0, self.deploying),
            alarms={"warmkeeper-idle": self.idle, "warmkeeper-wake": self.wake_alarm},
            alarms_changed={"warmkeeper-idle": self.idle_changed, "warmkeeper-wake": ago(600)},
            weights=Weights(ecs, waker),
            healthy_targets=self.healthy,
        )


ASLEEP: Any = {"desired": 0, "route": Route.WAKER, "healthy": 0}
WAKING = ControllerState(wake_started_at=ago(1))
FRESH = Failure(kind=FailureKind.TASK_STOPPED, reason="CannotPullContainerError", at=ago(2))
OLD = Failure(kind=FailureKind.TASK_STOPPED, reason="CannotPullContainerError", at=ago(6))
DEADLINE = Failure(kind=FailureKind.DEADLINE_PASSED, reason="the wake did not finish within 5 minutes", at=NOW)
MIN_AWAKE_0 = {"MIN_AWAKE_MINUTES": "0"}
# A stack with the readiness watch (the template's); the other rows run without one.
WATCH = {"READINESS_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:warmkeeper-readiness"}


def st(**kw: object) -> ControllerState:
    return ControllerState.model_validate(kw)


def woken(started: datetime, signal: ReadySignal, **marks: datetime) -> ControllerState:
    """The record once traffic is back NOW: the wake that started at ``started`` in ``last_wake``."""
    timeline = WakeTimeline(started_at=started, ready_at=NOW, signal=signal, **marks)
    return st(awake_since=NOW, last_wake=timeline)


@dataclass(frozen=True)
class Row:
    name: str
    trigger: Trigger
    world: World
    outcome: str
    actions: list[Action]
    reads: set[Observe]
    metrics: set[str] = field(default_factory=set)
    env: dict[str, str] = field(default_factory=dict)  # settings that differ from the template's defaults


ROWS = [
    # ---- sleep on the idle alarm
    Row(
        "idle: a late idle-alarm event whose alarm has not changed since before the wake does not sleep",
        IdleAlarmed(),
        World(idle="ALARM", state=st(awake_since=ago(2)), idle_changed=ago(30)),
        "sleep-skipped",
        [],
        {AL, S},
        {"SleepsSkipped", "SleepsSkipped.alarm-predates-wake"},
        MIN_AWAKE_0,
    ),
    Row(
        "idle: sleeps, waker first",
        IdleAlarmed(),
        World(idle="ALARM"),
        "slept",
        [RouteTraffic(Route.WAKER), SetDesiredCount(0)],
        {AL, S, SV},
        {"Sleeps"},
    ),
    Row(
        "idle: alarm back to OK on re-read",
        IdleAlarmed(),
        World(idle="OK"),
        "sleep-skipped",
        [],
        {AL},
        {"SleepsSkipped", "SleepsSkipped.not-idle"},
    ),
    Row(
        "idle: pinned",
        IdleAlarmed(),
        World(idle="ALARM", state=st(pinned_until=NOW + timedelta(hours=1))),
        "sleep-skipped",
        [],
        {AL, S},
        {"SleepsSkipped", "SleepsSkipped.pinned"},
    ),
    Row(
        "idle: expired pin does not block",
        IdleAlarmed(),
        World(idle="ALARM", state=st(pinned_until=ago(1))),
        "slept",
        [RouteTraffic(Route.WAKER), SetDesiredCount(0)],
        {AL, S, SV},
        {"Sleeps"},
    ),
    Row(
        "idle: minimum awake time",
        IdleAlarmed(),
        World(idle="ALARM", state=st(awake_since=ago(3))),
        "sleep-skipped",
        [],
        {AL, S},
        {"SleepsSkipped", "SleepsSkipped.min-awake"},
    ),
    Row(
        "idle: wake under way",
        IdleAlarmed(),
        World(idle="ALARM", state=WAKING, route=Route.WAKER, healthy=0),
        "sleep-skipped",
        [],
        {AL, S},
        {"SleepsSkipped", "SleepsSkipped.wake-in-progress"},
    ),
    Row(
        "idle: deferred during a deployment",
        IdleAlarmed(),
        World(idle="ALARM", deploying=True),
        "sleep-skipped",
        [],
        {AL, S, SV},
        {"SleepsSkipped", "SleepsSkipped.deployment"},
    ),
    Row(
        "idle: remembers a count above 1, first",
        IdleAlarmed(),
        World(idle="ALARM", desired=3),
        "slept",
        [SaveState(st(count_before_sleep=3)), RouteTraffic(Route.WAKER), SetDesiredCount(0)],
        {AL, S, SV},
        {"Sleeps"},
    ),
    Row(
        "idle: already asleep keeps traffic on the waker",
        IdleAlarmed(),
        World(idle="ALARM", **ASLEEP),
        "already-asleep",
        [RouteTraffic(Route.WAKER)],
        {AL, S, SV},
    ),
    Row(
        "idle: a failed wake goes to sleep, failure kept",
        IdleAlarmed(),
        World(
            idle="ALARM",
            route=Route.WAKER,
            healthy=0,
            state=st(wake_started_at=ago(12), failure=Failure(kind=FailureKind.TASK_STOPPED, reason="x", at=ago(11))),
        ),
        "slept",
        [
            RouteTraffic(Route.WAKER),
            SetDesiredCount(0),
            SaveState(st(failure=Failure(kind=FailureKind.TASK_STOPPED, reason="x", at=ago(11)))),
        ],
        {AL, S, SV},
        {"Sleeps"},
    ),
    Row(
        "idle: a wake past its deadline ends as a visible failure when it sleeps",
        IdleAlarmed(),
        World(idle="ALARM", route=Route.WAKER, healthy=0, state=st(wake_started_at=ago(12))),
        "slept",
        [
            RouteTraffic(Route.WAKER),
            SetDesiredCount(0),
            SaveState(
                st(
                    failure=Failure(
                        kind=FailureKind.DEADLINE_PASSED,
                        reason="the wake did not finish within 5 minutes",
                        at=NOW,
                    )
                )
            ),
        ],
        {AL, S, SV},
        {"Sleeps"},
    ),
    # ---- manual sleep and deployments
    Row(
        "manual sleep ignores the alarm and the minimum awake time",
        SleepRequested("ops"),
        World(idle="OK", state=st(awake_since=ago(1))),
        "slept",
        [RouteTraffic(Route.WAKER), SetDesiredCount(0)],
        {S, SV},
        {"Sleeps"},
    ),
    Row(
        "manual sleep respects a pin",
        SleepRequested("ops"),
        World(state=st(pinned_until=NOW + timedelta(minutes=5))),
        "sleep-skipped",
        [],
        {S},
        {"SleepsSkipped", "SleepsSkipped.pinned"},
    ),
    Row(
        "manual sleep waits for a deployment",
        SleepRequested("ops"),
        World(deploying=True),
        "sleep-skipped",
        [],
        {S, SV},
        {"SleepsSkipped", "SleepsSkipped.deployment"},
    ),
    Row(
        "deployment completed: the deferred sleep happens",
        DeploymentCompleted("d"),
        World(idle="ALARM"),
        "slept",
        [RouteTraffic(Route.WAKER), SetDesiredCount(0)],
        {AL, S, SV},
        {"Sleeps"},
    ),
    Row(
        "deployment completed while busy: nothing",
        DeploymentCompleted("d"),
        World(idle="OK"),
        "nothing-to-do",
        [],
        {AL},
    ),
    Row(
        "deployment completed while asleep stays asleep",
        DeploymentCompleted("d"),
        World(idle="ALARM", **ASLEEP),
        "already-asleep",
        [RouteTraffic(Route.WAKER)],
        {AL, S, SV},
    ),
    Row("deployment started: no call", DeploymentStarted("d"), World(), "deployment-started", [], set()),
    # ---- wake
    Row(
        "wake: asleep, restores the count before sleep",
        WakeRequested(WakeOrigin.REQUEST),
        World(state=st(count_before_sleep=2), **ASLEEP),
        "woke",
        [SaveState(st(count_before_sleep=2, wake_started_at=NOW)), SetDesiredCount(2)],
        {S, SV},
        {"Wakes"},
    ),
    Row(
        "wake: repeated while waking does nothing",
        WakeRequested(WakeOrigin.REQUEST),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "wake-in-progress",
        [],
        {S, SV},
    ),
    Row(
        "wake: recorded but UpdateService failed: the retry of the same event sets the count",
        WakeRequested(WakeOrigin.REQUEST),
        World(state=WAKING, **ASLEEP),
        "wake-resumed",
        [SetDesiredCount(1)],
        {S, SV},
    ),
    Row(
        "wake: a backstop alarm event whose alarm is OK now wakes nothing",
        WakeRequested(WakeOrigin.WAKE_ALARM),
        World(**ASLEEP),
        "wake-alarm-not-in-alarm",
        [],
        {AL},
    ),
    Row(
        "wake: a request sent more than five minutes ago wakes nothing and reads nothing",
        WakeRequested(WakeOrigin.REQUEST, sent_at=ago(6)),
        World(**ASLEEP),
        "wake-request-stale",
        [],
        set(),
        {"StaleEventsIgnored"},
    ),
    Row(
        "wake: a request sent four minutes ago (a Lambda retry) still wakes",
        WakeRequested(WakeOrigin.REQUEST, sent_at=ago(4)),
        World(**ASLEEP),
        "woke",
        [SaveState(st(wake_started_at=NOW, wake_requested_at=ago(4))), SetDesiredCount(1)],
        {S, SV},
        {"Wakes"},
    ),
    Row(
        "wake: backstop alarm wakes too",
        WakeRequested(WakeOrigin.WAKE_ALARM),
        World(wake_alarm="ALARM", **ASLEEP),
        "woke",
        [SaveState(st(wake_started_at=NOW)), SetDesiredCount(1)],
        {AL, S, SV},
        {"Wakes"},
    ),
    Row(
        "wake: retries after a failure with a new deployment",
        WakeRequested(WakeOrigin.REQUEST),
        World(
            route=Route.WAKER,
            healthy=0,
            state=st(
                wake_started_at=ago(3),
                failure=Failure(kind=FailureKind.TASK_START_IMPAIRED, reason="impaired", at=ago(2)),
            ),
        ),
        "wake-retried",
        [
            SaveState(
                st(
                    wake_started_at=NOW,
                    failure=Failure(kind=FailureKind.TASK_START_IMPAIRED, reason="impaired", at=ago(2)),
                )
            ),
            SetDesiredCount(1, force_new_deployment=True),
            SaveState(st(wake_started_at=NOW)),
        ],
        {S, SV},
        {"Wakes"},
    ),
    Row(
        "wake: past its deadline is reported, then retried; the failure stays on record until ECS accepts",
        WakeRequested(WakeOrigin.REQUEST),
        World(route=Route.WAKER, healthy=0, state=st(wake_started_at=ago(6))),
        "wake-retried",
        [
            SaveState(st(wake_started_at=NOW, failure=DEADLINE)),
            SetDesiredCount(1, force_new_deployment=True),
            SaveState(st(wake_started_at=NOW)),
        ],
        {S, SV},
        {"Wakes", "WakeFailures"},
    ),
    Row("wake: already awake", WakeRequested(WakeOrigin.REQUEST), World(), "already-awake", [], {S, SV, RT}),
    Row(
        "wake: healthy but on the waker (lost record) hands traffic back",
        WakeRequested(WakeOrigin.REQUEST),
        World(route=Route.WAKER),
        "traffic-restored",
        [RouteTraffic(Route.ECS), SaveState(st(awake_since=NOW))],
        {S, SV, RT, HL},
        {"ReconcileRepairs"},
    ),
    Row(
        "wake: ECS starting without a record records the wake",
        WakeRequested(WakeOrigin.REQUEST),
        World(route=Route.WAKER, healthy=0),
        "wake-recorded",
        [SaveState(st(wake_started_at=NOW))],
        {S, SV, RT, HL},
        {"Wakes"},
    ),
    # ---- pin and unpin
    Row(
        "pin wakes a sleeping service",
        PinRequested(NOW + timedelta(hours=2), "ops"),
        World(**ASLEEP),
        "pinned",
        [
            SaveState(st(pinned_until=NOW + timedelta(hours=2), pinned_by="ops", wake_started_at=NOW)),
            SetDesiredCount(1),
        ],
        {S, SV},
        {"Wakes"},
    ),
    Row(
        "pin on an awake service is saved",
        PinRequested(NOW + timedelta(hours=2), "ops"),
        World(),
        "pinned",
        [SaveState(st(pinned_until=NOW + timedelta(hours=2), pinned_by="ops"))],
        {S, SV, RT},
    ),
    Row(
        "pin is capped at the maximum",
        PinRequested(NOW + timedelta(days=30), "ops"),
        World(),
        "pinned",
        [SaveState(st(pinned_until=NOW + timedelta(hours=24), pinned_by="ops"))],
        {S, SV, RT},
    ),
    Row(
        "pin without an end lasts the maximum",
        PinRequested(None, "ops"),
        World(),
        "pinned",
        [SaveState(st(pinned_until=NOW + timedelta(hours=24), pinned_by="ops"))],
        {S, SV, RT},
    ),
    Row("pin in the past is ignored", PinRequested(ago(5), "ops"), World(), "pin-ignored", [], {S}),
    Row(
        "pin while waking is saved, wake untouched",
        PinRequested(NOW + timedelta(hours=1), "ops"),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "pinned",
        [SaveState(st(wake_started_at=ago(1), pinned_until=NOW + timedelta(hours=1), pinned_by="ops"))],
        {S, SV},
    ),
    Row(
        "unpin",
        UnpinRequested("ops"),
        World(state=st(pinned_until=NOW + timedelta(hours=1), pinned_by="ops")),
        "unpinned",
        [SaveState(st())],
        {S},
    ),
    Row("unpin when not pinned", UnpinRequested("ops"), World(), "not-pinned", [], {S}),
    # ---- ready
    Row(
        "ready: healthy target, traffic back to ECS",
        SteadyState(),
        World(state=st(wake_started_at=ago(0.5)), route=Route.WAKER, healthy=1),
        "ready",
        [RouteTraffic(Route.ECS), SaveState(woken(ago(0.5), "steady-state"))],
        {S, HL},
        {"WakeLatency", "WakeLatency.started-to-ready"},
    ),
    Row(
        "ready: steady but no healthy target yet",
        SteadyState(),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "not-healthy-yet",
        [],
        {S, HL},
    ),
    Row("ready: periodic steady state without a wake", SteadyState(), World(), "steady-no-wake", [], {S}),
    Row(
        "ready: recovers a wake that had a failure recorded",
        SteadyState(),
        World(
            route=Route.WAKER,
            state=st(wake_started_at=ago(4), failure=Failure(kind=FailureKind.TASK_STOPPED, reason="x", at=ago(3))),
        ),
        "ready",
        [RouteTraffic(Route.ECS), SaveState(woken(ago(4), "steady-state"))],
        {S, HL},
        {"WakeLatency", "WakeLatency.started-to-ready"},
    ),
    # ---- readiness: the watch started by each wake, and its checks (SERVICE_STEADY_STATE not needed)
    Row(
        "readiness: a wake starts the watch last, after the count",
        WakeRequested(WakeOrigin.REQUEST),
        World(**ASLEEP),
        "woke",
        [SaveState(st(wake_started_at=NOW)), SetDesiredCount(1), StartReadinessWatch(NOW)],
        {S, SV},
        {"Wakes"},
        WATCH,
    ),
    Row(
        "readiness: a resumed wake starts the watch of the recorded wake",
        WakeRequested(WakeOrigin.REQUEST),
        World(state=WAKING, **ASLEEP),
        "wake-resumed",
        [SetDesiredCount(1), StartReadinessWatch(ago(1))],
        {S, SV},
        set(),
        WATCH,
    ),
    Row(
        "readiness: a wake already under way starts no second watch",
        WakeRequested(WakeOrigin.REQUEST),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "wake-in-progress",
        [],
        {S, SV},
        set(),
        WATCH,
    ),
    Row(
        "readiness: a retried wake watches the new start",
        WakeRequested(WakeOrigin.REQUEST),
        World(route=Route.WAKER, healthy=0, state=st(wake_started_at=ago(3), failure=FRESH)),
        "wake-retried",
        [
            SaveState(st(wake_started_at=NOW, failure=FRESH)),
            SetDesiredCount(1, force_new_deployment=True),
            SaveState(st(wake_started_at=NOW)),
            StartReadinessWatch(NOW),
        ],
        {S, SV},
        {"Wakes"},
        WATCH,
    ),
    Row(
        "readiness: a wake recorded for tasks ECS is already starting is watched too",
        WakeRequested(WakeOrigin.REQUEST),
        World(route=Route.WAKER, healthy=0),
        "wake-recorded",
        [SaveState(st(wake_started_at=NOW)), StartReadinessWatch(NOW)],
        {S, SV, RT, HL},
        {"Wakes"},
        WATCH,
    ),
    Row(
        "readiness: a check that finds a healthy target hands traffic back, with the wake's timeline",
        ReadinessCheck(),
        World(
            state=st(wake_started_at=ago(0.5), wake_requested_at=ago(0.51), task_running_at=ago(0.2)),
            route=Route.WAKER,
            healthy=1,
        ),
        "ready",
        [
            RouteTraffic(Route.ECS),
            SaveState(woken(ago(0.5), "readiness-check", requested_at=ago(0.51), running_at=ago(0.2))),
        ],
        {S, HL},
        {
            "WakeLatency",
            "WakeLatency.requested-to-started",
            "WakeLatency.started-to-running",
            "WakeLatency.running-to-ready",
        },
        WATCH,
    ),
    Row(
        "readiness: a check before any target is healthy changes nothing",
        ReadinessCheck(),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "not-healthy-yet",
        [],
        {S, HL},
        set(),
        WATCH,
    ),
    Row(
        "readiness: a late check after the wake ended reads the record only",
        ReadinessCheck(),
        World(state=st(awake_since=ago(0.1))),
        "check-no-wake",
        [],
        {S},
        set(),
        WATCH,
    ),
    Row(
        "readiness: a check on a failed wake whose task came up after all hands traffic back",
        ReadinessCheck(),
        World(route=Route.WAKER, state=st(wake_started_at=ago(4), failure=FRESH)),
        "ready",
        [RouteTraffic(Route.ECS), SaveState(woken(ago(4), "readiness-check"))],
        {S, HL},
        {"WakeLatency", "WakeLatency.started-to-ready"},
        WATCH,
    ),
    # ---- the wake's timeline: the first task RUNNING during a wake
    Row(
        "timeline: the first task running during a wake is recorded with ECS's startedAt",
        TaskRunning("task/new", started_at=ago(0.2), created_at=ago(0.9)),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "task-running-recorded",
        [SaveState(st(wake_started_at=ago(1), task_running_at=ago(0.2)))],
        {S},
    ),
    Row(
        "timeline: a second task running changes nothing",
        TaskRunning("task/second", started_at=ago(0.1), created_at=ago(0.9)),
        World(state=st(wake_started_at=ago(1), task_running_at=ago(0.2)), route=Route.WAKER, healthy=0),
        "task-running",
        [],
        {S},
    ),
    Row(
        "timeline: a task running outside a wake (a deployment) costs one read",
        TaskRunning("task/deploy", started_at=ago(0.1), created_at=ago(0.5)),
        World(),
        "task-running",
        [],
        {S},
    ),
    Row(
        "timeline: a task created before the wake is not its task",
        TaskRunning("task/old", started_at=ago(0.5), created_at=ago(2)),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "task-running",
        [],
        {S},
    ),
    Row(
        "timeline: a startedAt before the wake (clock skew) is the wake's start at the earliest",
        TaskRunning("task/new", started_at=ago(3), created_at=None),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "task-running-recorded",
        [SaveState(st(wake_started_at=ago(1), task_running_at=ago(1)))],
        {S},
    ),
    # ---- failures
    Row(
        "task start impaired during a wake",
        ServiceTrouble(FailureKind.TASK_START_IMPAIRED, "impaired"),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "wake-failed",
        [
            SaveState(
                st(
                    wake_started_at=ago(1),
                    failure=Failure(kind=FailureKind.TASK_START_IMPAIRED, reason="impaired", at=NOW),
                )
            )
        ],
        {S},
        {"WakeFailures"},
    ),
    Row(
        "placement failure during a wake",
        ServiceTrouble(FailureKind.PLACEMENT_FAILURE, "no capacity"),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "wake-failed",
        [
            SaveState(
                st(
                    wake_started_at=ago(1),
                    failure=Failure(kind=FailureKind.PLACEMENT_FAILURE, reason="no capacity", at=NOW),
                )
            )
        ],
        {S},
        {"WakeFailures"},
    ),
    Row(
        "impaired sent before the current wake started (a late delivery after a retry): not this wake's failure",
        ServiceTrouble(FailureKind.TASK_START_IMPAIRED, "impaired", at=ago(3)),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "failure-outside-wake",
        [],
        {S},
    ),
    Row(
        "impaired sent during the current wake fails it",
        ServiceTrouble(FailureKind.TASK_START_IMPAIRED, "impaired", at=ago(0.5)),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "wake-failed",
        [
            SaveState(
                st(
                    wake_started_at=ago(1),
                    failure=Failure(kind=FailureKind.TASK_START_IMPAIRED, reason="impaired", at=NOW),
                )
            )
        ],
        {S},
        {"WakeFailures"},
    ),
    Row(
        "impaired outside a wake is only logged",
        ServiceTrouble(FailureKind.TASK_START_IMPAIRED, "x"),
        World(),
        "failure-outside-wake",
        [],
        {S, RT, HL},
    ),
    Row(
        "the task whose loss started a repair-tracked wake, delivered again at once: not a failure of it",
        TaskStopped("t", "Essential container in task exited", NOW),
        World(state=st(wake_started_at=NOW), route=Route.WAKER, healthy=0),
        "task-stopped",
        [],
        {S},
    ),
    Row(
        "second failure keeps the first reason",
        ServiceTrouble(FailureKind.TASK_START_IMPAIRED, "later"),
        World(
            state=st(wake_started_at=ago(2), failure=Failure(kind=FailureKind.TASK_STOPPED, reason="first", at=ago(1)))
        ),
        "failure-outside-wake",
        [],
        {S},
    ),
    Row(
        "stopped task of this wake",
        TaskStopped("t", "CannotPullContainerError", ago(0.5)),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "wake-failed",
        [
            SaveState(
                st(
                    wake_started_at=ago(1),
                    failure=Failure(kind=FailureKind.TASK_STOPPED, reason="CannotPullContainerError", at=NOW),
                )
            )
        ],
        {S},
        {"WakeFailures"},
    ),
    Row(
        "stopped task from before this wake",
        TaskStopped("t", "Scaling activity", ago(30)),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "task-stopped",
        [],
        {S},
    ),
    Row(
        "stopped task while asleep (the sleep's own scale-in)",
        TaskStopped("t", "Scaling activity", ago(1)),
        World(**ASLEEP),
        "task-stopped",
        [],
        {S, RT, SV},
    ),
    Row(
        "deployment failed is reported",
        DeploymentFailed("d", "circuit breaker"),
        World(),
        "deployment-failed",
        [
            SaveState(
                st(
                    last_deployment_failure=Failure(
                        kind=FailureKind.DEPLOYMENT_FAILED, reason="circuit breaker", at=NOW
                    )
                )
            )
        ],
        {S, RT, HL},
        {"DeploymentFailures"},
    ),
    Row(
        "deployment failed during a wake fails the wake",
        DeploymentFailed("d", "circuit breaker"),
        World(state=WAKING, route=Route.WAKER, healthy=0),
        "wake-failed",
        [
            SaveState(
                st(
                    wake_started_at=ago(1),
                    last_deployment_failure=Failure(
                        kind=FailureKind.DEPLOYMENT_FAILED, reason="circuit breaker", at=NOW
                    ),
                    failure=Failure(kind=FailureKind.DEPLOYMENT_FAILED, reason="circuit breaker", at=NOW),
                )
            )
        ],
        {S},
        {"DeploymentFailures", "WakeFailures"},
    ),
    Row(
        "pin of a service whose wake passed its deadline reports it and retries",
        PinRequested(NOW + timedelta(hours=1), "ops"),
        World(route=Route.WAKER, healthy=0, state=st(wake_started_at=ago(6))),
        "pinned",
        [
            SaveState(
                st(wake_started_at=NOW, pinned_until=NOW + timedelta(hours=1), pinned_by="ops", failure=DEADLINE)
            ),
            SetDesiredCount(1, force_new_deployment=True),
            SaveState(st(wake_started_at=NOW, pinned_until=NOW + timedelta(hours=1), pinned_by="ops")),
        ],
        {S, SV},
        {"Wakes", "WakeFailures"},
    ),
    Row("reconcile: awake and in sync", ReconcileTick(), World(), "in-sync", [], ALL),
    Row("reconcile: asleep and in sync", ReconcileTick(), World(idle="ALARM", **ASLEEP), "in-sync", [], ALL),
    Row(
        "reconcile: healthy but routed to the waker",
        ReconcileTick(),
        World(route=Route.WAKER),
        "reconciled",
        [RouteTraffic(Route.ECS), SaveState(st(awake_since=NOW))],
        ALL,
        {"ReconcileRepairs"},
    ),
    Row(
        "reconcile: split weights are repaired",
        ReconcileTick(),
        World(route=None),
        "reconciled",
        [RouteTraffic(Route.ECS), SaveState(st(awake_since=NOW))],
        ALL,
        {"ReconcileRepairs"},
    ),
    Row(
        "reconcile: a missed ready",
        ReconcileTick(),
        World(state=WAKING, route=Route.WAKER),
        "reconciled",
        [RouteTraffic(Route.ECS), SaveState(woken(ago(1), "reconcile"))],
        ALL,
        {"ReconcileRepairs", "WakeLatency", "WakeLatency.started-to-ready"},
    ),
    Row(
        "reconcile: no healthy target but routed to ECS",
        ReconcileTick(),
        World(state=WAKING, route=Route.ECS, healthy=0),
        "reconciled",
        [RouteTraffic(Route.WAKER)],
        ALL,
        {"ReconcileRepairs"},
    ),
    Row(
        "reconcile: a wake past its deadline becomes a visible failure",
        ReconcileTick(),
        World(state=st(wake_started_at=ago(6)), route=Route.WAKER, healthy=0),
        "reconciled",
        [
            SaveState(
                st(
                    wake_started_at=ago(6),
                    failure=Failure(
                        kind=FailureKind.DEADLINE_PASSED, reason="the wake did not finish within 5 minutes", at=NOW
                    ),
                )
            )
        ],
        ALL,
        {"WakeFailures"},
    ),
    Row(
        "reconcile: expired pin is cleared",
        ReconcileTick(),
        World(state=st(pinned_until=ago(1), pinned_by="ops")),
        "reconciled",
        [SaveState(st())],
        ALL,
        {"ReconcileRepairs"},
    ),
    Row(
        "reconcile: asleep but routed to ECS",
        ReconcileTick(),
        World(desired=0, route=Route.ECS, healthy=0),
        "reconciled",
        [RouteTraffic(Route.WAKER)],
        ALL,
        {"ReconcileRepairs"},
    ),
    Row(
        "reconcile: wake backstop still in ALARM while asleep wakes",
        ReconcileTick(),
        World(wake_alarm="ALARM", **ASLEEP),
        "reconciled",
        [SaveState(st(wake_started_at=NOW)), SetDesiredCount(1)],
        ALL,
        {"Wakes", "ReconcileRepairs"},
    ),
    Row(
        "reconcile: pinned but asleep wakes",
        ReconcileTick(),
        World(state=st(pinned_until=NOW + timedelta(hours=1)), **ASLEEP),
        "reconciled",
        [SaveState(st(pinned_until=NOW + timedelta(hours=1), wake_started_at=NOW)), SetDesiredCount(1)],
        ALL,
        {"Wakes", "ReconcileRepairs"},
    ),
    Row(
        "reconcile: a wake undone by hand is redone, its deadline still from its first start",
        ReconcileTick(),
        World(state=WAKING, **ASLEEP),
        "reconciled",
        [SetDesiredCount(1)],
        ALL,
        {"Wakes", "ReconcileRepairs"},
    ),
    Row(
        "reconcile: idle alarm still in ALARM after a wake without traffic sleeps",
        ReconcileTick(),
        World(idle="ALARM", state=st(awake_since=ago(20))),
        "slept",
        [RouteTraffic(Route.WAKER), SetDesiredCount(0)],
        ALL,
        {"Sleeps"},
    ),
    Row(
        "reconcile: a sleep stopped half-way and still due is finished (the Lambda retry of a tick completes it)",
        ReconcileTick(),
        World(idle="ALARM", route=Route.WAKER, state=st(awake_since=ago(20))),
        "slept",
        [RouteTraffic(Route.WAKER), SetDesiredCount(0)],
        ALL,
        {"Sleeps"},
    ),
    Row(
        "reconcile: traffic on the waker with healthy tasks and no sleep due is handed back",
        ReconcileTick(),
        World(idle="OK", route=Route.WAKER, state=st(awake_since=ago(20))),
        "reconciled",
        [RouteTraffic(Route.ECS), SaveState(st(awake_since=NOW))],
        ALL,
        {"ReconcileRepairs"},
    ),
    Row(
        "reconcile: idle but inside the minimum awake time",
        ReconcileTick(),
        World(idle="ALARM", state=st(awake_since=ago(3))),
        "in-sync",
        [],
        ALL,
    ),
    Row(
        "reconcile: idle but pinned",
        ReconcileTick(),
        World(idle="ALARM", state=st(pinned_until=NOW + timedelta(hours=1))),
        "in-sync",
        [],
        ALL,
    ),
    Row("reconcile: idle but deploying", ReconcileTick(), World(idle="ALARM", deploying=True), "in-sync", [], ALL),
    Row(
        "reconcile: idle with a hand-scaled count sleeps and remembers it",
        ReconcileTick(),
        World(idle="ALARM", desired=3),
        "slept",
        [SaveState(st(count_before_sleep=3)), RouteTraffic(Route.WAKER), SetDesiredCount(0)],
        ALL,
        {"Sleeps"},
    ),
    Row(
        "reconcile: scaled up by hand while asleep is tracked as a wake",
        ReconcileTick(),
        World(desired=2, route=Route.WAKER, healthy=0),
        "reconciled",
        [SaveState(st(wake_started_at=NOW))],
        ALL,
        {"ReconcileRepairs"},
    ),
]


# Rows added by the review of the first version; each failed before its fix.
ROWS += [
    # ---- liveness: a wake whose tasks never came is a failure, not re-armed forever
    Row(
        "reconcile: a wake undone past its deadline is a visible failure, not re-armed",
        ReconcileTick(),
        World(state=st(wake_started_at=ago(6)), **ASLEEP),
        "reconciled",
        [SaveState(st(failure=DEADLINE))],
        ALL,
        {"WakeFailures"},
    ),
    Row(
        "reconcile: wake backstop still in ALARM does not retry a fresh failure",
        ReconcileTick(),
        World(wake_alarm="ALARM", state=st(failure=FRESH), **ASLEEP),
        "in-sync",
        [],
        ALL,
    ),
    Row(
        "reconcile: wake backstop still in ALARM keeps a fresh deadline failure of an undone wake",
        ReconcileTick(),
        World(wake_alarm="ALARM", state=st(wake_started_at=ago(6)), **ASLEEP),
        "reconciled",
        [SaveState(st(failure=DEADLINE))],
        ALL,
        {"WakeFailures"},
    ),
    Row(
        "reconcile: wake backstop still in ALARM retries a failure older than 5 minutes",
        ReconcileTick(),
        World(wake_alarm="ALARM", state=st(failure=OLD), **ASLEEP),
        "reconciled",
        [SaveState(st(wake_started_at=NOW)), SetDesiredCount(1)],
        ALL,
        {"Wakes", "ReconcileRepairs"},
    ),
    Row(
        "reconcile: pinned but asleep does not retry a fresh failure either",
        ReconcileTick(),
        World(state=st(pinned_until=NOW + timedelta(hours=1), failure=FRESH), **ASLEEP),
        "in-sync",
        [],
        ALL,
    ),
    # ---- automatic wakes wait AUTOMATIC_RETRY_AFTER; explicit requests retry at once (row above)
    Row(
        "wake backstop does not retry a fresh failure (two reads)",
        WakeRequested(WakeOrigin.WAKE_ALARM),
        World(wake_alarm="ALARM", route=Route.WAKER, healthy=0, state=st(wake_started_at=ago(3), failure=FRESH)),
        "retry-deferred",
        [],
        {AL, S},
    ),
    Row(
        "wake backstop retries a failure older than 5 minutes",
        WakeRequested(WakeOrigin.WAKE_ALARM),
        World(wake_alarm="ALARM", route=Route.WAKER, healthy=0, state=st(wake_started_at=ago(7), failure=OLD)),
        "wake-retried",
        [
            SaveState(st(wake_started_at=NOW, failure=OLD)),
            SetDesiredCount(1, force_new_deployment=True),
            SaveState(st(wake_started_at=NOW)),
        ],
        {AL, S, SV},
        {"Wakes"},
    ),
    Row(
        "wake backstop past the deadline reports the failure and does not retry it",
        WakeRequested(WakeOrigin.WAKE_ALARM),
        World(wake_alarm="ALARM", route=Route.WAKER, healthy=0, state=st(wake_started_at=ago(6))),
        "wake-failed",
        [SaveState(st(wake_started_at=ago(6), failure=DEADLINE))],
        {AL, S},
        {"WakeFailures"},
    ),
    Row(
        "explicit wake retries a fresh failure of a sleeping service at once",
        WakeRequested(WakeOrigin.REQUEST),
        World(state=st(failure=FRESH), **ASLEEP),
        "woke",
        [SaveState(st(wake_started_at=NOW, failure=FRESH)), SetDesiredCount(1), SaveState(st(wake_started_at=NOW))],
        {S, SV},
        {"Wakes"},
    ),
    # ---- safety: an idle alarm that stayed in ALARM through the sleep is no proof right after a wake
    Row(
        "reconcile (min awake 0): alarm in ALARM since before the wake does not sleep right after ready",
        ReconcileTick(),
        World(idle="ALARM", idle_changed=ago(30), state=st(awake_since=ago(1))),
        "in-sync",
        [],
        ALL,
        env=MIN_AWAKE_0,
    ),
    Row(
        "reconcile (min awake 0): stale alarm, awake longer than the idle window plus the lag, sleeps",
        ReconcileTick(),
        World(idle="ALARM", idle_changed=ago(30), state=st(awake_since=ago(8))),
        "slept",
        [RouteTraffic(Route.WAKER), SetDesiredCount(0)],
        ALL,
        {"Sleeps"},
        env=MIN_AWAKE_0,
    ),
    Row(
        "reconcile (min awake 0): alarm went to ALARM after the wake sleeps",
        ReconcileTick(),
        World(idle="ALARM", idle_changed=ago(1), state=st(awake_since=ago(7))),
        "slept",
        [RouteTraffic(Route.WAKER), SetDesiredCount(0)],
        ALL,
        {"Sleeps"},
        env=MIN_AWAKE_0,
    ),
    Row(
        "deployment completed (min awake 0) with an alarm in ALARM since before the wake: no sleep",
        DeploymentCompleted("d"),
        World(idle="ALARM", idle_changed=ago(30), state=st(awake_since=ago(1))),
        "sleep-skipped",
        [],
        {AL, S},
        env=MIN_AWAKE_0,
    ),
    Row(
        "idle alarm event (min awake 0) is a fresh transition: sleeps",
        IdleAlarmed(),
        World(idle="ALARM", idle_changed=ago(0.1), state=st(awake_since=ago(1))),
        "slept",
        [RouteTraffic(Route.WAKER), SetDesiredCount(0)],
        {AL, S, SV},
        {"Sleeps"},
        env=MIN_AWAKE_0,
    ),
    # ---- no black hole: failures of an awake service, a wake of a service scaled to 0 by hand
    Row(
        "stopped task of an awake service, no healthy target left: traffic to the waker at once",
        TaskStopped("t", "Essential container in task exited", ago(30)),
        World(healthy=0),
        "traffic-to-waker",
        [RouteTraffic(Route.WAKER), SaveState(st(wake_started_at=NOW))],
        {S, RT, HL, SV},
        {"ReconcileRepairs"},
    ),
    Row(
        "task start impaired of an awake service, no healthy target: traffic to the waker, visibly failed",
        ServiceTrouble(FailureKind.TASK_START_IMPAIRED, "impaired"),
        World(healthy=0),
        "traffic-to-waker",
        [
            RouteTraffic(Route.WAKER),
            SaveState(
                st(
                    wake_started_at=NOW,
                    failure=Failure(kind=FailureKind.TASK_START_IMPAIRED, reason="impaired", at=NOW),
                )
            ),
        ],
        {S, RT, HL, SV},
        {"ReconcileRepairs", "WakeFailures"},
    ),
    Row(
        "stopped task of an awake service, another target healthy: only logged",
        TaskStopped("t", "Essential container in task exited", ago(30)),
        World(),
        "task-stopped",
        [],
        {S, RT, HL},
    ),
    Row(
        "stopped task of a service scaled to 0 by hand with traffic on ECS: traffic to the waker",
        TaskStopped("t", "Scaling activity", ago(30)),
        World(desired=0, healthy=0),
        "traffic-to-waker",
        [RouteTraffic(Route.WAKER)],
        {S, RT, HL, SV},
        {"ReconcileRepairs"},
    ),
    Row(
        "wake of a service scaled to 0 by hand with traffic on ECS: woken; the route is reconcile's",
        WakeRequested(WakeOrigin.REQUEST),
        World(desired=0, route=Route.ECS, healthy=0),
        "woke",
        [SaveState(st(wake_started_at=NOW)), SetDesiredCount(1)],
        {S, SV},
        {"Wakes"},
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_decision_table(row: Row) -> None:
    gateway = RecordingGateway(row.world.observation())
    decision = run(row.trigger, NOW, settings(**row.env), gateway)
    assert decision.outcome == row.outcome, decision
    assert gateway.actions == row.actions
    assert set(gateway.reads) == row.reads
    # Each observation is read at most once per decision.
    assert len(gateway.reads) == len(set(gateway.reads))
    assert {m.name for m in decision.metrics} == row.metrics


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_actions_are_in_the_safe_order(row: Row) -> None:
    """desiredCount 0 only after traffic went to the waker; traffic to ECS never before a count change."""
    decision = run(row.trigger, NOW, settings(**row.env), RecordingGateway(row.world.observation()))
    kinds = list(decision.actions)
    for index, action in enumerate(kinds):
        if action == SetDesiredCount(0):
            assert RouteTraffic(Route.WAKER) in kinds[:index] or row.world.route is Route.WAKER
        if action == RouteTraffic(Route.ECS):
            assert row.world.healthy > 0
            assert not any(isinstance(a, SetDesiredCount) for a in kinds[index:])


def test_ready_reports_the_wake_latency() -> None:
    world = World(state=st(wake_started_at=ago(0.75)), route=Route.WAKER)
    decision = run(SteadyState(), NOW, settings(), RecordingGateway(world.observation()))
    assert [(m.name, m.value, m.unit) for m in decision.metrics] == [
        ("WakeLatency", 45.0, "Seconds"),
        ("WakeLatency.started-to-ready", 45.0, "Seconds"),
    ]


def test_the_table_covers_every_trigger_kind() -> None:
    kinds = {type(r.trigger) for r in ROWS}
    assert kinds == set(Trigger.__args__)


@pytest.mark.parametrize(
    ("route", "healthy", "outside"),
    [
        (Route.WAKER, 0, True),  # asleep by the route, ECS starting tasks: someone else raised desiredCount
        (Route.WAKER, 1, True),  # the same, found once the task was healthy
        (Route.ECS, 0, False),  # awake, a task died: ECS replaces it, nobody scaled anything
    ],
)
def test_the_reconcile_says_when_desired_count_was_raised_outside_warmkeeper(
    route: Route, healthy: int, outside: bool
) -> None:
    world = World(desired=1, route=route, healthy=healthy)
    decision = run(ReconcileTick(), NOW, settings(), RecordingGateway(world.observation()))
    assert decision.level == "warning"
    said = decision.reason is not None and "raised outside Warmkeeper" in decision.reason
    assert said is outside, decision.reason
    if outside:
        assert "IaC" in (decision.reason or "")
