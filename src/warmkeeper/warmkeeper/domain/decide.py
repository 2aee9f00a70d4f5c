"""The controller's decisions: pure functions of (now, settings, observation, trigger).

``decide`` either asks for more observation (``Need``) or returns a ``Decision``. Observations are asked
for one step at a time, cheapest and most decisive first, so a skipped sleep or a repeated wake request
costs one or two reads instead of describing everything.

Action order is part of the decision and is the safe one (docs/design.md):
- sleep: traffic to the waker, then desiredCount 0;
- wake: record the wake, then desiredCount up (a lost record would let a stale idle event sleep the
  service inside its minimum awake time); traffic goes back to ECS only once a target is healthy;
- otherwise the record is written last, except that the count to restore after a sleep is saved first,
  so a lost write cannot forget it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from warmkeeper.domain.model import (
    Action,
    Decision,
    DeploymentCompleted,
    DeploymentFailed,
    DeploymentStarted,
    IdleAlarmed,
    MetricPoint,
    Need,
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
)
from warmkeeper.models.settings import Settings
from warmkeeper_shared.state import (
    AUTOMATIC_RETRY_AFTER,
    MAX_REASON_BYTES,
    ControllerState,
    Failure,
    FailureKind,
    Route,
    bounded_text,
)

ALARM = "ALARM"
# CloudWatch takes 1 to 4 minutes to see a breaching (or a no-longer-breaching) minute; an idle alarm that
# has stayed in ALARM since before a wake says nothing about the time since, until this long after it.
ALARM_EVALUATION_LAG = timedelta(minutes=3)
# A "Wake Requested" older than this no longer stands for a visitor waiting now. Lambda's own two retries of
# a failed invocation come about 1 and 2 minutes apart, so they fit; EventBridge may deliver for up to 24
# hours, and a wake that late would start a service nobody waits for. A visitor still there sends fresh
# requests (each new page load), and the wake backstop alarm counts them.
WAKE_REQUEST_MAX_AGE = timedelta(minutes=5)
# EventBridge stamps ``time`` to the second; the record keeps microseconds.
EVENT_TIME_RESOLUTION = timedelta(seconds=1)

_FIELDS = {
    Observe.STATE: "state",
    Observe.SERVICE: "service",
    Observe.ALARMS: "alarms",
    Observe.ROUTE: "weights",
    Observe.HEALTH: "healthy_targets",
}


# The reconcile's word on a service that slept (traffic on the waker) and got tasks without a wake of
# Warmkeeper's: the user's own IaC re-applying desiredCount on a deploy is the usual cause.
_SCALED_OUTSIDE = (
    "desiredCount was raised outside Warmkeeper while the service slept (scaled up by hand, or a deploy of "
    "the service's own IaC that sets desiredCount); tracked as a wake, the service sleeps again when idle"
)
_HEALTHY_ON_WAKER = (
    "tasks are healthy but traffic was on the waker with no wake on record: desiredCount raised outside "
    "Warmkeeper (by hand, or a deploy of the service's own IaC that sets desiredCount), or a sleep that "
    "stopped half-way; traffic handed back, the service sleeps again when idle"
)


class SleepMode(StrEnum):
    IDLE_ALARM = "idle-alarm"
    AFTER_DEPLOYMENT = "deployment-completed"
    MANUAL = "manual"
    RECONCILE = "reconcile"


def decide(now: datetime, settings: Settings, observed: Observation, trigger: Trigger) -> Need | Decision:
    """The decision for ``trigger``; never raises on what an event or AWS says."""
    if observed.state is not None and observed.state_lost is not None:
        return _recovering(now, settings, observed, trigger)
    return _decide(now, settings, observed, trigger)


def recovered_state(now: datetime, service: ServiceView, route: Route | None, healthy: int) -> ControllerState:
    """A safe record from what AWS tells, for a record that was deleted or overwritten with garbage.

    Safe means: never a sleep sooner than a real record would allow, and every start has a deadline.
    Asleep (desiredCount 0): the empty record. Serving (traffic on a healthy target): awake from now, so the
    minimum awake time and the stale-alarm rule run afresh. Anything else with tasks wanted: a wake from
    now, so the deadline applies and a ready signal or the reconcile hands traffic back. What only the record
    knew is lost and reported: a pin, a failure's reason, the count before a sleep (the current count is used).
    """
    if service.desired_count == 0:
        return ControllerState()
    base = ControllerState(count_before_sleep=service.desired_count)
    if route is Route.ECS and healthy > 0:
        return base.model_copy(update={"awake_since": now})
    return base.model_copy(update={"wake_started_at": now})


def _recovering(now: datetime, settings: Settings, observed: Observation, trigger: Trigger) -> Need | Decision:
    if need := _missing(observed, Observe.SERVICE, Observe.ROUTE, Observe.HEALTH):
        return need
    assert observed.service is not None  # noqa: S101
    assert observed.weights is not None  # noqa: S101
    assert observed.healthy_targets is not None  # noqa: S101
    rebuilt = recovered_state(now, observed.service, observed.weights.route, observed.healthy_targets)
    inner = _decide(now, settings, replace(observed, state=rebuilt, state_lost=None), trigger)
    if isinstance(inner, Need):
        return inner
    # The rebuilt record is written first unless the decision writes one (built on it) anyway.
    saves = any(isinstance(a, SaveState) for a in inner.actions)
    actions = inner.actions if saves else (SaveState(rebuilt), *inner.actions)
    lost = f"the controller's record was lost ({observed.state_lost}); rebuilt from ECS and the load balancer"
    return replace(
        inner,
        actions=actions,
        metrics=(*inner.metrics, _count("StateRecovered")),
        reason=f"{lost}; {inner.reason}" if inner.reason else lost,
        level="error",
        details=inner.details | {"state_lost": observed.state_lost, "recovered": rebuilt.to_json()},
    )


def _decide(  # noqa: PLR0911, PLR0912 - one return per kind of trigger
    now: datetime, settings: Settings, observed: Observation, trigger: Trigger
) -> Need | Decision:
    match trigger:
        case IdleAlarmed():
            return _sleep(now, settings, observed, SleepMode.IDLE_ALARM)
        case DeploymentCompleted():
            # A sleep that fell during the deployment was deferred; this is its turn.
            return _sleep(now, settings, observed, SleepMode.AFTER_DEPLOYMENT)
        case SleepRequested():
            return _sleep(now, settings, observed, SleepMode.MANUAL)
        case WakeRequested():
            return _wake(now, settings, observed, trigger)
        case PinRequested():
            return _pin(now, settings, observed, trigger)
        case UnpinRequested():
            return _unpin(observed)
        case SteadyState() | ReadinessCheck():
            return _ready(now, observed, "steady-state" if isinstance(trigger, SteadyState) else "readiness-check")
        case ServiceTrouble():
            return _failure(
                now, settings, observed, trigger.kind, trigger.reason, event_at=trigger.at, deployment=False
            )
        case DeploymentFailed():
            return _failure(now, settings, observed, FailureKind.DEPLOYMENT_FAILED, trigger.reason, deployment=True)
        case TaskStopped():
            return _failure(
                now,
                settings,
                observed,
                FailureKind.TASK_STOPPED,
                trigger.reason,
                task_created_at=trigger.created_at,
                deployment=False,
            )
        case DeploymentStarted():
            return Decision("deployment-started", reason="sleeps are deferred until the deployment ends")
        case TaskRunning():
            return _task_running(now, observed, trigger)
        case ReconcileTick():
            return _reconcile(now, settings, observed)


# ---------------------------------------------------------------- helpers


def _watch(settings: Settings, wake_started_at: datetime | None) -> tuple[Action, ...]:
    """The readiness watch for a wake that just started or resumed (none when the stack has no watch)."""
    if settings.readiness_state_machine_arn is None or wake_started_at is None:
        return ()
    return (StartReadinessWatch(wake_started_at),)


def _missing(observed: Observation, *what: Observe) -> Need | None:
    missing = frozenset(w for w in what if getattr(observed, _FIELDS[w]) is None)
    return Need(missing) if missing else None


def _overdue(now: datetime, settings: Settings, state: ControllerState) -> bool:
    started = state.wake_started_at
    return started is not None and now >= started + settings.wake_deadline


def _deadline_failure(now: datetime, settings: Settings) -> Failure:
    reason = f"the wake did not finish within {settings.wake_deadline_minutes} minutes"
    return Failure(kind=FailureKind.DEADLINE_PASSED, reason=reason, at=now)


def _failure_record(kind: FailureKind, reason: str, now: datetime) -> Failure:
    # ECS reasons can be long: the record keeps a bounded copy (see warmkeeper_shared.state).
    return Failure(kind=kind, reason=bounded_text(reason, MAX_REASON_BYTES), at=now)


def _fresh(now: datetime, failure: Failure | None) -> bool:
    """A failure too recent for an automatic wake to retry (see AUTOMATIC_RETRY_AFTER)."""
    return failure is not None and now < failure.at + AUTOMATIC_RETRY_AFTER


def stale_idle_blocker(
    now: datetime, settings: Settings, state: ControllerState, idle_changed: datetime | None
) -> tuple[str, str] | None:
    """Why an idle alarm that is *still* in ALARM (no fresh event) does not yet prove idleness, or None.

    The alarm stays in ALARM through a whole sleep and leaves it only minutes after traffic resumes, so
    right after a wake it still reads ALARM. It proves idleness only once the service has been awake
    longer than the alarm's window plus CloudWatch's lag, or if it went to ALARM after the service woke.
    """
    marks = [m for m in (state.awake_since, state.wake_started_at) if m is not None]
    if not marks:
        return None  # no record of a wake: nothing says the alarm's reading predates one
    since = max(marks)
    if idle_changed is not None and idle_changed > since:
        return None
    ready_at = since + timedelta(minutes=settings.idle_minutes) + ALARM_EVALUATION_LAG
    if now >= ready_at:
        return None
    return (
        "alarm-predates-wake",
        f"the idle alarm has been in ALARM since before the wake ({_iso(since)}); it proves idleness "
        f"from {_iso(ready_at)}",
    )


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _count(name: str, value: float = 1) -> MetricPoint:
    return MetricPoint(name, value)


def sleep_blocker(now: datetime, settings: Settings, state: ControllerState, mode: SleepMode) -> tuple[str, str] | None:
    """Why the record forbids a sleep now (reason code, explanation), or None.

    A manual sleep overrides the minimum awake time, but never a pin.
    """
    if state.pinned_at(now):
        assert state.pinned_until is not None  # noqa: S101 - narrowed by pinned_at
        return "pinned", f"pinned until {_iso(state.pinned_until)} by {state.pinned_by or 'unknown'}"
    if mode is SleepMode.MANUAL:
        return None
    if state.wake_started_at is not None and state.failure is None and not _overdue(now, settings, state):
        return "wake-in-progress", f"a wake started at {_iso(state.wake_started_at)} is under way"
    marks = [m for m in (state.awake_since, state.wake_started_at) if m is not None]
    if marks and now < max(marks) + settings.min_awake:
        return (
            "min-awake",
            f"awake since {_iso(max(marks))}; the minimum is {settings.min_awake_minutes} minutes",
        )
    return None


def _sleep_actions(
    now: datetime, settings: Settings, state: ControllerState, service: ServiceView
) -> tuple[tuple[Action, ...], bool]:
    """The safe sleep sequence for an awake service, and whether it really changes the count."""
    actions: list[Action] = []
    if service.desired_count > 0 and state.count_before_sleep != service.desired_count:
        # Saved before anything changes: after a lost write the count would be gone for good.
        state = state.model_copy(update={"count_before_sleep": service.desired_count})
        actions.append(SaveState(state))
    actions.append(RouteTraffic(Route.WAKER))
    if service.desired_count > 0:
        actions.append(SetDesiredCount(0))
    if state.wake_started_at is not None:
        # Saved after: if the sleep fails half-way the wake record keeps the deadline running.
        actions.append(SaveState(_ending_wake(now, settings, state)))
    return tuple(actions), service.desired_count > 0


def _ending_wake(now: datetime, settings: Settings, state: ControllerState) -> ControllerState:
    """The record of a sleep that ends a wake; a wake past its deadline ends as a visible failure."""
    update: dict[str, object] = {"wake_started_at": None, "wake_requested_at": None, "task_running_at": None}
    if state.failure is None and _overdue(now, settings, state):
        update["failure"] = _deadline_failure(now, settings)
    return state.model_copy(update=update)


def _skipped(code: str, reason: str, mode: SleepMode) -> Decision:
    # Reconcile ticks and deployment completions re-evaluate sleep all the time; only real sleep requests
    # count as skipped in the metric, or a pinned service would report a skip every minute.
    metrics: tuple[MetricPoint, ...] = ()
    if mode in (SleepMode.IDLE_ALARM, SleepMode.MANUAL):
        metrics = (_count("SleepsSkipped"), _count(f"SleepsSkipped.{code}"))
    return Decision("sleep-skipped", metrics=metrics, reason=reason, details={"skip": code, "mode": mode})


# ---------------------------------------------------------------- sleep


def _sleep(  # noqa: PLR0911 - each guard ends the decision early, cheapest read first
    now: datetime, settings: Settings, observed: Observation, mode: SleepMode
) -> Need | Decision:
    if mode is not SleepMode.MANUAL:
        # Re-read: the event may be old, duplicated or overtaken by activity since.
        if need := _missing(observed, Observe.ALARMS):
            return need
        assert observed.alarms is not None  # noqa: S101
        alarm = observed.alarms.get(settings.idle_alarm_name, "UNKNOWN")
        if alarm != ALARM:
            if mode is SleepMode.AFTER_DEPLOYMENT:
                return Decision("nothing-to-do", reason=f"deployment ended; the idle alarm is {alarm}")
            return _skipped("not-idle", f"the idle alarm is {alarm} now", mode)
    if need := _missing(observed, Observe.STATE):
        return need
    assert observed.state is not None  # noqa: S101
    state = observed.state
    if blocker := sleep_blocker(now, settings, state, mode):
        return _skipped(*blocker, mode)
    if mode in (SleepMode.AFTER_DEPLOYMENT, SleepMode.IDLE_ALARM):
        # Not an alarm transition: the alarm may have stayed in ALARM since before a wake (a retry's
        # forced deployment completing right after the service became ready). An idle-alarm event
        # delivered late (Lambda retries, EventBridge's retry window) can be such a transition from
        # before the wake: the alarm's own timestamp tells.
        changed = (observed.alarms_changed or {}).get(settings.idle_alarm_name)
        if blocker := stale_idle_blocker(now, settings, state, changed):
            return _skipped(*blocker, mode)
    if need := _missing(observed, Observe.SERVICE):
        return need
    assert observed.service is not None  # noqa: S101
    service = observed.service
    if service.deployment_in_progress:
        return _skipped("deployment", "a deployment is in progress; the sleep is deferred until it ends", mode)
    actions, scaled = _sleep_actions(now, settings, state, service)
    if not scaled:
        return Decision("already-asleep", actions=actions, reason="desiredCount is 0; traffic stays on the waker")
    return Decision(
        "slept",
        actions=actions,
        metrics=(_count("Sleeps"),),
        details={"mode": mode, "count_before_sleep": service.desired_count},
    )


# ---------------------------------------------------------------- wake and pin


def _wake(now: datetime, settings: Settings, observed: Observation, wake: WakeRequested) -> Need | Decision:
    origin = wake.origin
    if origin is WakeOrigin.REQUEST and wake.sent_at is not None and now - wake.sent_at > WAKE_REQUEST_MAX_AGE:
        # Nothing read: an old request must not cost the visitors' path anything.
        return Decision(
            "wake-request-stale",
            metrics=(_count("StaleEventsIgnored"),),
            reason=f"the request was sent at {_iso(wake.sent_at)}, more than "
            f"{int(WAKE_REQUEST_MAX_AGE.total_seconds() // 60)} minutes ago",
            level="warning",
            details={"origin": origin, "requested_by": wake.requested_by},
        )
    if origin is WakeOrigin.WAKE_ALARM:
        # The event may be late, duplicated or forged (a direct invocation): the alarm itself decides.
        if need := _missing(observed, Observe.ALARMS):
            return need
        assert observed.alarms is not None  # noqa: S101
        alarm = observed.alarms.get(settings.wake_alarm_name, "UNKNOWN")
        if alarm != ALARM:
            return Decision("wake-alarm-not-in-alarm", reason=f"the wake alarm is {alarm} now")
    if need := _missing(observed, Observe.STATE):
        return need
    assert observed.state is not None  # noqa: S101
    return _wake_with(now, settings, observed, observed.state, origin, requested_at=wake.sent_at)


def _wake_with(  # noqa: PLR0911 - each guard ends the decision early, cheapest read first
    now: datetime,
    settings: Settings,
    observed: Observation,
    state: ControllerState,
    origin: WakeOrigin,
    *,
    requested_at: datetime | None = None,
) -> Need | Decision:
    """Wake from ``state`` (the record, possibly with a new pin that must be saved whatever happens)."""
    keep: tuple[Action, ...] = (SaveState(state),) if state != observed.state else ()
    overdue = _overdue(now, settings, state)
    if state.wake_started_at is not None and state.failure is None and not overdue:
        # The record is written before UpdateService: if that call failed, this (the Lambda retry of the
        # same event, or a later request) must finish it, not wait for a reconcile.
        if need := _missing(observed, Observe.SERVICE):
            return need
        assert observed.service is not None  # noqa: S101
        progress: dict[str, str | int | float | None] = {
            "origin": origin,
            "elapsed_seconds": state.wake_elapsed_seconds(now),
        }
        if observed.service.desired_count == 0:
            target = max(1, state.count_before_sleep)
            return Decision(
                "wake-resumed",
                actions=(*keep, SetDesiredCount(target), *_watch(settings, state.wake_started_at)),
                reason="the wake was recorded but desiredCount is still 0 (UpdateService did not happen)",
                level="warning",
                details=progress | {"desired_count": target},
            )
        return Decision("wake-in-progress", actions=keep, reason="a wake is already under way", details=progress)
    # A wake past its deadline that no reconcile noticed yet: a failure now, reported whatever follows.
    missed = state.failure is None and overdue
    failure = _deadline_failure(now, settings) if missed else state.failure
    reported = (_count("WakeFailures"),) if missed else ()
    if origin.automatic and failure is not None and _fresh(now, failure):
        # The backstop alarm counts visitors even while failed: retrying on it would redeploy a broken
        # image for every returning visitor. An explicit request retries at once.
        failed = state.model_copy(update={"failure": failure})
        minutes = int(AUTOMATIC_RETRY_AFTER.total_seconds() // 60)
        return Decision(
            "wake-failed" if missed else "retry-deferred",
            actions=(SaveState(failed),) if failed != observed.state else (),
            metrics=reported,
            reason=f"{failure.reason}; an automatic wake retries a failure once it is {minutes} minutes old",
            level="error" if missed else "info",
            details={"origin": origin, "failed_at": _iso(failure.at)},
        )
    if need := _missing(observed, Observe.SERVICE):
        return need
    assert observed.service is not None  # noqa: S101
    service = observed.service
    target = max(1, state.count_before_sleep)
    # The wake's marks for its timeline start afresh; the request's own time when it came before now.
    marks = {"wake_requested_at": requested_at if requested_at is not None and requested_at < now else None}
    marks["task_running_at"] = None
    started = state.model_copy(update={"wake_started_at": now, "failure": None, **marks})
    details: dict[str, str | int | float | None] = {"origin": origin, "desired_count": target}
    # A retry keeps the failure on record until ECS has accepted the new count: if UpdateService fails
    # (a policy, a task definition it refuses), the waiting page keeps saying why instead of "starting"
    # again and again. The new start is saved with it, so the minimum awake time counts from now.
    retry: tuple[Action, ...] = ()
    if failure is not None:
        retry = (SaveState(state.model_copy(update={"wake_started_at": now, "failure": failure, **marks})),)
    reason = f"retrying after: {failure.reason}" if failure is not None else None
    if service.desired_count == 0:
        # The route is not read here: the controller routes to the waker before every sleep, and a count
        # set to 0 by hand with traffic left on ECS is repaired by the next reconcile (one read saved on the
        # path visitors wait on).
        ordered = (
            (*retry, SetDesiredCount(target), SaveState(started))
            if retry
            else (SaveState(started), SetDesiredCount(target))
        )
        return Decision(
            "woke",
            actions=(*ordered, *_watch(settings, now)),
            metrics=(_count("Wakes"), *reported),
            reason=reason,
            level="warning" if failure is not None else "info",
            details=details,
        )
    if failure is not None:
        count = max(service.desired_count, target)
        return Decision(
            "wake-retried",
            actions=(
                *retry,
                SetDesiredCount(count, force_new_deployment=True),
                SaveState(started),
                *_watch(settings, now),
            ),
            metrics=(_count("Wakes"), *reported),
            reason=reason,
            level="warning",
            details=details | {"desired_count": count},
        )
    # ECS already wants tasks and no wake is recorded: awake, or a wake whose record was lost.
    if need := _missing(observed, Observe.ROUTE):
        return need
    assert observed.weights is not None  # noqa: S101
    if observed.weights.route is Route.ECS:
        return Decision("already-awake", actions=keep, details={"origin": origin})
    if need := _missing(observed, Observe.HEALTH):
        return need
    assert observed.healthy_targets is not None  # noqa: S101
    if observed.healthy_targets > 0:
        awake = state.woken(now, "wake-request")
        return Decision(
            "traffic-restored",
            actions=(RouteTraffic(Route.ECS), SaveState(awake)),
            metrics=(_count("ReconcileRepairs"),),
            reason="tasks were healthy but traffic was on the waker",
            level="warning",
        )
    return Decision(
        "wake-recorded",
        actions=(SaveState(started), *_watch(settings, now)),
        metrics=(_count("Wakes"),),
        reason="ECS is already starting tasks; the wake is recorded so its deadline applies",
        details=details,
    )


def _pin(now: datetime, settings: Settings, observed: Observation, pin: PinRequested) -> Need | Decision:
    if need := _missing(observed, Observe.STATE):
        return need
    assert observed.state is not None  # noqa: S101
    cap = now + settings.max_pin
    until = cap if pin.until is None else min(pin.until, cap)
    if until <= now:
        return Decision("pin-ignored", reason=f"the pin ended already ({_iso(until)})", level="warning")
    pinned = observed.state.model_copy(update={"pinned_until": until, "pinned_by": pin.requested_by})
    outcome = _wake_with(now, settings, observed, pinned, WakeOrigin.PIN)
    if isinstance(outcome, Need):
        return outcome
    return Decision(
        "pinned",
        actions=outcome.actions,
        metrics=outcome.metrics,
        reason=outcome.reason,
        level=outcome.level,
        details={
            "pinned_until": _iso(until),
            "capped": pin.until is not None and pin.until > cap,
            "wake": outcome.outcome,
        },
    )


def _unpin(observed: Observation) -> Need | Decision:
    if need := _missing(observed, Observe.STATE):
        return need
    assert observed.state is not None  # noqa: S101
    if observed.state.pinned_until is None:
        return Decision("not-pinned")
    unpinned = observed.state.model_copy(update={"pinned_until": None, "pinned_by": None})
    # Sleep, if due, is left to the idle alarm or the next reconcile tick (the alarm may be in ALARM
    # already and will not send another event).
    return Decision("unpinned", actions=(SaveState(unpinned),))


# ---------------------------------------------------------------- ready and failures


def _ready(now: datetime, observed: Observation, signal: Literal["steady-state", "readiness-check"]) -> Need | Decision:
    """SERVICE_STEADY_STATE and the readiness watch's checks end the same way: traffic back on a healthy target.

    Neither is trusted: the record says whether a wake is under way, target health whether it may end."""
    if need := _missing(observed, Observe.STATE):
        return need
    assert observed.state is not None  # noqa: S101
    state = observed.state
    if state.wake_started_at is None:
        # SERVICE_STEADY_STATE repeats periodically, and a watch may tick once after the wake ended.
        outcome = "steady-no-wake" if signal == "steady-state" else "check-no-wake"
        return Decision(outcome, reason="no wake under way", details={"signal": signal})
    if need := _missing(observed, Observe.HEALTH):
        return need
    assert observed.healthy_targets is not None  # noqa: S101
    if observed.healthy_targets == 0:
        return Decision(
            "not-healthy-yet", reason="no healthy target in the ECS target group yet", details={"signal": signal}
        )
    latency = (now - state.wake_started_at).total_seconds()
    awake = state.woken(now, signal)
    return Decision(
        "ready",
        actions=(RouteTraffic(Route.ECS), SaveState(awake)),
        metrics=(MetricPoint("WakeLatency", latency, "Seconds"), *_phase_metrics(awake)),
        details={"wake_latency_seconds": latency, "signal": signal, **_timeline_details(awake)},
    )


def _task_running(now: datetime, observed: Observation, task: TaskRunning) -> Need | Decision:
    """The first task RUNNING during a wake is the timeline's ``running`` mark (one read otherwise)."""
    if need := _missing(observed, Observe.STATE):
        return need
    assert observed.state is not None  # noqa: S101
    state = observed.state
    started = state.wake_started_at
    if started is None or state.task_running_at is not None:
        return Decision("task-running", reason="no wake waiting for its first task", details={"task": task.task_arn})
    if task.created_at is not None and task.created_at + EVENT_TIME_RESOLUTION < started:
        # A task of before the wake (a late event of the previous awake spell) says nothing about this one.
        return Decision("task-running", reason="the task predates the current wake", details={"task": task.task_arn})
    running_at = max(started, min(task.started_at or now, now))
    marked = state.model_copy(update={"task_running_at": running_at})
    return Decision(
        "task-running-recorded",
        actions=(SaveState(marked),),
        details={"task": task.task_arn, "running_after_seconds": (running_at - started).total_seconds()},
    )


