"""The controller's invariants under random event sequences, over an in-memory AWS and over moto."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from tests.warmkeeper.fake_aws import World
from tests.warmkeeper.machine import ControllerMachine, WorldLike

# CI runs 4 x 500 sequences in memory (2,000) plus the moto ones below; WARMKEEPER_PROPERTY_SCALE scales
# them for a quick local loop (0.1) or a long soak (10).
SCALE = float(os.environ.get("WARMKEEPER_PROPERTY_SCALE", "1"))
IN_MEMORY = settings(
    max_examples=max(1, int(500 * SCALE)),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)


class InMemoryMachine(ControllerMachine):
    def make_world(self) -> WorldLike:
        return World()


# Four equal shares, so pytest-xdist can spread them over the CI cores.
class _A(InMemoryMachine):
    pass


class _B(InMemoryMachine):
    pass


class _C(InMemoryMachine):
    pass


class _D(InMemoryMachine):
    pass


TestInMemoryA = _A.TestCase
TestInMemoryB = _B.TestCase
TestInMemoryC = _C.TestCase
TestInMemoryD = _D.TestCase
for _case in (TestInMemoryA, TestInMemoryB, TestInMemoryC, TestInMemoryD):
    _case.settings = IN_MEMORY
del _case
