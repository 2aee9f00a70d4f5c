"""A hypothesis state machine of the controller in a moving world, checking the four invariants of docs/design.md.

The world: visitors (on ECS they are activity; on the waker they ask for a wake and feed the backstop
alarm), heartbeats, operators (pin, unpin, sleep, scaling by hand), deployments that complete or fail,
tasks that start, crash or cannot start. EventBridge: an event is delivered as it happens (within seconds,
as EventBridge mostly does), or goes to a pending list from which the test delivers in any order,
duplicates, drops, delivers late, or delivers two at once with the first one acting on stale reads (what
happens without reserved concurrency). AWS: any call can fail (throttling,
5xx, access denied); Lambda then retries the event or gives it to the dead-letter queue. And for a
stretch of steps UpdateService can fail every time (a policy without ecs:UpdateService, a task
definition ECS refuses), which no retry fixes.

Invariants, checked after every step:
1. No black hole: desiredCount 0 never leaves traffic on ECS; traffic never goes to ECS without a
   healthy target (checked at the ModifyRule call); after a reconcile, no healthy target means the
   waker.
2. Safety: desiredCount 0 is never set while pinned, during a deployment, before traffic moved, and (for
   anything but an operator's sleep) while the idle alarm says there was activity or inside the minimum
   awake time, counted from the later of the wake and traffic coming back (checked at the UpdateService
   call).
3. Liveness: a wake ends AWAKE (traffic on a healthy target) or FAILED (visible in the record) by the
   first reconcile after its deadline, timed from the wake's *first* start (a wake redone or re-recorded
   is the same wake until it ends, also through an operator's scaling by hand), also when that reconcile
   itself fails on a persistent fault, and also when the decision that started the wake failed half-way.
   A stopped task created after the wake started, or ECS saying tasks cannot start, makes the wake a
   visible failure as soon as that event is handled (not only at the deadline). An automatic wake
   (backstop alarm, reconcile) never retries a failure younger than AUTOMATIC_RETRY_AFTER.
4. Idempotence: delivering the same event again right away changes nothing.

Races between two unserialized invocations can break 1 and 2 for a moment (a pin racing a sleep); they
are recorded apart and must be repaired by the next reconcile.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from warmkeeper.adapters.aws import AwsClients, AwsGateway
from warmkeeper.controller import run
from warmkeeper.domain.decide import ALARM_EVALUATION_LAG, decide
from warmkeeper.domain.model import (
    Decision,
    DeploymentCompleted,
    DeploymentFailed,
    DeploymentStarted,
    IdleAlarmed,
    Observation,
    PinRequested,
    ReconcileTick,
    ServiceTrouble,
    SleepRequested,
    SteadyState,
    TaskStopped,
    Trigger,
    UnpinRequested,
    WakeOrigin,
    WakeRequested,
)
from warmkeeper.models.settings import Settings
from warmkeeper_shared.state import (
    AUTOMATIC_RETRY_AFTER,
    ControllerState,
    FailureKind,
    Phase,
    Route,
    derive_phase,
)

IDLE, WAKE = "warmkeeper-idle", "warmkeeper-wake"
TASK_START = timedelta(minutes=1)
# A running task's target passes the load balancer's health checks this long after ECS starts it; ECS may
# report SERVICE_STEADY_STATE before that (its tasks run), so a ready signal can find no healthy target yet.
HEALTH_CHECKS_PASS = timedelta(seconds=30)
# The reconcile schedule (the template's ReconcileMinutes, 1 by default): time passing in the model may
# fire it at every period it crosses, as EventBridge's schedule does.
RECONCILE_PERIOD = timedelta(minutes=1)
WAKER_HIT_WINDOW = timedelta(minutes=3)
MAX_CALLS = 9  # reconcile: five reads and at most four writes
# CloudWatch sees a minute's activity 1 to 4 minutes late (field reports); the model uses a lag inside the
# controller's own assumption (ALARM_EVALUATION_LAG), so an alarm still in ALARM right after a wake, with
# the visitor who woke it already there, happens here as it does in AWS.
CLOUDWATCH_LAG = timedelta(minutes=2)


class WorldLike(Protocol):
    now: datetime
    calls: list[str]
    write_checks: list[Any]
    fault_at: tuple[int, str] | None
    armed_fault_fired: bool
    persistent_faults: dict[str, str]

    @property
    def desired(self) -> int: ...
    @property
    def healthy(self) -> int: ...
    @property
    def deploying(self) -> bool: ...
    @property
    def route(self) -> Route | None: ...
    @property
    def state(self) -> ControllerState: ...
    @property
    def parameter(self) -> str: ...
    def arm_fault(self, at: int, kind: str) -> None: ...
    def clients(self) -> AwsClients: ...
    def minutes_later(self, minutes: float) -> None: ...
    def alarm(self, name: str) -> str: ...
    def set_alarm(self, name: str, value: str) -> None: ...
    def set_desired(self, count: int) -> None: ...
    def set_healthy(self, count: int) -> None: ...
    def set_deploying(self, deploying: bool) -> None: ...
    def settings_environment(self) -> dict[str, str]: ...


faults = st.one_of(
    st.none(),
    st.tuples(st.integers(min_value=0, max_value=6), st.sampled_from(["throttling", "server-error", "access-denied"])),
)


class ControllerMachine(RuleBasedStateMachine):
    """Subclasses set ``make_world``."""

    # Whether time passing may fire the reconcile schedule at every period it crosses. Against moto each
    # tick costs nine real API calls through botocore, so the moto variant leaves the schedule to the
    # ``reconcile_tick`` step and the in-memory variants search the timing.
    schedule_fires = True

    def make_world(self) -> WorldLike:
        raise NotImplementedError

    def __init__(self) -> None:
        super().__init__()
        self.world = self.make_world()
        self.settings: Settings = Settings.from_environ(self.world.settings_environment())
        self.clients = self.world.clients()
        self.pending: list[Trigger] = []
        self.running: Trigger | None = None
        self.in_race = False
        self.racy = False  # a race happened; strict checks wait for the next reconcile
        self.unsettled = False  # someone scaled by hand; strict checks wait for the next reconcile
        self.violations: list[str] = []
        self.race_violations: list[str] = []
        self.now_start = self.world.now
        # When ECS last began starting tasks (a wake, a retry, a crash's replacement): the world's timer.
        self.scaled_up_at = self.world.now - timedelta(hours=1)
        # When desiredCount last went from 0 to more: the start of the minimum awake time.
        self.woken_at = self.world.now - timedelta(hours=1)
        # When desiredCount last went from 0 to more by the controller or by hand (then only while the record
        # held no wake, so the reconcile noticing it records one that starts no earlier): an idle ALARM
        # from before this says nothing about the time since.
        self.started_at = self.woken_at
        # When traffic last came back to ECS (a decision that moved it there completed): the minimum awake
        # time also runs from here (MIN_AWAKE_MINUTES: "no idle sleep sooner after a wake started or
        # traffic came back").
        self.served_at = self.world.now - timedelta(hours=1)
        # The start (scaled_up_at) whose SERVICE_STEADY_STATE ECS already sent.
        self.steady_for: datetime | None = None
        self.last_activity = self.world.now
        # Activity CloudWatch has not seen yet (CLOUDWATCH_LAG); the idle alarm reads the rest.
        self.unseen_activity: list[datetime] = []
        self.seen_activity = self.world.now
        self.last_waker_hit = self.world.now - timedelta(hours=1)
        self.deploy_started: datetime | None = None
        self.broken = False
        # When the wake under way first started; kept until it ends AWAKE or visibly FAILED.
        self.wake_watch: datetime | None = None
        # The record as the running decision found it (before its own writes).
        self.state_before = self.world.state
        self.world.write_checks.append(self._check_write)

    # ------------------------------------------------------------ instrumentation

    def _flag(self, message: str) -> None:
        # After a race, every later decision may act on what the race left, until a reconcile repairs it.
        (self.race_violations if self.in_race or self.racy else self.violations).append(
            f"{message} (at {self.world.now:%H:%M:%S}, trigger {self.running!r})"
        )

    def _check_write(self, operation: str, params: dict[str, Any]) -> None:
        world = self.world
        if operation == "elbv2:ModifyRule":
            groups = params["Actions"][0]["ForwardConfig"]["TargetGroups"]
            ecs = next(g["Weight"] for g in groups if g["TargetGroupArn"] == self.settings.ecs_target_group_arn)
            if ecs > 0 and world.healthy == 0:
                self._flag("traffic sent to ECS without a healthy target")
        if operation == "ecs:UpdateService":
            count = params["desiredCount"]
            if count == world.desired and not params.get("forceNewDeployment"):
                # Harmless once, but an UpdateService per visitor's request throttles the account.
                self._flag("an UpdateService that changes nothing")
            if count == 0 and world.desired > 0:
                self._check_sleep()
            if count > 0 and (world.desired == 0 or params.get("forceNewDeployment")):
                self.scaled_up_at = world.now
            if count > 0 and world.desired == 0:
                self.woken_at = self.started_at = world.now
            # The record as the decision found it, or as it just saved it (a wake past its deadline that
            # this decision itself records as failed is a fresh failure too).
            fresh = self._fresh_failure(self.state_before) or self._fresh_failure(world.state)
            if count > 0 and self._automatic() and fresh:
                self._flag("an automatic wake retried a fresh failure")

    def _automatic(self) -> bool:
        running = self.running
        return isinstance(running, ReconcileTick) or (
            isinstance(running, WakeRequested) and running.origin is WakeOrigin.WAKE_ALARM
        )

    def _fresh_failure(self, state: ControllerState) -> bool:
        return state.failure is not None and self.world.now < state.failure.at + AUTOMATIC_RETRY_AFTER

    def _check_sleep(self) -> None:
        world = self.world
        if world.route is not Route.WAKER:
            self._flag("desiredCount 0 while traffic still goes to ECS")
        if world.state.pinned_at(world.now):
            self._flag("slept while pinned")
        if world.deploying:
            self._flag("slept during a deployment")
        if isinstance(self.running, SleepRequested):
            return
        if world.alarm(IDLE) != "ALARM":
            self._flag("slept although the idle alarm saw activity")
        if world.now - max(self.woken_at, self.served_at) < self.settings.min_awake:
            self._flag("slept inside the minimum awake time")
        changed = getattr(world, "alarms_changed", {}).get(IDLE)
        window = timedelta(minutes=self.settings.idle_minutes) + ALARM_EVALUATION_LAG
        # An ALARM that began at the very moment of the wake says nothing about the time since either; and
        # the window counts from when the service serves again (visitors only then make activity).
        since = max(self.started_at, self.served_at)
        stale = changed is not None and changed <= self.started_at and world.now < since + window
        if stale and not self.unsettled:
            # The alarm's ALARM began before the wake: it says nothing about the time since (CloudWatch lag).
            self._flag("slept on an idle alarm left over from before the wake")

    def _deliver(self, trigger: Trigger, fault: tuple[int, str] | None) -> Decision | None:
        self.world.fault_at = None
        self.world.armed_fault_fired = False
        self.state_before = self.world.state
        route_before = self.world.route
        if fault is not None:
            self.world.arm_fault(*fault)
        self.running = trigger
        gateway = AwsGateway(self.clients, self.settings)
        try:
            try:
                decision = run(trigger, self.world.now, self.settings, gateway)
            except ClientError:
                return None
            finally:
                self.world.fault_at = None
                self.running = None
        finally:
            self._drain()
            # Also after a failed invocation: what it wrote before the failing call stands.
            self._track_wake()
        assert len(gateway.calls) <= MAX_CALLS, gateway.calls
        if route_before is not Route.ECS and self.world.route is Route.ECS:
            self.served_at = self.world.now
        self._after(trigger, decision)
        return decision

    def _drain(self) -> None:
        """ECS deregisters a stopping task's target within seconds: gone by the end of the invocation."""
        if self.world.desired == 0 and self.world.healthy > 0:
            self.world.set_healthy(0)
            self._enqueue(TaskStopped("task/old", "Scaling activity initiated by deployment", self.scaled_up_at))

    def _track_wake(self) -> None:
        """The wake watch from the record alone, after any invocation (one that failed half-way too)."""
        if self.racy:
            return
        state = self.world.state
        phase = derive_phase(state, self.world.desired)
        if phase in (Phase.AWAKE, Phase.FAILED):
            self.wake_watch = None
        elif self.wake_watch is None and phase is Phase.WAKING:
            self.wake_watch = state.wake_started_at

    def _check_failure_shown(self, trigger: Trigger) -> None:
        """ECS reporting that a task of the wake under way stopped, or that tasks cannot start, fails the
        wake at once (docs/controller.md): the waiting page shows why instead of spinning to the deadline."""
        before = self.state_before
        if before.wake_started_at is None or before.failure is not None or self.racy or self.unsettled:
            return
        if isinstance(trigger, TaskStopped):
            about = trigger.created_at
        elif isinstance(trigger, ServiceTrouble):
            about = trigger.at
        else:
            return
        if about is not None and about > before.wake_started_at:
            assert self.world.state.failure is not None, (
                f"{trigger!r} about the wake from {before.wake_started_at} left it {self.world.state!r}"
            )

    def _after(self, trigger: Trigger, decision: Decision) -> None:
        self._check_failure_shown(trigger)
        state = self.world.state
        phase = derive_phase(state, self.world.desired)
        metrics = {m.name for m in decision.metrics}
        if phase in (Phase.AWAKE, Phase.FAILED) or "WakeFailures" in metrics:
            # The wake ended: in service, or as a visible failure (a retry right after is a new wake).
            self.wake_watch = None
        if self.wake_watch is None and (phase is Phase.WAKING or "Wakes" in metrics):
            # The first start only: a wake that is redone or re-recorded keeps its deadline.
            self.wake_watch = state.wake_started_at or self.world.now
        if isinstance(trigger, SleepRequested) and phase is Phase.SLEEPING:
            # An operator's sleep ends a wake, also one whose tasks never came (outcome already-asleep).
            self.wake_watch = None
        if isinstance(trigger, ReconcileTick):
            self._after_reconcile()

    def _after_reconcile(self) -> None:
        world = self.world
        # What any reconcile must leave, even right after a race or an operator's hand: the repairs.
        if world.healthy == 0:
            assert world.route is Route.WAKER, "no healthy target after a reconcile, yet traffic is not on the waker"
        phase = derive_phase(world.state, world.desired)
        if phase is Phase.AWAKE:
            assert world.route is Route.ECS and world.healthy > 0, "AWAKE on record but not serving"
        if world.state.pinned_at(world.now) and not self._fresh_failure(world.state):
            assert world.desired > 0, "pinned, yet asleep after a reconcile"
        if self.racy:
            # Strict checks resume from here; a wake the race disturbed is not tracked.
            self.racy = self.unsettled = False
            self.wake_watch = None
            return
        # A wake survives an operator's scaling by hand with its deadline (docs/controller.md): the
        # liveness check goes on; only the sleep checks that need an undisturbed history wait.
        self.unsettled = False
        self._check_liveness()

    def _check_liveness(self) -> None:
        world = self.world
        if self.wake_watch is not None and world.now >= self.wake_watch + self.settings.wake_deadline:
            phase = derive_phase(world.state, world.desired)
            assert phase in (Phase.AWAKE, Phase.FAILED), (
                f"endless spinner: a wake from {self.wake_watch} is {phase} at {world.now}"
            )

    def _enqueue(self, trigger: Trigger) -> None:
        self.pending.append(trigger)

    # ------------------------------------------------------------ time and the world's own moves

    @initialize(asleep=st.booleans(), broken=st.booleans())
    def starting_point(self, asleep: bool, broken: bool) -> None:
        """Half the runs start asleep (idle for an hour), some with an image that cannot start."""
        self.broken = broken
        if asleep:
            world = self.world
            world.set_desired(0)
            world.set_healthy(0)
            self.clients.elbv2.modify_rule(
                RuleArn=self.settings.route_rule_arn,
                Actions=[
                    {
                        "Type": "forward",
                        "ForwardConfig": {
                            "TargetGroups": [
                                {"TargetGroupArn": self.settings.ecs_target_group_arn, "Weight": 0},
                                {"TargetGroupArn": self.settings.waker_target_group_arn, "Weight": 1},
                            ]
                        },
                    }
                ],
            )
            self.last_activity = self.seen_activity = world.now - timedelta(hours=1)
            world.set_alarm(IDLE, "ALARM")
        self.world.calls.clear()

    @rule(
        minutes=st.sampled_from([0.25, 0.5, 1, 2, 3, 5, 8, 12]),
        # EventBridge's schedule is late or loses ticks now and then, not every other time.
        scheduled=st.sampled_from([True, True, True, False]),
        early_ready=st.booleans(),
        prompt=st.booleans(),
    )
    def time_passes(self, minutes: float, scheduled: bool, early_ready: bool, prompt: bool = False) -> None:
        """Time passes in steps of at most the reconcile period; the world moves at each, and when
        ``scheduled`` (three times in four) the reconcile schedule fires at every period crossed (otherwise
        its ticks are late or lost, and the ``reconcile_tick`` step stands for them). With ``early_ready``
        ECS reports steady state as soon as the tasks run, before their targets pass the health checks. With
        ``prompt`` EventBridge delivers what the world emits as it happens (within seconds, as it mostly
        does), otherwise the events wait in the pending list for the delivery steps (late, in any order)."""
        world = self.world
        end = world.now + timedelta(minutes=minutes)
        while world.now < end:
            step = min(end - world.now, RECONCILE_PERIOD - (world.now - self.now_start) % RECONCILE_PERIOD)
            world.minutes_later(step.total_seconds() / 60)
            emitted = len(self.pending)
            self._world_moves(early_ready)
            if prompt:
                self._deliver_promptly(emitted)
            if scheduled and self.schedule_fires and (world.now - self.now_start) % RECONCILE_PERIOD == timedelta(0):
                self.reconcile_tick(None)

    def _deliver_promptly(self, emitted: int) -> None:
        """Deliver, in order, the events emitted since the pending list held ``emitted`` (also those the
        deliveries themselves cause); one whose invocation fails waits for Lambda's retry."""
        failed: list[Trigger] = []
        while len(self.pending) > emitted:
            trigger = self.pending.pop(emitted)
            if self._deliver(trigger, None) is None:
                failed.append(trigger)
        self.pending.extend(failed)

    def _world_moves(self, early_ready: bool) -> None:
        world = self.world
        now = world.now
        if world.desired == 0 and world.healthy > 0:
            world.set_healthy(0)
            self._enqueue(TaskStopped("task/old", "Scaling activity initiated by deployment", self.scaled_up_at))
        if world.desired > 0 and world.healthy == 0 and now >= self.scaled_up_at + TASK_START:
            if self.broken:
                self._enqueue(TaskStopped("task/new", "CannotPullContainerError", now - timedelta(seconds=20)))
                if now >= self.scaled_up_at + 3 * TASK_START:
                    self._enqueue(ServiceTrouble(FailureKind.TASK_START_IMPAIRED, "impaired", at=now))
            elif now >= self.scaled_up_at + TASK_START + HEALTH_CHECKS_PASS:
                world.set_healthy(world.desired)
                if self.steady_for != self.scaled_up_at:
                    self._enqueue(SteadyState())
                self.steady_for = self.scaled_up_at
            elif early_ready and self.steady_for != self.scaled_up_at:
                self._enqueue(SteadyState())
                self.steady_for = self.scaled_up_at
        if world.deploying and self.deploy_started is not None:
            if self.broken and world.desired > 0 and now >= self.deploy_started + 3 * TASK_START:
                world.set_deploying(False)
                self._enqueue(DeploymentFailed("ecs-svc/1", "circuit breaker"))
            elif (world.desired == 0 or world.healthy > 0) and now >= self.deploy_started + TASK_START:
                world.set_deploying(False)
                self._enqueue(DeploymentCompleted("ecs-svc/1"))
        elif world.deploying:
            self.deploy_started = now  # a retry's forced deployment
        self._alarms()

    def _activity(self) -> None:
        self.last_activity = self.world.now
        self.unseen_activity.append(self.world.now)

    def _alarms(self) -> None:
        world = self.world
        seen = [a for a in self.unseen_activity if a + CLOUDWATCH_LAG <= world.now]
        if seen:
            self.seen_activity = max(self.seen_activity, *seen)
            self.unseen_activity = [a for a in self.unseen_activity if a + CLOUDWATCH_LAG > world.now]
        quiet = world.now - self.seen_activity >= timedelta(minutes=self.settings.idle_minutes)
        idle = "ALARM" if quiet else "OK"
        if idle != world.alarm(IDLE):
            world.set_alarm(IDLE, idle)
            if idle == "ALARM":
                self._enqueue(IdleAlarmed())
        wake = "ALARM" if world.now - self.last_waker_hit < WAKER_HIT_WINDOW else "OK"
        if wake != world.alarm(WAKE):
            world.set_alarm(WAKE, wake)
            if wake == "ALARM":
                self._enqueue(WakeRequested(WakeOrigin.WAKE_ALARM, WAKE))

    @rule(prompt=st.booleans())
    def visitor(self, prompt: bool = False) -> None:
        """With ``prompt`` EventBridge delivers the visitor's events (a wake request, the backstop alarm's
        transition) at once, as it mostly does; otherwise they wait in the pending list."""
        emitted = len(self.pending)
        self._visit()
        if prompt:
            self._deliver_promptly(emitted)

    def _visit(self) -> None:
        world = self.world
        if world.route is Route.ECS and world.healthy > 0:
            self._activity()
        else:
            # The waiting page asks for a wake, except while a failure is fresh (as the HTTP face does:
            # then only the retry button asks); the backstop alarm counts the hit either way.
            self.last_waker_hit = world.now
            if not self._fresh_failure(world.state):
                self._enqueue(WakeRequested(WakeOrigin.REQUEST, "waiting-page", sent_at=world.now))
        self._alarms()

    @rule()
    def heartbeat(self) -> None:
        self._activity()
        self._alarms()

    @rule(hours=st.one_of(st.none(), st.sampled_from([0.5, 2, 30])))
    def operator_pins(self, hours: float | None) -> None:
        until = None if hours is None else self.world.now + timedelta(hours=hours)
        self._enqueue(PinRequested(until, "ops"))

    @rule()
    def operator_unpins(self) -> None:
        self._enqueue(UnpinRequested("ops"))

    @rule()
    def operator_sleeps(self) -> None:
        self._enqueue(SleepRequested("ops"))

    @rule(count=st.sampled_from([0, 1, 2]))
    def operator_scales_by_hand(self, count: int) -> None:
        world = self.world
        if world.desired == 0 and count > 0:
            # Not a wake of the controller's: the minimum awake time starts when a reconcile notices it.
            self.scaled_up_at = world.now
            if world.state.wake_started_at is None and world.state.failure is None:
                self.started_at = world.now
        world.set_desired(count)
        self._drain()
        self.unsettled = True
        # The wake watch stays: a wake keeps its deadline through scaling by hand (the reconcile redoes a
        # wake scaled to 0 with the same deadline, and tracks a start by hand as a wake of its own).

    @rule(times=st.integers(min_value=2, max_value=4), origin=st.sampled_from([WakeOrigin.REQUEST, WakeOrigin.PIN]))
    def wake_requested_again_and_again(self, times: int, origin: WakeOrigin) -> None:
        """Visitors reloading the waiting page, or an operator asking for a wake (a pin) repeatedly."""
        for _ in range(times):
            if origin is WakeOrigin.PIN:
                self._enqueue(PinRequested(self.world.now + timedelta(minutes=30), "ops"))
            else:
                self._enqueue(WakeRequested(WakeOrigin.REQUEST, "ops", sent_at=self.world.now))

    @rule()
    def deployment_starts(self) -> None:
        if not self.world.deploying:
            self.world.set_deploying(True)
            self.deploy_started = self.world.now
            self._enqueue(DeploymentStarted("ecs-svc/1"))

    @rule(broken=st.booleans())
    def image_breaks_or_heals(self, broken: bool) -> None:
        self.broken = broken

    @precondition(lambda self: self.world.healthy > 0)
    @rule()
    def task_crashes(self) -> None:
        self.world.set_healthy(0)
        self._enqueue(TaskStopped("task/crashed", "Essential container in task exited", self.scaled_up_at))
        self.scaled_up_at = self.world.now  # ECS starts a replacement

    # ------------------------------------------------------------ EventBridge and Lambda

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), fault=faults, retried=st.booleans())
    def deliver(self, data: st.DataObject, fault: tuple[int, str] | None, retried: bool) -> None:
        index = data.draw(st.integers(min_value=0, max_value=len(self.pending) - 1), label="event")
        trigger = self.pending.pop(index)
        if self._deliver(trigger, fault) is None and retried:
            self.pending.append(trigger)  # Lambda retries it later; otherwise it went to the DLQ

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def deliver_twice(self, data: st.DataObject) -> None:
        index = data.draw(st.integers(min_value=0, max_value=len(self.pending) - 1), label="event")
        trigger = self.pending.pop(index)
        if self._deliver(trigger, None) is None:
            return
        before = self._snapshot()
        again = self._deliver(trigger, None)
        if again is None:
            # Only a persistent fault may fail a repeat that ran clean the first time.
            assert self.world.persistent_faults, f"delivering {trigger!r} again failed"
            return
        assert self._snapshot() == before, f"delivering {trigger!r} twice changed {before} to {self._snapshot()}"

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def lose(self, data: st.DataObject) -> None:
        self.pending.pop(data.draw(st.integers(min_value=0, max_value=len(self.pending) - 1), label="event"))

    @precondition(lambda self: len(self.pending) >= 2)
    @rule(data=st.data())
    def two_at_once(self, data: st.DataObject) -> None:
        """A reads, B runs to the end, then A acts on what it read (no reserved concurrency)."""
        first = self.pending.pop(data.draw(st.integers(min_value=0, max_value=len(self.pending) - 1)))
        second = self.pending.pop(data.draw(st.integers(min_value=0, max_value=len(self.pending) - 1)))
        gateway = AwsGateway(self.clients, self.settings)
        observed = Observation()
        outcome = decide(self.world.now, self.settings, observed, first)
        while not isinstance(outcome, Decision):
            observed = gateway.observe(outcome.what, observed)
            outcome = decide(self.world.now, self.settings, observed, first)
        self._deliver(second, None)
        self.in_race = self.racy = True
        self.running = first
        try:
            for action in outcome.actions:
                gateway.perform(action)
        except ClientError:
            pass  # a persistent fault: this invocation fails and its event is retried or kept in the DLQ
        finally:
            self.in_race = False
            self.running = None
            self._drain()
        self._after(first, outcome)

    @rule(fault=faults)
    def reconcile_tick(self, fault: tuple[int, str] | None) -> None:
        decision = self._deliver(ReconcileTick(), fault)
        if decision is None and not self.world.armed_fault_fired and not self.racy:
            # Only a persistent fault stopped it: the tick happened, and a wake past its deadline must
            # already be visible as failed (a failure that can be recorded without the failing call).
            self._check_liveness()

    @rule(kind=st.sampled_from(["access-denied", "invalid-parameter"]))
    def update_service_keeps_failing(self, kind: str) -> None:
        self.world.persistent_faults["ecs:UpdateService"] = kind

    @precondition(lambda self: self.world.persistent_faults)
    @rule()
    def update_service_repaired(self) -> None:
        self.world.persistent_faults.clear()

    # ------------------------------------------------------------ invariants

    def _snapshot(self) -> tuple[int, Route | None, str]:
        return (self.world.desired, self.world.route, self.world.parameter)

    @invariant()
    def invariants_hold(self) -> None:
        # 2: every write so far was safe (checked as it happened).
        assert not self.violations, self.violations
        # 1: a sleeping service never leaves traffic on ECS (unless a race or an operator just did).
        if not (self.racy or self.unsettled) and self.world.desired == 0:
            assert self.world.route is Route.WAKER, "desiredCount 0 with traffic on ECS"

    def teardown(self) -> None:
        # Let the world settle: a reconcile after everything ends must leave a consistent picture.
        self.world.persistent_faults.clear()
        if self.racy or self.unsettled:
            self._deliver(ReconcileTick(), None)
        self.racy = self.unsettled = False
        self._deliver(ReconcileTick(), None)
