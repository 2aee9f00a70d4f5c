"""The heartbeat function (HTTP face): warm handler durations, AWS API calls per request, import time,
and the cold first byte (a whole cold process to a rendered waiting page, as a ratio to ``import boto3``).

Durations run the real handler in process against moto (so rows that call AWS include moto's own time;
the ping row makes no call at all). AWS calls are counted at botocore's ``_make_api_call``. Import times
come from fresh interpreters, interleaved, median of the repetitions, all in this one run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._coldstart import ColdRatio, cold_ratio, print_ratios

ROOT = Path(__file__).resolve().parents[1]
PATHS = [str(ROOT / "src" / "heartbeat"), str(ROOT / "src" / "shared"), str(ROOT)]
REPETITIONS = 200
IMPORT_RUNS = 11
# Targets from the HTTP-face issue.
TARGET_CALLS_PER_PING = 0
TARGET_CALLS_PER_PAGE_HIT = 2
# Issue 9: interpreter start to a rendered waiting page, at most this many times `import boto3` alone.
TARGET_COLD_PAGE_RATIO = 1.3

# request, HTTP status, median ms, p95 ms, mean AWS calls, max AWS calls
Row = tuple[str, int, float, float, float, int]

_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "POWERTOOLS_SERVICE_NAME": "warmkeeper",
    "POWERTOOLS_METRICS_NAMESPACE": "Warmkeeper",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


class _Counter:
    def __init__(self) -> None:
        self.calls: list[str] = []

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        import botocore.client  # noqa: PLC0415 - the bench's environment is set first

        original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

        def counting(client: Any, operation: str, params: Any) -> Any:
            self.calls.append(f"{client.meta.service_model.service_name}:{operation}")
            return original(client, operation, params)

        botocore.client.BaseClient._make_api_call = counting  # type: ignore[attr-defined]
        try:
            yield
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[attr-defined]


def _measure(
    run: Callable[[], dict[str, Any]], before: Callable[[], None], counter: _Counter
) -> tuple[list[float], list[int], int]:
    durations: list[float] = []
    calls: list[int] = []
    status = 0
    for _ in range(REPETITIONS):
        before()
        counter.calls.clear()
        with contextlib.redirect_stdout(io.StringIO()):  # EMF blobs
            start = time.perf_counter()
            response = run()
            durations.append((time.perf_counter() - start) * 1000)
        calls.append(len(counter.calls))
        status = int(response["statusCode"])
    return durations, calls, status


def _handler_rows() -> list[Row]:
    from moto import mock_aws  # noqa: PLC0415

    from heartbeat import handler, wake  # noqa: PLC0415
    from heartbeat.adapters import aws  # noqa: PLC0415
    from tests.heartbeat.conftest import FakeContext, _build_account, load_event, reset_handler_state  # noqa: PLC0415

    rows = []
    counter = _Counter()
    context = FakeContext()
    with mock_aws(), counter.installed():
        account = _build_account()
        os.environ.update(account.env)
        reset_handler_state()

        def invoke(name: str) -> Callable[[], dict[str, Any]]:
            event = load_event(name)
            return lambda: handler.lambda_handler(json.loads(json.dumps(event)), context)

        def nothing() -> None:
            return None

        def cold_caches() -> None:
            aws.expire_values()
            wake.forget_last_sent()

        with contextlib.redirect_stdout(io.StringIO()):
            invoke("ping.json")()  # the secret is read once, then cached
            invoke("status.json")()  # clients created
        scenarios: list[tuple[str, Callable[[], dict[str, Any]], Callable[[], None]]] = [
            ("ping (token cached)", invoke("ping.json"), nothing),
            ("status, cache fresh", invoke("status.json"), nothing),
            ("status, cache expired", invoke("status.json"), aws.expire_values),
            ("waiting page, asleep: asks for a wake", invoke("waiting-page.json"), cold_caches),
            ("waiting page, repeat hit (cached)", invoke("waiting-page.json"), nothing),
            ("API client 503, asleep: asks for a wake", invoke("waiting-api-client.json"), cold_caches),
            ("health check (not a visitor), cache expired", invoke("not-visitor-health-check.json"), cold_caches),
        ]
        for label, run, before in scenarios:
            durations, calls, status = _measure(run, before, counter)
            rows.append(_row(label, status, durations, calls))

        # A wake recorded by the controller: the hit only reads the state.
        account.set_state({"wakeStartedAt": (datetime.now(UTC) - timedelta(seconds=5)).isoformat()})
        durations, calls, status = _measure(invoke("waiting-page.json"), cold_caches, counter)
        rows.append(_row("waiting page, waking: state read only", status, durations, calls))
        rows += _held_rows(account, counter, cold_caches)
    return rows


def _held_rows(account: Any, counter: _Counter, cold_caches: Callable[[], None]) -> list[Row]:
    """An API client's GET held (HoldSeconds 20) under a fake clock: its waits take no time, its record reads
    and slot writes are counted like any call."""
    from heartbeat import clock, handler  # noqa: PLC0415
    from heartbeat.settings import get_settings  # noqa: PLC0415
    from tests.heartbeat.conftest import FakeContext, load_event  # noqa: PLC0415
    from tests.heartbeat.holding import FakeClock, create_hold_table, hold_env  # noqa: PLC0415

    class HoldingContext(FakeContext):
        def get_remaining_time_in_millis(self) -> int:
            return 35_000  # the template's timeout when holding is on

    create_hold_table()
    os.environ.update(hold_env())
    get_settings.cache_clear()
    event, context = load_event("waiting-api-client.json"), HoldingContext()
    rows = []
    asleep = {"awakeSince": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}
    for label, back_after in (
        ("held API client, back after 3 polls: 307", 3),
        ("held API client, 20 s: 503", 0),
    ):
        waits = FakeClock()

        def world(fake: FakeClock, polls: int = back_after) -> None:
            if len(fake.sleeps) == polls:
                # The controller's write, not the function's: left out of the count.
                account.set_state({"awakeSince": fake.now().isoformat()})
                counter.calls.remove("ssm:PutParameter")

        waits.on_sleep = world if back_after else None

        def before(fake: FakeClock = waits) -> None:
            account.set_state(asleep)
            cold_caches()
            fake.sleeps.clear()

        previous = clock.use(waits)
        try:
            durations, calls, status = _measure(
                lambda: handler.lambda_handler(json.loads(json.dumps(event)), context), before, counter
            )
        finally:
            clock.use(previous)
        rows.append(_row(label, status, durations, calls))
    for name in hold_env():
        os.environ.pop(name, None)
    get_settings.cache_clear()
    return rows


def _row(
    label: str, status: int, durations: list[float], calls: list[int]
) -> tuple[str, int, float, float, float, int]:
    ordered = sorted(durations)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (label, status, statistics.median(durations), p95, statistics.mean(calls), max(calls))


def _import_seconds(statement: str, extra_env: dict[str, str]) -> float:
    code = f"import time, sys; t = time.perf_counter(); {statement}; sys.stdout.write(repr(time.perf_counter() - t))"
    env = {**os.environ, **_ENV, **extra_env, "PYTHONPATH": os.pathsep.join(PATHS)}
    output = subprocess.run(  # noqa: S603 - this interpreter, a fixed statement
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return float(output)


def _import_rows() -> list[tuple[str, float, float]]:
    # As in Lambda: tracing on (LAMBDA_TASK_ROOT set), so the X-Ray SDK is loaded and botocore patched.
    lambda_like = {"LAMBDA_TASK_ROOT": str(ROOT / "src" / "heartbeat"), "POWERTOOLS_TRACE_DISABLED": "false"}
    cases = {
        "import boto3": ("import boto3", {}),
        "import heartbeat.handler (tracing on, as in Lambda)": ("import heartbeat.handler", lambda_like),
        "import heartbeat.handler (tracing off)": ("import heartbeat.handler", {}),
        # Powertools' Tracer imports the X-Ray SDK at construction, traced or not.
        "import aws_xray_sdk.core (Tracer's provider)": ("import aws_xray_sdk.core", {}),
    }
    samples: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(IMPORT_RUNS):
        for label, (statement, extra) in cases.items():
            samples[label].append(_import_seconds(statement, extra) * 1000)
    return [(label, statistics.median(values), min(values)) for label, values in samples.items()]


def cold_page_ratio() -> ColdRatio:
    """bench/_cold_page.py against ``import boto3``, both with the function's Lambda environment."""
    from bench import _cold_page  # noqa: PLC0415

    env = {**_cold_page.ENVIRONMENT, "PYTHONPATH": os.pathsep.join(PATHS)}
    return cold_ratio(
        "HTTP face: interpreter start to a rendered waiting page",
        TARGET_COLD_PAGE_RATIO,
        ("-m", "bench._cold_page"),
        env,
    )