def _phase_metrics(awake: ControllerState) -> tuple[MetricPoint, ...]:
    """``WakeLatency.<from>-to-<to>``: where the seconds of the wake that just ended went."""
    if awake.last_wake is None:
        return ()
    return tuple(MetricPoint(f"WakeLatency.{p}", s, "Seconds") for p, s in awake.last_wake.phases().items())


def _timeline_details(awake: ControllerState) -> dict[str, str | int | float | None]:
    """The finished wake's timeline for the decision log: each mark, then the seconds of each phase."""
    timeline = awake.last_wake
    if timeline is None:
        return {}
    marks = {
        "requested_at": timeline.requested_at or timeline.started_at,
        "started_at": timeline.started_at,
        "running_at": timeline.running_at,
        "ready_at": timeline.ready_at,
    }
    details: dict[str, str | int | float | None] = {
        f"wake_{name}": _iso(at) for name, at in marks.items() if at is not None
    }
    details |= {f"wake_{p.replace('-', '_')}_seconds": s for p, s in timeline.phases().items()}
    return details


def _failure(  # noqa: PLR0911 - each kind of outcome ends the decision early
    now: datetime,
    settings: Settings,
    observed: Observation,
    kind: FailureKind,
    reason: str,
    *,
    task_created_at: datetime | None = None,
    event_at: datetime | None = None,
    deployment: bool,
) -> Need | Decision:
    if need := _missing(observed, Observe.STATE):
        return need
    assert observed.state is not None  # noqa: S101
    state = observed.state
    metrics: list[MetricPoint] = []
    details: dict[str, str | int | float | None] = {"kind": kind}
    if deployment:
        metrics.append(_count("DeploymentFailures"))
        state = state.model_copy(update={"last_deployment_failure": _failure_record(kind, reason, now)})
    started = state.wake_started_at
    # Strictly after: the wake's start is saved before UpdateService, so its tasks are created later; a task
    # created at that very instant is the one whose loss started a repair-tracked wake (a duplicate event).
    # An ECS service event sent before the wake started (a late delivery after a retry) is about an
    # earlier attempt.
    of_this_wake = (
        started is not None
        and (task_created_at is None or task_created_at > started)
        and (event_at is None or event_at > started - EVENT_TIME_RESOLUTION)
    )
    if of_this_wake and state.failure is None:
        metrics.append(_count("WakeFailures"))
        failed = state.model_copy(update={"failure": _failure_record(kind, reason, now)})
        return Decision(
            "wake-failed",
            actions=(SaveState(failed),),
            metrics=tuple(metrics),
            reason=reason,
            level="error",
            details=details,
        )
    if started is None:
        # No wake under way: the service is awake (or asleep). If this left it without a healthy target,
        # traffic must go to the waker now, not at the next reconcile (invariant 1).
        repaired = _failure_black_hole(now, settings, observed, state)
        if isinstance(repaired, Need):
            return repaired
        if repaired is not None:
            moves, repairs, state = repaired
            metrics.append(_count("ReconcileRepairs", len(repairs)))
            if task_created_at is None and state.wake_started_at is not None and state.failure is None:
                # ECS says it cannot start the tasks the repair now tracks as a wake: that wake has
                # failed already (and a duplicate of this event must not record it a second time).
                metrics.append(_count("WakeFailures"))
                state = state.model_copy(update={"failure": _failure_record(kind, reason, now)})
            return Decision(
                "traffic-to-waker",
                actions=(*moves, *((SaveState(state),) if state != observed.state else ())),
                metrics=tuple(metrics),
                reason=f"{reason} (no healthy target left: traffic moved to the waker)",
                level="error" if deployment or state.failure is not None else "warning",
                details=details | {"repairs": ",".join(repairs)},
            )
    actions: tuple[Action, ...] = (SaveState(state),) if state != observed.state else ()
    if deployment:
        return Decision("deployment-failed", actions=actions, metrics=tuple(metrics), reason=reason, level="error")
    why = "failure already recorded" if state.failure is not None else "no wake under way"
    if started is not None and not of_this_wake:
        why = "the task predates the current wake" if event_at is None else "the event predates the current wake"
    if kind is FailureKind.TASK_STOPPED:
        # Most often the scale-in of a sleep, or a task replaced by a deployment: not a failure at all.
        return Decision(
            "task-stopped", actions=actions, reason=f"{reason} ({why}; not a wake failure)", details=details
        )
    return Decision(
        "failure-outside-wake",
        actions=actions,
        reason=f"{reason} ({why})",
        level="warning",
        details=details,
    )


