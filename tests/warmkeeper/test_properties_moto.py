"""The same state machine as test_properties.py, with moto under the real boto3 clients.

One moto account serves every example (reset between them): building it is the slow part.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

from tests.warmkeeper.fake_aws import World
from tests.warmkeeper.helpers import ECS_TG_ARN, WAKER_TG_ARN
from tests.warmkeeper.machine import ControllerMachine, WorldLike
from tests.warmkeeper.moto_account import MotoAccount, build_account
from tests.warmkeeper.moto_world import _SHARED, MotoWorld
from warmkeeper.adapters.aws import AwsGateway
from warmkeeper.domain.model import Observation, Observe, RouteTraffic, SetDesiredCount
from warmkeeper.models.settings import Settings
from warmkeeper_shared.state import Route

SCALE = float(os.environ.get("WARMKEEPER_PROPERTY_SCALE", "1"))
_ACCOUNT: list[MotoAccount] = []


@pytest.fixture(autouse=True, scope="module")
def _moto_account() -> Iterator[None]:
    with mock_aws():
        _ACCOUNT.append(build_account())
        yield
        _ACCOUNT.clear()
        _SHARED.clear()


class MotoMachine(ControllerMachine):
    schedule_fires = False

    def make_world(self) -> WorldLike:
        world = MotoWorld(account=_ACCOUNT[0])
        world.reset()
        return world


class _A(MotoMachine):
    pass


class _B(MotoMachine):
    pass


TestMotoA = _A.TestCase
TestMotoB = _B.TestCase
for _case in (TestMotoA, TestMotoB):
    _case.settings = settings(
        max_examples=max(1, int(125 * SCALE)),
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
del _case


SCENES = [
    {"desired": 1, "healthy": 1, "deploying": False, "weights": (1, 0), "idle": "OK", "state": "{}"},
    {
        "desired": 0,
        "healthy": 0,
        "deploying": False,
        "weights": (0, 1),
        "idle": "ALARM",
        "state": '{"countBeforeSleep": 2}',
    },
    {
        "desired": 2,
        "healthy": 0,
        "deploying": True,
        "weights": (1, 1),
        "idle": "ALARM",
        "state": '{"wakeStartedAt": "2026-11-22T08:00:00Z"}',
    },
]


@pytest.mark.parametrize("scene", SCENES)
def test_in_memory_aws_answers_like_moto(scene: dict[str, Any]) -> None:
    """The in-memory AWS behind the 2,000 sequences reads the same as moto through the real gateway."""
    moto = MotoWorld(account=_ACCOUNT[0])
    moto.reset()
    moto.set_desired(scene["desired"])
    moto.set_healthy(scene["healthy"])
    moto.set_deploying(scene["deploying"])
    moto.account.set_weights(*scene["weights"])
    moto.set_alarm("warmkeeper-idle", scene["idle"])
    moto.account.put_state(json.loads(scene["state"]))
    fake = World(desired=scene["desired"], healthy=scene["healthy"], deploying=scene["deploying"])
    fake.parameter = scene["state"]
    fake.weights = {ECS_TG_ARN: scene["weights"][0], WAKER_TG_ARN: scene["weights"][1]}
    fake.set_alarm("warmkeeper-idle", scene["idle"])

    observed: list[Observation] = []
    written: list[tuple[int, Route | None]] = []
    for world in (moto, fake):
        gateway = AwsGateway(world.clients(), Settings.from_environ(world.settings_environment()))
        seen = gateway.observe(frozenset(Observe), Observation())
        # runningCount is moto's own idea (it runs no tasks) and no decision reads it.
        assert seen.service is not None
        # Each world stamps alarm changes with its own clock; both must give an aware timestamp.
        assert seen.alarms_changed is not None
        assert all(t is not None and t.tzinfo is not None for t in seen.alarms_changed.values())
        observed.append(replace(seen, service=replace(seen.service, running_count=0), alarms_changed=None))
        # Writes land the same way too.
        gateway.perform(RouteTraffic(Route.WAKER))
        gateway.perform(SetDesiredCount(3))
        written.append((world.desired, world.route))
    assert observed[0] == observed[1]
    assert written == [(3, Route.WAKER), (3, Route.WAKER)]
