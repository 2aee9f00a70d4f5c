"""The controller's invariants under random event sequences, over an in-memory AWS and over moto."""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, Phase, settings

from tests.warmkeeper.fake_aws import World
from tests.warmkeeper.machine import ControllerMachine, WorldLike
from warmkeeper.domain.model import SleepRequested, WakeOrigin, WakeRequested

# CI runs 5 x 500 sequences in memory (2,500) plus the moto ones below; WARMKEEPER_PROPERTY_SCALE scales
# them for a quick local loop (0.1) or a long soak (10).
SCALE = float(os.environ.get("WARMKEEPER_PROPERTY_SCALE", "1"))
# The mutation check (bench/mutants.py) only needs to know whether a run fails: shrinking the failing
# sequence would cost it minutes per mutation and change nothing in the verdict.
NO_SHRINK = os.environ.get("WARMKEEPER_PROPERTY_NO_SHRINK") == "1"
IN_MEMORY = settings(
    max_examples=max(1, int(500 * SCALE)),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate) if NO_SHRINK else tuple(Phase),
)


class InMemoryMachine(ControllerMachine):
    def make_world(self) -> WorldLike:
        return World()


class _ShortMinAwakeWorld(World):
    """A minimum awake time shorter than the idle window plus CloudWatch's lag: then only the decision's
    stale-alarm rule keeps a leftover ALARM from sleeping a service that just woke."""

    def settings_environment(self) -> dict[str, str]:
        return super().settings_environment() | {"MIN_AWAKE_MINUTES": "1"}


class ShortMinAwakeMachine(ControllerMachine):
    def make_world(self) -> WorldLike:
        return _ShortMinAwakeWorld()


# Equal shares, each its own test; the last two with a short minimum awake time (the template allows 0),
# where only the stale-alarm rule guards a service that just woke: the default and the short one each get
# about half of the sequences that reach that moment.
class _A(InMemoryMachine):
    pass


class _B(InMemoryMachine):
    pass


class _C(InMemoryMachine):
    pass


class _D(ShortMinAwakeMachine):
    pass


class _E(ShortMinAwakeMachine):
    pass


TestInMemoryA = _A.TestCase
TestInMemoryB = _B.TestCase
TestInMemoryC = _C.TestCase
TestInMemoryD = _D.TestCase
TestInMemoryE = _E.TestCase
for _case in (TestInMemoryA, TestInMemoryB, TestInMemoryC, TestInMemoryD, TestInMemoryE):
    _case.settings = IN_MEMORY
del _case


def _request(machine: ControllerMachine) -> WakeRequested:
    """The visitor's Wake Requested among the pending events (the backstop alarm may have sent one too)."""
    request = next(t for t in machine.pending if isinstance(t, WakeRequested) and t.origin is WakeOrigin.REQUEST)
    machine.pending.remove(request)
    return request


def test_a_wake_retried_after_a_half_failed_invocation_is_a_new_wake_with_its_own_deadline() -> None:
    """The machine's own bookkeeping, replayed: an "endless spinner" it once reported on unmutated code.

    08:00 a visitor wakes a service whose image cannot start; ECS's reports of it are lost. 08:05, past the
    deadline, the visitor's next request records the deadline failure and retries, but UpdateService
    throttles after the failure was saved; Lambda's retry of that request starts a new wake. The first wake
    ended as a visible failure, so only the new one's deadline (08:10) applies to the reconcile at 08:05:15.
    The machine used to miss the end recorded by the invocation that failed half-way, and to hold the new
    wake to 08:00's deadline.
    """
    machine = InMemoryMachine()
    machine.starting_point(asleep=True, broken=True)
    machine.visitor()
    machine._deliver(_request(machine), None)  # woke at 08:00
    machine.time_passes(5, scheduled=False, early_ready=False)
    machine.pending.clear()  # ECS's stopped tasks and start-impaired events: lost
    machine.visitor()
    request = _request(machine)
    # Reads: the record, the service; writes: the record (failure kept, retry started), UpdateService.
    assert machine._deliver(request, (3, "throttling")) is None
    assert machine.world.state.failure is not None
    retried = machine._deliver(request, None)
    assert retried is not None and retried.outcome == "wake-retried"
    machine.time_passes(0.25, scheduled=False, early_ready=False)
    machine.reconcile_tick(None)
    machine.invariants_hold()
    assert machine.wake_watch == machine.world.state.wake_started_at == machine.now_start + timedelta(minutes=5)
    machine.time_passes(5, scheduled=True, early_ready=False)  # 08:10:15: the retry's deadline passed
    machine.invariants_hold()
    assert machine.world.state.failure is not None, machine.world.state
    machine.teardown()


def test_an_operators_sleep_ends_a_wake_whose_update_service_failed() -> None:
    """The machine's own bookkeeping: a wake recorded before UpdateService failed, then an operator's sleep
    (already asleep: desiredCount is 0) ends it; the reconcile after its deadline finds nothing waking."""
    machine = InMemoryMachine()
    machine.starting_point(asleep=True, broken=False)
    machine.visitor()
    # Reads: the record, the service; writes: the record (the wake), UpdateService.
    assert machine._deliver(_request(machine), (3, "access-denied")) is None
    assert machine.wake_watch == machine.world.state.wake_started_at == machine.now_start
    slept = machine._deliver(SleepRequested("ops"), None)
    assert slept is not None and slept.outcome == "already-asleep"
    assert machine.wake_watch is None
    machine.time_passes(6, scheduled=False, early_ready=False)
    machine.reconcile_tick(None)
    machine.invariants_hold()
    machine.teardown()