def _failure_black_hole(  # noqa: PLR0911 - each read can end it, cheapest first
    now: datetime, settings: Settings, observed: Observation, state: ControllerState
) -> Need | tuple[tuple[Action, ...], list[str], ControllerState] | None:
    """The reconcile's own repair, done at once: traffic on ECS with no healthy target goes to the waker.

    Cheapest read first: after a sleep (the usual stopped task) the route and the count say all is well.
    With traffic already on the waker, a service still starting tasks gets its wake recorded (the
    Lambda retry of an event whose first attempt moved the traffic but failed to save the record).
    """
    if need := _missing(observed, Observe.ROUTE):
        return need
    assert observed.weights is not None  # noqa: S101
    if observed.weights.route is Route.WAKER:
        if state.wake_started_at is not None or state.failure is not None:
            return None
        if need := _missing(observed, Observe.SERVICE):
            return need
        assert observed.service is not None  # noqa: S101
        if observed.service.desired_count == 0:
            return None
        if need := _missing(observed, Observe.HEALTH):
            return need
        assert observed.healthy_targets is not None  # noqa: S101
        if observed.healthy_targets > 0:
            return None
        waker_plan = _Plan(before=state, state=state)
        _reconcile_starting(now, settings, waker_plan, Route.WAKER)
        return (), waker_plan.repairs, waker_plan.state
    if need := _missing(observed, Observe.HEALTH):
        return need
    assert observed.healthy_targets is not None  # noqa: S101
    if observed.healthy_targets > 0:
        return None
    if need := _missing(observed, Observe.SERVICE):
        return need
    assert observed.service is not None  # noqa: S101
    plan = _Plan(before=state, state=state)
    if observed.service.desired_count == 0:
        plan.repairs.append("asleep-but-routed-to-ecs")
        plan.pre.append(RouteTraffic(Route.WAKER))
    else:
        _reconcile_starting(now, settings, plan, observed.weights.route)
    return (*plan.pre,), plan.repairs, plan.state


