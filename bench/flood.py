"""An anonymous flood against the HTTP face: wake events sent, AWS calls per second by API, controller decisions.

Thousands of requests run through the real handler, in process against moto, spread round-robin over many
simulated execution environments (each with its own caches and its own memory of the wake it sent, swapped
in before each request). EventBridge really matches and delivers the events to a queue. The controller is
a stand-in that drains that queue every ``controller_lag`` requests (the window before the real controller
records a wake) and decides as the real one does for a wake request: the first one starts the wake (it
writes ``wakeStartedAt`` to the record), every later one finds a wake under way.

Calls per second are over the flood's wall time in this process; the caches are time based, so per
environment they are bounded by the cache ages (the record: one read per STATE_MAX_AGE_SECONDS) whatever
the request rate, once every environment is busy.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.heartbeat import _ENV, PATHS

REQUESTS = 12000  # several cache periods at the in-process rate, so the rates show the steady state
UNCAPPED_REQUESTS = 3000
CAPPED_ENVIRONMENTS = 10  # template.yaml's HttpFaceConcurrency default
UNCAPPED_ENVIRONMENTS = 200  # what a flood could spread over without the cap
CONTROLLER_LAG = 200  # requests between two controller runs
SSM_SHARED_PER_SECOND = 40


@dataclass
class FloodResult:
    scenario: str
    environments: int
    requests: int
    seconds: float
    wake_events: int
    calls: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    def per_second(self, api: str) -> float:
        return self.calls[api] / self.seconds if self.seconds else 0.0


_STAND_IN_RUNNING = False


@contextlib.contextmanager
def _counting(calls: Counter[str]) -> Iterator[None]:
    import botocore.client  # noqa: PLC0415 - the environment is set first

    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def counting(client: Any, operation: str, params: Any) -> Any:
        service = client.meta.service_model.service_name
        if not _STAND_IN_RUNNING and service != "sqs":  # the HTTP face's calls only
            calls[f"{service}:{operation}"] += 1
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = counting  # type: ignore[attr-defined]
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[attr-defined]


# scenario -> (event fixture, record, desiredCount)
SCENARIOS: dict[str, tuple[str, dict[str, Any], int]] = {
    "asleep: visitors' pages": ("waiting-page.json", {}, 0),
    "awake: POST wake": ("wake-retry-fetch.json", {"awakeSince": "2026-11-22T03:00:00+00:00"}, 1),
    "failed: POST wake": (
        "wake-retry-fetch.json",
        {"failure": {"kind": "task-stopped", "reason": "x", "at": "2026-11-22T03:00:00+00:00"}},
        1,
    ),
    "any: public status": ("status.json", {}, 0),
}


def run_flood(scenario: str, environments: int, requests: int, controller_lag: int = CONTROLLER_LAG) -> FloodResult:
    """Drive ``requests`` requests of a scenario over ``environments`` simulated execution environments."""
    saved = dict(os.environ)
    try:
        return _run_flood(scenario, environments, requests, controller_lag)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _run_flood(scenario: str, environments: int, requests: int, controller_lag: int) -> FloodResult:
    os.environ.update(_ENV)
    from moto import mock_aws  # noqa: PLC0415

    from heartbeat import handler, wake  # noqa: PLC0415
    from heartbeat.adapters import aws  # noqa: PLC0415
    from tests.heartbeat.conftest import FakeContext, _build_account, load_event, reset_handler_state  # noqa: PLC0415

    fixture, record, desired = SCENARIOS[scenario]
    result = FloodResult(scenario, environments, requests, 0.0, 0)
    context = FakeContext()
    with mock_aws():
        account = _build_account()
        os.environ.update(account.env)
        reset_handler_state()
        account.set_state(record)
        account.set_desired(desired)
        event = load_event(fixture)
        # Each environment: its own caches and its own memory of the wake it sent; clients are shared
        # (they hold no state that changes a decision).
        memories: list[Any] = [({}, {}, {}) for _ in range(environments)]
        sent_memories: list[Any] = [None] * environments
        with _counting(result.calls), contextlib.redirect_stdout(io.StringIO()):
            handler.lambda_handler(json.loads(json.dumps(load_event("status.json"))), context)  # clients
            result.calls.clear()
            start = time.perf_counter()
            for number in range(requests):
                slot = number % environments
                aws.use_environment_caches(memories[slot])
                wake.restore_last_sent(sent_memories[slot])
                response = handler.lambda_handler(json.loads(json.dumps(event)), context)
                sent_memories[slot] = wake.last_sent()
                result.statuses[int(response["statusCode"])] += 1
                if (number + 1) % controller_lag == 0:
                    _controller_stand_in(account, result)
            _controller_stand_in(account, result)
            result.seconds = time.perf_counter() - start
        reset_handler_state()
    return result


def _controller_stand_in(account: Any, result: FloodResult) -> None:
    """Drain the controller's queue and decide as the controller does for each wake request."""
    global _STAND_IN_RUNNING  # noqa: PLW0603 - its own calls are not the HTTP face's
    _STAND_IN_RUNNING = True
    try:
        _decide_queued(account, result)
    finally:
        _STAND_IN_RUNNING = False


