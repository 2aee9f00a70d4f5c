"""The readiness watch on the local stack: traffic back within one watch interval of a healthy target,
whether SERVICE_STEADY_STATE comes on time, early, late or never; nothing running between wakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from local_aws.endpoint import LocalEndpoint
from local_aws.eventbus import Delivery
from local_aws.runtime import LocalAws
from local_aws.simulate import STEADY_STATE_TIMINGS, SteadyStateTiming
from tests.local_aws.conftest import local_aws


@pytest.fixture
def local(endpoint: LocalEndpoint) -> Iterator[LocalAws]:
    with local_aws(endpoint) as running:
        yield running


def _request(local: LocalAws, detail_type: str) -> list[Delivery]:
    detail = {"stack": local.stack.name, "requestedBy": "test"}
    local.bus.put([{"Source": "warmkeeper", "DetailType": detail_type, "Detail": json.dumps(detail)}])
    return local.bus.settle()


def _asleep(local: LocalAws) -> None:
    """The stack's first task up (on time), then a manual sleep."""
    timing, local.ecs.steady_state = local.ecs.steady_state, "on-time"
    local.ecs.task_comes_up()
    local.bus.settle()
    local.ecs.steady_state = timing
    (delivery,) = _request(local, "Sleep Requested")
    assert delivery.result.payload["outcome"] == "slept", delivery.result.payload
    local.ecs.tasks_stop_for_scale_in()
    local.bus.settle()
    observed = local.observe()
    assert observed.desired_count == 0 and observed.weights == {"ecs": 0, "waker": 1}


def _outcomes(local: LocalAws, since: int) -> list[str]:
    return [
        str(i.payload["outcome"])
        for i in local.functions.invocations[since:]
        if i.function == "WarmkeeperFunction" and isinstance(i.payload, dict)
    ]


def test_the_deployed_definition_sets_the_interval_and_the_limit(local: LocalAws) -> None:
    definition = local.readiness.definition
    assert definition is not None
    assert definition.interval == timedelta(seconds=2)
    assert definition.max_checks == 120
    assert definition.parameter == local.stack.outputs["StateParameterName"]
    assert definition.detail == {"stack": local.stack.name, "requestedBy": "readiness-watch"}


@pytest.mark.parametrize("timing", STEADY_STATE_TIMINGS)
def test_traffic_comes_back_within_one_interval_whatever_steady_state_does(
    local: LocalAws, timing: SteadyStateTiming
) -> None:
    assert local.readiness.definition is not None
    interval = local.readiness.definition.interval
    local.ecs.steady_state = timing
    _asleep(local)
    assert local.readiness.executions == {} and local.clock.pending() == 0  # nothing between wakes

    _request(local, "Wake Requested")
    assert local.observe().desired_count == 1
    (execution,) = local.readiness.running()
    # The task takes a while: the watch keeps asking, the controller keeps saying not yet.
    mark = len(local.functions.invocations)
    local.clock.advance(interval * 3)
    assert execution.checks == 3
    assert _outcomes(local, mark) == ["not-healthy-yet"] * 3
    assert local.observe().weights == {"ecs": 0, "waker": 1}

    local.ecs.task_comes_up()
    healthy_at = local.clock.now()
    local.clock.advance(interval)
    observed = local.observe()
    assert observed.weights == {"ecs": 1, "waker": 0}, timing
    awake_since = datetime.fromisoformat(observed.state["awakeSince"])
    assert timedelta(0) <= awake_since - healthy_at <= interval
    # The watch stops at its next look at the record, and nothing is left running.
    local.clock.advance(interval * 2)
    assert local.readiness.running() == []
    assert execution.ended == "the record shows no wake"
    if timing == "late":
        local.clock.advance(local.ecs.steady_state_delay)
    assert local.clock.pending() == 0


def test_early_steady_state_does_not_route_to_an_unhealthy_target(local: LocalAws) -> None:
    local.ecs.steady_state = "early"
    _asleep(local)
    _request(local, "Wake Requested")
    mark = len(local.functions.invocations)
    local.ecs.task_comes_up()
    # The early event reached the controller before the target was healthy: it said not yet.
    assert _outcomes(local, mark)[0] == "not-healthy-yet"