# ---------------------------------------------------------------- reconcile


@dataclass
class _Plan:
    """What a reconcile tick has decided so far."""

    before: ControllerState
    state: ControllerState
    pre: list[Action] = field(default_factory=list)  # traffic to the waker, desired count
    post: list[Action] = field(default_factory=list)  # traffic to ECS
    repairs: list[str] = field(default_factory=list)
    metrics: list[MetricPoint] = field(default_factory=list)
    level: Literal["info", "warning", "error"] = "info"
    reason: str | None = None

    def update(self, **changes: object) -> None:
        self.state = self.state.model_copy(update=changes)

    def decision(self, outcome: str, *, saved: bool = False) -> Decision:
        # Safe order: traffic to the waker, then the record if it starts a wake (so the wake is known
        # before ECS starts anything), then the desired count, then traffic to ECS, then the record.
        waker = [a for a in self.pre if isinstance(a, RouteTraffic)]
        counts = [a for a in self.pre if not isinstance(a, RouteTraffic)]
        save: list[Action] = [SaveState(self.state)] if not saved and self.state != self.before else []
        if saved:
            actions = [*self.pre, *self.post]  # already in order (the sleep sequence)
        elif any(isinstance(a, SetDesiredCount) and a.count > 0 for a in counts):
            actions = [*waker, *save, *counts, *self.post]
        else:
            actions = [*waker, *counts, *self.post, *save]
        metrics = list(self.metrics)
        level = self.level
        if self.repairs:
            metrics.append(_count("ReconcileRepairs", len(self.repairs)))
            level = "warning" if level == "info" else level
        if not actions and outcome == "reconciled":
            outcome = "in-sync"
        return Decision(
            outcome,
            actions=tuple(actions),
            metrics=tuple(metrics),
            reason=self.reason,
            level=level,
            details={"repairs": ",".join(self.repairs) or None},
        )


