"""The controller's invariants when SERVICE_STEADY_STATE comes early, late or never, with the readiness watch.

The machine of tests/warmkeeper/machine.py, over the in-memory AWS, with a stack that has the readiness watch
(``states:StartExecution`` is one more call a fault can hit). Per variant, the ECS event is sent when ECS
accepts the new count (early: before any target is healthy), held back and released at a random later step
(late), or never sent. The watch is modelled as the template defines it: while the record shows the wake it
was started for (no failure, under its check limit), each tick puts a "Readiness Check" on the bus (into the
machine's pending events, which may be lost, duplicated or reordered like any other) or, in a second rule,
reaches the controller at once. Checked on top of the machine's invariants (liveness included, so every wake
still ends AWAKE or visibly FAILED by its deadline without the ECS event):

- a check delivered without a fault while the watch's wake is recorded and a target is healthy puts traffic
  on ECS: a healthy target gets traffic within one watch interval, whatever SERVICE_STEADY_STATE does;
- a watch never outlives its wake: once the record no longer shows it, the watch stops.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, cast

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from tests.warmkeeper.fake_aws import World
from tests.warmkeeper.machine import ControllerMachine, WorldLike, faults
from tests.warmkeeper.test_properties import NO_SHRINK, SCALE
from warmkeeper.adapters.aws import AwsClients
from warmkeeper.domain.model import ReadinessCheck, SteadyState, Trigger
from warmkeeper_shared.state import Route

MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:warmkeeper-readiness"
MAX_CHECKS = 120  # template.yaml's ReadinessWatch


@dataclass
class Watch:
    wake_started_at: str
    checks: int = 0
    ended: bool = False


@dataclass(kw_only=True)
class WatchedWorld(World):
    watches: list[Watch] = field(default_factory=list)

    def settings_environment(self) -> dict[str, str]:
        return super().settings_environment() | {"READINESS_STATE_MACHINE_ARN": MACHINE_ARN}

    def clients(self) -> AwsClients:
        base = super().clients()
        return AwsClients(
            ecs=base.ecs, elbv2=base.elbv2, cloudwatch=base.cloudwatch, ssm=base.ssm, states=cast(Any, _States(self))
        )


@dataclass
class _States:
    world: WatchedWorld

    def start_execution(self, **params: Any) -> dict[str, Any]:
        self.world.before_call("states:StartExecution", params)
        assert params["stateMachineArn"] == MACHINE_ARN
        self.world.watches.append(Watch(json.loads(params["input"])["wakeStartedAt"]))
        return {"executionArn": f"{MACHINE_ARN}:{params['name']}", "startDate": self.world.now}


class ReadinessMachine(ControllerMachine):
    timing: ClassVar[Literal["on-time", "early", "late", "never"]]

    def make_world(self) -> WorldLike:
        return WatchedWorld()

    def __init__(self) -> None:
        super().__init__()
        self.late: list[Trigger] = []
        self.world.write_checks.append(self._early_steady_state)

    @property
    def watched(self) -> WatchedWorld:
        return cast(WatchedWorld, self.world)

    # ------------------------------------------------------------ SERVICE_STEADY_STATE, per variant

    def _early_steady_state(self, operation: str, params: dict[str, Any]) -> None:
        if self.timing == "early" and operation == "ecs:UpdateService" and params.get("desiredCount", 0) > 0:
            self.pending.append(SteadyState())  # before any target of the new tasks is healthy

    def _enqueue(self, trigger: Trigger) -> None:
        if isinstance(trigger, SteadyState) and self.timing != "on-time":
            if self.timing == "late":
                self.late.append(trigger)
            return  # early: sent at UpdateService already; never: not at all
        super()._enqueue(trigger)

    @precondition(lambda self: self.late)
    @rule()
    def late_steady_state_arrives(self) -> None:
        super()._enqueue(self.late.pop(0))

    # ------------------------------------------------------------ the readiness watch

    @precondition(lambda self: self.world.desired == 0 and self.world.route is Route.WAKER)
    @rule()
    def visitor_wakes_it_at_once(self) -> None:
        """A visitor on the waiting page, and its wake request delivered right away: more wakes to watch."""
        before = len(self.pending)
        self.visitor()
        if len(self.pending) > before:
            self._deliver(self.pending.pop(), None)

    def _live(self) -> list[Watch]:
        return [w for w in self.watched.watches if not w.ended]

    def _tick(self, watch: Watch) -> bool:
        """The definition's loop: stop unless the record still shows this wake; True when it asks."""
        record = json.loads(self.world.parameter or "{}")
        if record.get("wakeStartedAt") != watch.wake_started_at or "failure" in record or watch.checks >= MAX_CHECKS:
            watch.ended = True
            return False
        watch.checks += 1
        return True

    @precondition(lambda self: any(not w.ended for w in self.watched.watches))
    @rule(data=st.data())
    def watch_ticks(self, data: st.DataObject) -> None:
        live = self._live()
        watch = live[data.draw(st.integers(min_value=0, max_value=len(live) - 1), label="watch")]
        if self._tick(watch):
            self._enqueue(ReadinessCheck())

    def _check_now(self, fault: tuple[int, str] | None) -> None:
        """The watch's next tick, delivered at once (within one interval of the target turning healthy)."""
        watch = self._live()[-1]
        healthy_before = self.world.healthy > 0
        if not self._tick(watch):
            return
        decision = self._deliver(ReadinessCheck(), fault)
        if decision is None or self.world.armed_fault_fired or self.racy or self.unsettled:
            return
        if healthy_before and self.world.healthy > 0:
            assert self.world.route is Route.ECS, (
                f"a healthy target and a readiness check, yet traffic is on the waker ({decision.outcome})"
            )

    @precondition(lambda self: any(not w.ended for w in self.watched.watches))
    @rule(fault=faults)
    def watch_check_reaches_the_controller(self, fault: tuple[int, str] | None) -> None:
        self._check_now(fault)

    @precondition(
        lambda self: self.world.desired > 0 and not self.broken and any(not w.ended for w in self.watched.watches)
    )
    @rule(fault=faults)
    def task_turns_healthy_then_the_watch_ticks(self, fault: tuple[int, str] | None) -> None:
        """The case that matters most: a target turns healthy, SERVICE_STEADY_STATE does whatever the variant
        says, and the watch's next tick must bring the traffic back."""
        if self.world.healthy == 0:
            self.world.set_healthy(self.world.desired)
            self._enqueue(SteadyState())
        self._check_now(fault)

    def teardown(self) -> None:
        super().teardown()
        # The watch never outlives its wake: the next tick after the wake ended stops it.
        for watch in self._live():
            if json.loads(self.world.parameter or "{}").get("wakeStartedAt") != watch.wake_started_at:
                assert not self._tick(watch)
                assert watch.ended


PROPERTIES = settings(
    max_examples=max(1, int(150 * SCALE)),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate) if NO_SHRINK else tuple(Phase),
)


class _Early(ReadinessMachine):
    timing = "early"


class _Late(ReadinessMachine):
    timing = "late"


class _Never(ReadinessMachine):
    timing = "never"


TestSteadyStateEarly = _Early.TestCase
TestSteadyStateEarly.settings = PROPERTIES
TestSteadyStateLate = _Late.TestCase
TestSteadyStateLate.settings = PROPERTIES
TestSteadyStateNever = _Never.TestCase
TestSteadyStateNever.settings = PROPERTIES
