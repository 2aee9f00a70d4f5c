"""The controller: AWS API calls per decision, warm handler duration, and import time.

Each decision runs the real handler in process against a moto account shaped like the template (the
same one the tests use), arranged before every repetition; calls are counted at botocore's
``before-call`` event of the handler's clients. Durations include moto's own time, so they say more
about the shape (reads before writes, short-circuits) than about AWS latency. Import times come from
fresh interpreters, interleaved with ``import boto3`` alone, median of the repetitions, in this one run.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import OFFLINE_FUNCTION_ENV
from bench._coldstart import ColdRatio, cold_ratio, print_ratios

ROOT = Path(__file__).resolve().parents[1]
PATHS = [str(ROOT / "src" / "warmkeeper"), str(ROOT / "src" / "shared"), str(ROOT)]
REPETITIONS = 15
IMPORT_RUNS = 9
# Issue 3's targets; None where the issue sets none.
TARGETS = {"sleep": 4, "wake": 3, "ready": 3}
# Issue 9: the handler's import (tracing on, as in Lambda) at most this many times `import boto3` alone.
TARGET_IMPORT_RATIO = 1.6

_ENV = {
    **OFFLINE_FUNCTION_ENV,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",  # repairs and failures log on purpose; not here
}


def _ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _scenarios(account: Any) -> list[tuple[str, str, str, Callable[[], None]]]:
    """(decision, target key, fixture, arrange) in lifecycle order."""

    def awake(idle: str = "OK", desired: int = 1, state: dict[str, Any] | None = None) -> Callable[[], None]:
        def arrange() -> None:
            account.set_desired_count(desired)
            account.set_weights(1, 0)
            account.simulate_tasks_gone()
            account.simulate_task_healthy()
            account.simulate_deployment("COMPLETED")
            account.set_alarm("warmkeeper-idle", idle)
            account.set_alarm("warmkeeper-wake", "OK")
            account.put_state(state if state is not None else {"awakeSince": _ago(60)})

        return arrange

    def asleep(
        state: dict[str, Any] | None = None, healthy: bool = False, wake_alarm: str = "OK"
    ) -> Callable[[], None]:
        def arrange() -> None:
            account.set_desired_count(1 if state and "wakeStartedAt" in state else 0)
            account.set_weights(0, 1)
            account.simulate_tasks_gone()
            if healthy:
                account.simulate_task_healthy()
            account.simulate_deployment("COMPLETED")
            account.set_alarm("warmkeeper-idle", "ALARM")
            # The controller re-reads the wake alarm before acting on its ALARM event.
            account.set_alarm("warmkeeper-wake", wake_alarm)
            account.put_state(state or {})

        return arrange

    waking = {"wakeStartedAt": _ago(0.5)}
    failed = {"failure": {"kind": "task-stopped", "reason": "CannotPullContainerError", "at": _ago(1)}}
    pinned = {"pinnedUntil": "2099-01-01T00:00:00Z"}
    just_woken = {"awakeSince": _ago(1)}
    return [
        ("sleep (idle alarm, awake)", "sleep", "idle-alarm-to-alarm", awake(idle="ALARM")),
        ("sleep, hand-scaled to 3 (count saved)", "sleep", "idle-alarm-to-alarm", awake(idle="ALARM", desired=3)),
        ("sleep skipped: alarm OK on re-read", "", "idle-alarm-to-alarm", awake(idle="OK")),
        (
            "sleep skipped: pinned",
            "",
            "idle-alarm-to-alarm",
            awake(idle="ALARM", state={"pinnedUntil": "2099-01-01T00:00:00Z"}),
        ),
        (
            "sleep skipped: minimum awake time",
            "",
            "idle-alarm-to-alarm",
            awake(idle="ALARM", state=just_woken),
        ),
        ("manual sleep", "sleep", "sleep-requested", awake()),
        ("wake (asleep)", "wake", "wake-requested", asleep()),
        ("wake backstop alarm (asleep)", "wake", "wake-alarm-to-alarm", asleep(wake_alarm="ALARM")),
        ("wake repeated while waking", "", "wake-requested", asleep(waking)),
        ("ready (steady state, healthy target)", "ready", "service-steady-state", asleep(waking, healthy=True)),
        ("steady state, no wake under way", "", "service-steady-state", awake()),
        ("readiness check, no healthy target yet", "", "readiness-check", asleep(waking)),
        ("readiness check, healthy target: ready", "ready", "readiness-check", asleep(waking, healthy=True)),
        ("readiness check after the wake ended", "", "readiness-check", awake()),
        ("wake failure (task start impaired)", "", "service-task-start-impaired", asleep(waking)),
        (
            "wake backstop, failure < 5 min old (no retry)",
            "",
            "wake-alarm-to-alarm",
            asleep(failed, wake_alarm="ALARM"),
        ),
        ("wake requested, failure: retried", "", "wake-requested", asleep(failed)),
        ("stopped task, awake, a target still healthy", "", "task-stopped", awake()),
        ("pin (awake)", "", "pin-requested", awake()),
        ("pin (asleep: wakes)", "", "pin-requested", asleep()),
        ("unpin", "", "unpin-requested", awake(state=pinned)),
        ("reconcile, nothing to do", "", "reconcile-tick", awake()),
        ("reconcile, stayed idle after a wake: sleeps", "", "reconcile-tick", awake(idle="ALARM")),
        ("reconcile, missed ready: hands back", "", "reconcile-tick", asleep(waking, healthy=True)),
        ("event for another stack (ignored)", "", "alarm-of-another-stack", awake()),
    ]


def _readiness_watch() -> str:
    import boto3  # noqa: PLC0415 - after the environment is set

    answer = boto3.client("stepfunctions").create_state_machine(
        name="warmkeeper-readiness",
        definition='{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}',
        roleArn="arn:aws:iam::123456789012:role/warmkeeper-readiness",
        type="EXPRESS",
    )
    return str(answer["stateMachineArn"])


def _decisions() -> list[tuple[str, str, str, int, int, float, str]]:
    from moto import mock_aws  # noqa: PLC0415 - after the environment is set

    from tests.warmkeeper.helpers import FakeContext, load_event  # noqa: PLC0415
    from tests.warmkeeper.moto_account import build_account  # noqa: PLC0415

    rows = []
    with mock_aws():
        account = build_account()
        os.environ.update(account.environment)
        # The template's readiness watch: each wake starts it (one StartExecution), moto only records it.
        os.environ["READINESS_STATE_MACHINE_ARN"] = _readiness_watch()
        handler = importlib.import_module("warmkeeper.handler")
        from warmkeeper.adapters.aws import default_clients  # noqa: PLC0415
        from warmkeeper.models.settings import get_settings  # noqa: PLC0415

        get_settings.cache_clear()
        default_clients.cache_clear()
        calls: list[str] = []

        def record(model: Any, **_: Any) -> None:
            calls.append(model.name)

        clients = default_clients()
        for client in (clients.ecs, clients.elbv2, clients.cloudwatch, clients.ssm, clients.step_functions()):
            client.meta.events.register("before-call", record)
        for label, target, fixture, arrange in _scenarios(account):
            # Delivered now, as EventBridge would: the fixture's own time is past, and stale requests wake nothing.
            event = load_event(fixture) | {"time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
            durations: list[float] = []
            counts: set[int] = set()
            outcome = ""
            for _ in range(REPETITIONS):
                arrange()
                calls.clear()
                with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    result = handler.lambda_handler(event, FakeContext())
                    durations.append((time.perf_counter() - start) * 1000)
                counts.add(len(calls))
                outcome = result["outcome"]
            if len(counts) != 1:
                raise RuntimeError(f"{label}: the call count varied between repetitions: {counts}")
            (count,) = counts
            sequence = " ".join(calls)
            rows.append(
                (label, outcome, target, count, TARGETS.get(target, -1), statistics.median(durations), sequence)
            )
    return rows


def _import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = {**os.environ, **_ENV, "PYTHONPATH": os.pathsep.join(PATHS), "PYTHONDONTWRITEBYTECODE": "1"}
    output = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    return float(output.strip())


def _imports() -> dict[str, float]:
    samples: dict[str, list[float]] = {"boto3": [], "warmkeeper.handler": []}
    _import_seconds("boto3")  # warm the file cache once, for both
    for _ in range(IMPORT_RUNS):
        for module, values in samples.items():  # interleaved, so machine load hits both alike
            values.append(_import_seconds(module))
    return {module: statistics.median(values) * 1000 for module, values in samples.items()}


def import_ratio() -> ColdRatio:
    """``import warmkeeper.handler`` against ``import boto3``, whole processes, with tracing on as in Lambda."""
    lambda_like = {
        **_ENV,
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_TASK_ROOT": str(ROOT / "src" / "warmkeeper"),
        "PYTHONPATH": os.pathsep.join(PATHS),
    }
    return cold_ratio(
        "controller: import warmkeeper.handler (tracing on)",
        TARGET_IMPORT_RATIO,
        ("-c", "import warmkeeper.handler"),
        lambda_like,
    )


def main() -> None:
    cold = import_ratio()
    os.environ.update(_ENV)
    for path in reversed(PATHS):
        if path not in sys.path:
            sys.path.insert(0, path)
    rows = _decisions()
    print(f"AWS API calls per decision (real handler, moto in process, {REPETITIONS} runs each)")
    print(f"{'decision':<46} {'outcome':<22} {'calls':>5} {'target':>6} {'ms p50':>7}  calls in order")
    for label, outcome, _target, count, target_calls, ms, sequence in rows:
        shown = "" if target_calls < 0 else (f"<={target_calls}" + ("" if count <= target_calls else " !"))
        print(f"{label:<46} {outcome:<22} {count:>5} {shown:>6} {ms:>7.1f}  {sequence}")
    missed = [(label, count, t) for label, _o, _k, count, t, _ms, _s in rows if t >= 0 and count > t]
    if missed:
        print("targets missed (!): " + "; ".join(f"{label}: {count} > {t}" for label, count, t in missed))
    imports = _imports()
    print(f"\nImport time (fresh interpreter, median of {IMPORT_RUNS}, interleaved)")
    print(f"{'module':<24} {'ms':>7}")
    for module, ms in imports.items():
        print(f"{module:<24} {ms:>7.1f}")
    print(f"{'handler minus boto3':<24} {imports['warmkeeper.handler'] - imports['boto3']:>7.1f}")
    print()
    print_ratios([cold])


if __name__ == "__main__":
    main()
