"""Faults as a matrix: every AWS call of every decision fails in turn (as it reaches the handler after
botocore's own retries), then Lambda retries the same event.

For each (decision, failing call): the invariants hold right after the failure, and the retried event,
not a later reconcile, leaves AWS and the record exactly as a run without the fault does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tests.warmkeeper.fake_aws import World
from tests.warmkeeper.helpers import ECS_TG_ARN, WAKER_TG_ARN
from warmkeeper.adapters.aws import AwsGateway
from warmkeeper.controller import run
from warmkeeper.domain.model import (
    DeploymentCompleted,
    IdleAlarmed,
    PinRequested,
    ReconcileTick,
    SleepRequested,
    SteadyState,
    TaskStopped,
    Trigger,
    UnpinRequested,
    WakeOrigin,
    WakeRequested,
)
from warmkeeper.models.settings import Settings
from warmkeeper_shared.state import ControllerState, Failure, FailureKind, Route

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _record(state: ControllerState) -> str:
    return state.to_json()


def awake_idle() -> World:
    world = World(now=NOW, parameter=_record(ControllerState(awake_since=NOW - timedelta(hours=1))))
    world.set_alarm("warmkeeper-idle", "ALARM")
    world.alarms_changed["warmkeeper-idle"] = NOW - timedelta(minutes=30)
    return world


def asleep(state: ControllerState | None = None) -> World:
    world = World(now=NOW, desired=0, healthy=0, weights={ECS_TG_ARN: 0, WAKER_TG_ARN: 1})
    world.alarms["warmkeeper-idle"] = "ALARM"
    world.parameter = _record(state or ControllerState())
    return world


def waking(healthy: int) -> World:
    world = asleep(ControllerState(wake_started_at=NOW - timedelta(minutes=1)))
    world.desired, world.healthy = 1, healthy
    return world


def black_hole() -> World:
    return World(now=NOW, healthy=0, parameter=_record(ControllerState(awake_since=NOW - timedelta(hours=1))))


def pinned() -> World:
    return World(now=NOW, parameter=_record(ControllerState(pinned_until=NOW + timedelta(hours=1), pinned_by="ops")))


OLD_FAILURE = Failure(kind=FailureKind.TASK_STOPPED, reason="CannotPullContainerError", at=NOW - timedelta(minutes=9))


@dataclass(frozen=True)
class Case:
    name: str
    trigger: Trigger
    world: Callable[[], World]


CASES = [
    Case("idle alarm sleeps", IdleAlarmed(), awake_idle),
    Case("manual sleep", SleepRequested("ops"), awake_idle),
    Case("deployment end sleeps", DeploymentCompleted("d"), awake_idle),
    Case("reconcile sleeps", ReconcileTick(), awake_idle),
    Case("wake request", WakeRequested(WakeOrigin.REQUEST), asleep),
    Case(
        "wake retry after a failure",
        WakeRequested(WakeOrigin.REQUEST),
        lambda: asleep(ControllerState(failure=OLD_FAILURE)),
    ),
    Case("pin of a sleeping service", PinRequested(NOW + timedelta(hours=2), "ops"), asleep),
    Case("unpin", UnpinRequested("ops"), pinned),
    Case("ready", SteadyState(), lambda: waking(healthy=1)),
    Case("reconcile hands back a missed ready", ReconcileTick(), lambda: waking(healthy=1)),
    Case(
        "stopped task fails the wake",
        TaskStopped("t", "CannotPullContainerError", NOW - timedelta(seconds=30)),
        lambda: waking(healthy=0),
    ),
    Case("reconcile repairs a black hole", ReconcileTick(), black_hole),
    Case("stopped task repairs a black hole", TaskStopped("t", "exited", NOW - timedelta(hours=2)), black_hole),
]


def _settings(world: World) -> Settings:
    return Settings.from_environ(world.settings_environment())


def _deliver(world: World, trigger: Trigger) -> None:
    run(trigger, world.now, _settings(world), AwsGateway(world.clients(), _settings(world)))


def _outcome(world: World) -> tuple[int, Route | None, ControllerState]:
    return world.desired, world.route, world.state


def _check_invariants(world: World) -> None:
    # 1: no black hole that was not there before; a sleeping service never keeps traffic on ECS.
    if world.desired == 0:
        assert world.route is Route.WAKER, "desiredCount 0 with traffic on ECS"
    if world.route is Route.ECS:
        assert world.healthy > 0 or world.desired > 0, "traffic on ECS with nothing to serve it"


def _calls_of(case: Case) -> list[str]:
    world = case.world()
    _deliver(world, case.trigger)
    return world.calls


MATRIX = [(case, index, call) for case in CASES for index, call in enumerate(_calls_of(case))]


@pytest.mark.parametrize(
    ("case", "index", "call"), MATRIX, ids=[f"{c.name}: {call} #{i} fails" for c, i, call in MATRIX]
)
def test_a_failing_call_then_the_lambda_retry_completes_the_decision(case: Case, index: int, call: str) -> None:
    clean = case.world()
    _deliver(clean, case.trigger)
    expected = _outcome(clean)

    world = case.world()
    started_black_hole = world.route is Route.ECS and world.healthy == 0
    world.arm_fault(index, "server-error")
    with pytest.raises(ClientError):
        _deliver(world, case.trigger)
    assert world.armed_fault_fired
    if not started_black_hole:
        _check_invariants(world)
    _deliver(world, case.trigger)  # Lambda's retry of the same event
    _check_invariants(world)
    assert _outcome(world) == expected


def test_the_matrix_covers_every_kind_of_call() -> None:
    calls = {call for _, _, call in MATRIX}
    assert calls == {
        "ssm:GetParameter",
        "ssm:PutParameter",
        "ecs:DescribeServices",
        "ecs:UpdateService",
        "cloudwatch:DescribeAlarms",
        "elbv2:DescribeRules",
        "elbv2:ModifyRule",
        "elbv2:DescribeTargetHealth",
    }
    assert len(MATRIX) >= 50
