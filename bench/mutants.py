"""Mutation check: does the property test catch deliberate bugs in the decision code?

Each mutation is one textual change to ``src/warmkeeper/warmkeeper/domain/decide.py``, applied to a
temporary copy of the project (never to the tree). The in-memory property test then runs in its CI
configuration (``WARMKEEPER_PROPERTY_SCALE`` as CI sets it, 1 by default; no shrinking, which changes
no verdict) ``runs`` times; a run catches the mutation when the test fails. The table says, per
mutation, in how many runs it was caught.

    python -m bench mutants                 # every mutation, 1 run each
    MUTANT_RUNS=10 python -m bench mutants  # the 10-run measure
    MUTANTS=retry-fresh,reissue python -m bench mutants
    make mutants

Before the mutations, the unmutated copy runs once: it must pass, or the table would mean nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = Path("src/warmkeeper/warmkeeper/domain/decide.py")
TEST = "tests/warmkeeper/test_properties.py::TestInMemoryA tests/warmkeeper/test_properties.py::TestInMemoryB "
TEST += "tests/warmkeeper/test_properties.py::TestInMemoryC tests/warmkeeper/test_properties.py::TestInMemoryD"


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str
    old: str
    new: str


MUTATIONS = (
    Mutation(
        "retry-fresh",
        "automatic wakes retry a fresh failure",
        "if origin.automatic and failure is not None and _fresh(now, failure):",
        "if False:",
    ),
    Mutation(
        "reissue",
        "every wake request re-issues UpdateService",
        "        if observed.service.desired_count == 0:\n            target = max(1, state.count_before_sleep)",
        "        if True:\n            target = max(1, state.count_before_sleep)",
    ),
    Mutation(
        "stale-idle-reconcile",
        "the reconcile sleeps on an idle alarm left over from before a wake",
        "        if blocker := stale_idle_blocker(now, settings, plan.state, changed):\n            plan.reason",
        "        if blocker := None:\n            plan.reason",
    ),
    Mutation(
        "sleep-order",
        "sleep sets desiredCount 0 before moving traffic to the waker",
        "    actions.append(RouteTraffic(Route.WAKER))\n"
        "    if service.desired_count > 0:\n        actions.append(SetDesiredCount(0))",
        "    if service.desired_count > 0:\n        actions.append(SetDesiredCount(0))\n"
        "    actions.append(RouteTraffic(Route.WAKER))",
    ),
    Mutation(
        "ready-unhealthy",
        "ready hands traffic back without a healthy target",
        '    if observed.healthy_targets == 0:\n        return Decision("not-healthy-yet"',
        '    if observed.healthy_targets < 0:\n        return Decision("not-healthy-yet"',
    ),
    Mutation(
        "ignore-pin",
        "a pin does not block a sleep",
        "    if state.pinned_at(now):\n        assert state.pinned_until is not None",
        "    if False:\n        assert state.pinned_until is not None",
    ),
    Mutation(
        "ignore-deployment",
        "a deployment in progress does not defer a sleep",
        "    if service.deployment_in_progress:\n        return _skipped(",
        "    if False:\n        return _skipped(",
    ),
    Mutation(
        "idle-not-reread",
        "the idle alarm is not re-read before a sleep",
        "        if alarm != ALARM:\n            if mode is SleepMode.AFTER_DEPLOYMENT:",
        "        if False:\n            if mode is SleepMode.AFTER_DEPLOYMENT:",
    ),
    Mutation(
        "no-min-awake",
        "the minimum awake time is ignored",
        "    if marks and now < max(marks) + settings.min_awake:",
        "    if False:",
    ),
    Mutation(
        "no-deadline",
        "the reconcile never fails a wake past its deadline",
        "    elif state.failure is None and _overdue(now, settings, state):\n        plan.reason",
        "    elif False:\n        plan.reason",
    ),
    Mutation(
        "no-black-hole-repair",
        "the reconcile leaves traffic on ECS without a healthy target",
        "    if route is not Route.WAKER:\n        # Invariant 1",
        "    if False:\n        # Invariant 1",
    ),
    Mutation(
        "no-wake-failure",
        "a stopped task of the current wake is not recorded as a failure",
        "    if of_this_wake and state.failure is None:",
        "    if False:",
    ),
    Mutation(
        "redo-resets-deadline",
        "a reconcile that redoes an undone wake restarts its deadline",
        "        if state.wake_started_at is None or state.failure is not None:\n"
        "            plan.update(wake_started_at=now, failure=None)",
        "        if True:\n            plan.update(wake_started_at=now, failure=None)",
    ),
)


def _copy_project(into: Path) -> None:
    for name in ("src", "tests", "events"):
        shutil.copytree(ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
    shutil.copy2(ROOT / "pyproject.toml", into / "pyproject.toml")


def _run_tests(project: Path) -> tuple[bool, float]:
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our own interpreter and test file
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            *TEST.split(),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "WARMKEEPER_PROPERTY_NO_SHRINK": "1"},
    )
    return result.returncode == 0, time.monotonic() - started


def main() -> None:
    runs = int(os.environ.get("MUTANT_RUNS", "1"))
    chosen = {n for n in os.environ.get("MUTANTS", "").split(",") if n}
    mutations = [m for m in MUTATIONS if not chosen or m.name in chosen]
    scale = os.environ.get("WARMKEEPER_PROPERTY_SCALE", "1")
    print(f"property test: in-memory shares A-D, WARMKEEPER_PROPERTY_SCALE={scale}; {runs} run(s) per mutation")
    with tempfile.TemporaryDirectory(prefix="warmkeeper-mutants-") as tmp:
        project = Path(tmp)
        _copy_project(project)
        source = (project / TARGET).read_text()
        passed, seconds = _run_tests(project)
        print(f"unmutated: {'passes' if passed else 'FAILS'} ({seconds:.0f} s)")
        if not passed:
            raise SystemExit("the unmutated property test fails; fix that first")
        print(f"{'mutation':<22} {'caught':>8}  {'seconds':>8}  what")
        caught_all = 0
        for mutation in mutations:
            if source.count(mutation.old) != 1:
                raise SystemExit(f"mutation {mutation.name}: its text is not found exactly once in {TARGET}")
            (project / TARGET).write_text(source.replace(mutation.old, mutation.new))
            caught, total = 0, 0.0
            for _ in range(runs):
                passed, seconds = _run_tests(project)
                caught += not passed
                total += seconds
            (project / TARGET).write_text(source)
            caught_all += caught == runs
            print(f"{mutation.name:<22} {caught:>3} of {runs:<2}  {total / runs:>8.0f}  {mutation.what}")
        print(f"caught in every run: {caught_all} of {len(mutations)}")