def _reconcile(now: datetime, settings: Settings, observed: Observation) -> Need | Decision:
    """Converge whatever events missed; safe at any moment because it acts on what it reads."""
    if need := _missing(observed, *Observe):
        return need
    assert observed.state is not None  # noqa: S101
    assert observed.service is not None  # noqa: S101
    assert observed.alarms is not None  # noqa: S101
    assert observed.weights is not None  # noqa: S101
    assert observed.healthy_targets is not None  # noqa: S101
    plan = _Plan(before=observed.state, state=observed.state)
    if plan.state.pinned_until is not None and plan.state.pinned_until <= now:
        plan.update(pinned_until=None, pinned_by=None)
        plan.repairs.append("pin-expired")
    service, healthy, route = observed.service, observed.healthy_targets, observed.weights.route
    if service.desired_count == 0:
        _reconcile_asleep(now, settings, plan, observed.alarms, route)
        return plan.decision("reconciled")
    # Alarms only send transitions: a service that stayed idle after a wake gets no new event.
    idle = observed.alarms.get(settings.idle_alarm_name) == ALARM and not service.deployment_in_progress
    sleep_due = False
    if healthy > 0 and idle and sleep_blocker(now, settings, plan.state, SleepMode.RECONCILE) is None:
        changed = (observed.alarms_changed or {}).get(settings.idle_alarm_name)
        if blocker := stale_idle_blocker(now, settings, plan.state, changed):
            plan.reason = blocker[1]
        else:
            sleep_due = True
    if healthy == 0:
        _reconcile_starting(now, settings, plan, route)
    elif (plan.state.wake_started_at is not None or route is not Route.ECS) and not (
        sleep_due and plan.state.wake_started_at is None
    ):
        # Tasks are healthy but traffic is not on them: a missed ready signal or a wake whose record was
        # lost: hand back. (A sleep that stopped half-way, traffic moved but the count not, is finished
        # below when it is still due, so the Lambda retry of a tick completes it.)
        _reconcile_hand_back(now, plan, route)
        return plan.decision("reconciled")
    if sleep_due:
        return _reconcile_sleep(now, settings, plan, service)
    return plan.decision("reconciled")