def cold_floor_ratio() -> ColdRatio:
    """The part of the cold page no code of the face can remove (bench/_cold_page.py ``floor``): with tracing
    on, boto3's clients and Powertools' Tracer alone put the page above TARGET_COLD_PAGE_RATIO."""
    from bench import _cold_page  # noqa: PLC0415

    env = {**_cold_page.ENVIRONMENT, "PYTHONPATH": os.pathsep.join(PATHS)}
    return cold_ratio(
        "floor: boto3 + Tracer/Logger/Metrics + the page's 2 calls",
        None,
        ("-m", "bench._cold_page", "--floor"),
        env,
    )


def main() -> None:
    cold = cold_page_ratio()
    floor = cold_floor_ratio()
    os.environ.update(_ENV)
    for path in reversed(PATHS):
        if path not in sys.path:
            sys.path.insert(0, path)
    warnings.simplefilter("ignore")

    imports = _import_rows()
    handler_rows = _handler_rows()

    print(f"Heartbeat handler, warm, in process against moto ({REPETITIONS} invocations per row)")
    print(f"{'request':<46} {'HTTP':>4} {'median ms':>10} {'p95 ms':>8} {'AWS calls (mean/max)':>21}")
    for label, status, median, p95, mean_calls, max_calls in handler_rows:
        print(f"{label:<46} {status:>4} {median:>10.2f} {p95:>8.2f} {mean_calls:>14.2f} / {max_calls}")
    ping_calls = next(row[5] for row in handler_rows if row[0].startswith("ping"))
    page_calls = max(row[5] for row in handler_rows if row[0].startswith(("waiting page", "API client")))
    print(
        f"AWS calls per ping: {ping_calls} (target {TARGET_CALLS_PER_PING}); "
        f"per waiting page hit, worst case: {page_calls} (target at most {TARGET_CALLS_PER_PAGE_HIT})"
    )
    held = next(row for row in handler_rows if row[0] == "held API client, 20 s: 503")
    from heartbeat.domain.hold import POLL_SECONDS  # noqa: PLC0415

    # Beyond the polls: the first read of the record, the wake, taking and freeing the slot.
    polls = held[5] - 4
    print(
        f"Held 20 s without traffic back: {held[5]} AWS calls, of which {polls} record reads "
        f"(one per {POLL_SECONDS:g} s at most: {20 / POLL_SECONDS:g})"
    )
    print()
    print(f"Import time, fresh interpreter, median of {IMPORT_RUNS} interleaved runs")
    print(f"{'statement':<52} {'median ms':>10} {'min ms':>8}")
    for label, median, fastest in imports:
        print(f"{label:<52} {median:>10.1f} {fastest:>8.1f}")
    print()
    print_ratios([cold, floor])


if __name__ == "__main__":
    main()