def _decide_queued(account: Any, result: FloodResult) -> None:
    import boto3  # noqa: PLC0415

    for event in account.wake_events():
        result.wake_events += 1
        assert event["detail-type"] == "Wake Requested"
        ssm = boto3.client("ssm")
        raw = ssm.get_parameter(Name=account.env["STATE_PARAMETER_NAME"])["Parameter"]["Value"]
        record = json.loads(raw or "{}")
        if record.get("wakeStartedAt") and not record.get("failure"):
            result.decisions["wake-in-progress"] += 1
            continue
        result.decisions["wake-started"] += 1
        record.pop("failure", None)
        record["wakeStartedAt"] = datetime.now(UTC).isoformat()
        account.set_state(record)
        account.set_desired(1)


def _table(results: list[FloodResult]) -> None:
    head = (
        f"{'scenario':<26} {'envs':>4} {'requests':>8} {'req/s':>6} {'wakes':>5} {'SSM Get':>7} {'SSM Get/s':>9} "
        f"{'ECS Desc/s':>10} {'ELB Health/s':>12} {'Events/s':>8}  controller decisions"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        decisions = ", ".join(f"{k} {v}" for k, v in sorted(r.decisions.items())) or "none"
        print(
            f"{r.scenario:<26} {r.environments:>4} {r.requests:>8} {r.requests / r.seconds:>6.0f} {r.wake_events:>5} "
            f"{r.calls['ssm:GetParameter']:>7} {r.per_second('ssm:GetParameter'):>9.1f} "
            f"{r.per_second('ecs:DescribeServices'):>10.1f} "
            f"{r.per_second('elbv2:DescribeTargetHealth'):>12.1f} "
            f"{r.per_second('events:PutEvents'):>8.1f}  {decisions}"
        )


def main() -> None:
    import sys  # noqa: PLC0415
    import warnings  # noqa: PLC0415

    for path in PATHS:
        if path not in sys.path:
            sys.path.insert(0, path)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    results = [run_flood(name, CAPPED_ENVIRONMENTS, REQUESTS) for name in SCENARIOS]
    results.append(run_flood("asleep: visitors' pages", UNCAPPED_ENVIRONMENTS, UNCAPPED_REQUESTS))
    results.append(run_flood("any: public status", UNCAPPED_ENVIRONMENTS, UNCAPPED_REQUESTS))
    _table(results)
    print(
        f"\nBounds: at most one wake event per environment per controller record (cap {CAPPED_ENVIRONMENTS});"
        f" none while awake. SSM's shared quota is {SSM_SHARED_PER_SECOND}/s per account and region; the"
        f" record is read at most once per environment every few seconds, so reads grow with environments"
        f" (the last rows: no cap), not with requests."
    )