def _reconcile_hand_back(now: datetime, plan: _Plan, route: Route | None) -> None:
    """A ready signal was missed, or traffic was left on the waker: a target is healthy, hand it back."""
    if plan.state.wake_started_at is not None:
        latency = (now - plan.state.wake_started_at).total_seconds()
        plan.metrics.append(MetricPoint("WakeLatency", latency, "Seconds"))
        plan.metrics.extend(_phase_metrics(plan.state.woken(now, "reconcile")))
        plan.repairs.append("missed-ready")
    else:
        plan.repairs.append("healthy-but-routed-to-waker")
        if route is Route.WAKER:
            plan.reason = _HEALTHY_ON_WAKER
    plan.state = plan.state.woken(now, "reconcile")
    if route is not Route.ECS:
        plan.post.append(RouteTraffic(Route.ECS))


def _reconcile_asleep(
    now: datetime, settings: Settings, plan: _Plan, alarms: dict[str, str], route: Route | None
) -> None:
    if route is not Route.WAKER:
        plan.repairs.append("asleep-but-routed-to-ecs")
        plan.pre.append(RouteTraffic(Route.WAKER))
    state = plan.state
    if state.wake_started_at is not None and state.failure is None and _overdue(now, settings, state):
        # The tasks never came (UpdateService refused, a wake undone...): the wake failed. Re-arming it
        # would move its deadline forever and leave the waiting page spinning.
        failure = _deadline_failure(now, settings)
        plan.reason = failure.reason
        plan.metrics.append(_count("WakeFailures"))
        plan.level = "error"
        plan.update(failure=failure, wake_started_at=None, wake_requested_at=None, task_running_at=None)
        return
    why = None
    if state.pinned_at(now):
        why = "pinned-but-asleep"
    elif alarms.get(settings.wake_alarm_name) == ALARM:
        # Alarms only send transitions: visitors kept arriving while asleep and no wake came of it.
        why = "wake-alarm-in-alarm"
    elif state.wake_started_at is not None and state.failure is None:
        why = "wake-undone"
    if why and state.failure is not None and _fresh(now, state.failure):
        # An automatic wake: a fresh failure waits (an explicit "Wake Requested" retries at once).
        plan.reason = f"{why}: the failure at {_iso(state.failure.at)} is too recent for an automatic retry"
        why = None
    if why:
        plan.repairs.append(why)
        plan.metrics.append(_count("Wakes"))
        plan.pre.append(SetDesiredCount(max(1, state.count_before_sleep)))
        if state.wake_started_at is None or state.failure is not None:
            plan.update(wake_started_at=now, failure=None, wake_requested_at=None, task_running_at=None)
        # Otherwise the same wake is redone: its deadline still runs from its first start.
    elif state.wake_started_at is not None:
        # A failed wake whose service was scaled to zero since: nothing is starting any more.
        plan.update(wake_started_at=None, wake_requested_at=None, task_running_at=None)


