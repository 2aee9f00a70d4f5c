"""The controller's invariants under random event sequences, over an in-memory AWS and over moto."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

from tests.warmkeeper.fake_aws import World
from tests.warmkeeper.machine import ControllerMachine, WorldLike

# CI runs 4 x 500 sequences in memory (2,000) plus the moto ones below; WARMKEEPER_PROPERTY_SCALE scales
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


# Four equal shares, so pytest-xdist can spread them over the CI cores; the last one with a short minimum
# awake time (the template allows 0).
class _A(InMemoryMachine):
    pass


class _B(InMemoryMachine):
    pass


class _C(InMemoryMachine):
    pass


class _D(ShortMinAwakeMachine):
    pass


TestInMemoryA = _A.TestCase
TestInMemoryB = _B.TestCase
TestInMemoryC = _C.TestCase
TestInMemoryD = _D.TestCase
for _case in (TestInMemoryA, TestInMemoryB, TestInMemoryC, TestInMemoryD):
    _case.settings = IN_MEMORY
del _case
