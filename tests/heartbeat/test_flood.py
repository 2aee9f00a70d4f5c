"""The flood bounds, counted (bench/flood.py prints the same figures at full size)."""

from __future__ import annotations

import math

import pytest

from bench.flood import run_flood
from heartbeat.adapters.aws import SERVICE_MAX_AGE_SECONDS, STATE_MAX_AGE_SECONDS

ENVIRONMENTS = 8
REQUESTS = 400


def _per_environment_bound(seconds: float, max_age: float) -> int:
    # A cold read, then at most one more each time the cache expires.
    return ENVIRONMENTS * (1 + math.ceil(seconds / max_age))


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_visitor_flood_on_a_sleeping_service_sends_at_most_one_wake_per_environment() -> None:
    result = run_flood("asleep: visitors' pages", ENVIRONMENTS, REQUESTS, controller_lag=100)
    assert result.statuses == {503: REQUESTS}
    assert 1 <= result.wake_events <= ENVIRONMENTS
    assert result.decisions["wake-started"] == 1
    assert result.decisions["wake-in-progress"] == result.wake_events - 1
    assert result.calls["ssm:GetParameter"] <= _per_environment_bound(result.seconds, STATE_MAX_AGE_SECONDS)
    assert result.calls["events:PutEvents"] == result.wake_events


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_posting_wake_while_awake_sends_nothing() -> None:
    result = run_flood("awake: POST wake", ENVIRONMENTS, REQUESTS)
    assert result.wake_events == 0
    assert result.calls["events:PutEvents"] == 0
    assert result.calls["ecs:DescribeServices"] <= _per_environment_bound(result.seconds, SERVICE_MAX_AGE_SECONDS)


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_retries_of_a_failed_wake_send_one_per_environment_and_start_one_wake() -> None:
    result = run_flood("failed: POST wake", ENVIRONMENTS, REQUESTS, controller_lag=100)
    assert 1 <= result.wake_events <= ENVIRONMENTS
    assert result.decisions["wake-started"] == 1


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_status_flood_reads_aws_per_environment_not_per_request() -> None:
    result = run_flood("any: public status", ENVIRONMENTS, REQUESTS)
    assert result.statuses == {200: REQUESTS}
    assert result.calls["ssm:GetParameter"] <= _per_environment_bound(result.seconds, STATE_MAX_AGE_SECONDS)
    assert result.calls["elbv2:DescribeTargetHealth"] <= _per_environment_bound(result.seconds, SERVICE_MAX_AGE_SECONDS)
    assert result.wake_events == 0