def _reconcile_starting(now: datetime, settings: Settings, plan: _Plan, route: Route | None) -> None:
    """ECS wants tasks and none is healthy yet."""
    state = plan.state
    if route is not Route.WAKER:
        # Invariant 1: no healthy target, so traffic belongs on the waker.
        plan.repairs.append("no-healthy-target-but-routed-to-ecs")
        plan.pre.append(RouteTraffic(Route.WAKER))
    if state.wake_started_at is None and state.failure is None:
        # Tasks died, or someone scaled the service by hand: track it as a wake so its deadline applies.
        plan.repairs.append("starting-without-wake-record")
        if route is Route.WAKER:
            # Asleep by Warmkeeper's route, yet ECS wants tasks: nobody asked Warmkeeper for this wake.
            plan.reason = _SCALED_OUTSIDE
        plan.update(wake_started_at=now, wake_requested_at=None, task_running_at=None)
    elif state.failure is None and _overdue(now, settings, state):
        plan.reason = f"the wake did not finish within {settings.wake_deadline_minutes} minutes"
        plan.metrics.append(_count("WakeFailures"))
        plan.update(failure=Failure(kind=FailureKind.DEADLINE_PASSED, reason=plan.reason, at=now))
        plan.level = "error"


def _reconcile_sleep(now: datetime, settings: Settings, plan: _Plan, service: ServiceView) -> Decision:
    """The sleep of an awake service whose idle alarm stayed in ALARM (no new event will come)."""
    final = _ending_wake(now, settings, plan.state).model_copy(update={"count_before_sleep": service.desired_count})
    actions: list[Action] = []
    written = plan.before
    if final.count_before_sleep != plan.before.count_before_sleep:
        written = plan.state.model_copy(update={"count_before_sleep": service.desired_count})
        actions.append(SaveState(written))
    # The sleep's own traffic move covers any repair that wanted traffic on the waker.
    actions += [RouteTraffic(Route.WAKER), SetDesiredCount(0)]
    if final != written:
        actions.append(SaveState(final))
    plan.pre, plan.post, plan.state = actions, [], final
    plan.metrics.append(_count("Sleeps"))
    return plan.decision("slept", saved=True)
