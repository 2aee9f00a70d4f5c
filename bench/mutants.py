"""Mutation check: does the property test catch deliberate bugs in the decision code?

Each mutation is one textual change to ``src/warmkeeper/warmkeeper/domain/decide.py``, applied to a
temporary copy of the project (never to the tree). The in-memory property test then runs in its CI
configuration (``WARMKEEPER_PROPERTY_SCALE`` as CI sets it, 1 by default; no shrinking, which changes
no verdict) ``runs`` times; a run catches the mutation when the test fails. The table says, per
mutation, in how many runs it was caught.

    python -m bench mutants                 # every mutation, 1 run each
    MUTANT_RUNS=10 python -m bench mutants  # the 10-run measure
    MUTANTS=retry-fresh,reissue python -m bench mutants
    MUTANT_JOBS=2 MUTANT_RUNS=10 python -m bench mutants   # two runs at a time
    MUTANT_RUNS=10 MUTANT_DOCS=1 python -m bench mutants   # and write the table into docs/robustness.md
    make mutants

Before the mutations, the unmutated copy runs as many times: it must pass every time, or the table would
mean nothing. The table says, per mutation, in how many runs it was caught, the seconds per run, and which
share of the test flagged it first (most often) with the start of its message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench._docs import replace_between

ROOT = Path(__file__).resolve().parents[1]
TARGET = Path("src/warmkeeper/warmkeeper/domain/decide.py")
# One process, shares D and E (the short minimum awake time) first: -x then stops at the first share that
# fails, where two xdist workers would finish the share in flight on the other. The verdict is the same.
TEST = " ".join(f"tests/warmkeeper/test_properties.py::TestInMemory{share}" for share in "DEABC")


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
        '    if observed.healthy_targets == 0:\n        return Decision(\n            "not-healthy-yet"',
        '    if observed.healthy_targets < 0:\n        return Decision(\n            "not-healthy-yet"',
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
        "            plan.update(wake_started_at=now, failure=None, wake_requested_at=None",
        "        if True:\n            plan.update(wake_started_at=now, failure=None, wake_requested_at=None",
    ),
)


def _copy_project(into: Path) -> None:
    for name in ("src", "tests", "events"):
        shutil.copytree(ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
    shutil.copy2(ROOT / "pyproject.toml", into / "pyproject.toml")


# pytest's short summary: "FAILED tests/...::TestInMemoryD::runTest - AssertionError: ['slept ...".
_FAILED = re.compile(r"^FAILED \S+::(?P<test>\w+)::runTest - (?P<message>.*)$", re.M)


@dataclass(frozen=True)
class Run:
    passed: bool
    seconds: float
    # Which share failed and the first words of what it flagged: where the mutation showed.
    flagged: str | None
    output: str = ""


def _flagged(output: str) -> str | None:
    match = _FAILED.search(output)
    if match is None:
        return None
    message = match["message"].removeprefix("AssertionError: ").lstrip("[('\"")
    message = re.sub(r"\d{4}-\d\d-\d\d |\+00:00", "", message)
    share = match["test"].removeprefix("TestInMemory")
    return f"{share}: {message[:58]}"


def _run_tests(project: Path) -> Run:
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our own interpreter and test file
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-n",
            "0",
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
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "WARMKEEPER_PROPERTY_NO_SHRINK": "1", "COLUMNS": "400"},
    )
    passed = result.returncode == 0
    return Run(passed, time.monotonic() - started, None if passed else _flagged(result.stdout), result.stdout)


DOC = ROOT / "docs" / "robustness.md"
# The measured table in docs/robustness.md sits between these lines; MUTANT_DOCS=1 rewrites it. It is a
# measurement (minutes to hours), so ``make docs`` does not rerun it.
DOC_START, DOC_END = "<!-- mutants: measured by python -m bench mutants -->\n", "<!-- /mutants -->"


class _Projects:
    """One copy of the project per worker thread (each run rewrites its copy's decide.py)."""

    def __init__(self, under: Path) -> None:
        self.under = under
        self.local = threading.local()
        self.lock = threading.Lock()
        self.count = 0

    def run(self, mutation: Mutation | None) -> Run:
        project: Path | None = getattr(self.local, "project", None)
        if project is None:
            with self.lock:
                self.count += 1
                project = self.under / f"copy-{self.count}"
            _copy_project(project)
            self.local.project = project
            self.local.source = (project / TARGET).read_text()
        source: str = self.local.source
        text = source if mutation is None else source.replace(mutation.old, mutation.new)
        (project / TARGET).write_text(text)
        return _run_tests(project)


def main() -> None:
    runs = int(os.environ.get("MUTANT_RUNS", "1"))
    # Runs at once (each one pytest process): 1, or the number of cores to spare.
    jobs = int(os.environ.get("MUTANT_JOBS", "1"))
    chosen = {n for n in os.environ.get("MUTANTS", "").split(",") if n}
    mutations = [m for m in MUTATIONS if not chosen or m.name in chosen]
    scale = os.environ.get("WARMKEEPER_PROPERTY_SCALE", "1")
    source = (ROOT / TARGET).read_text()
    for mutation in mutations:
        if source.count(mutation.old) != 1:
            raise SystemExit(f"mutation {mutation.name}: its text is not found exactly once in {TARGET}")
    lines: list[str] = []

    def out(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    out(f"property test: in-memory shares A-E, WARMKEEPER_PROPERTY_SCALE={scale}; {runs} run(s) per mutation")
    with (
        tempfile.TemporaryDirectory(prefix="warmkeeper-mutants-") as tmp,
        ThreadPoolExecutor(max_workers=jobs) as pool,
    ):
        projects = _Projects(Path(tmp))
        # The unmutated copy runs as often as each mutation: a failure there would make every catch suspect.
        unmutated = list(pool.map(projects.run, [None] * runs))
        passes = sum(r.passed for r in unmutated)
        seconds = sum(r.seconds for r in unmutated) / runs
        out(f"unmutated: passes {passes} of {runs} ({seconds:.0f} s per run)")
        if passes < runs:
            failed = next(r for r in unmutated if not r.passed)
            print(failed.output[-6000:], file=sys.stderr)
            raise SystemExit(f"the unmutated property test fails ({failed.flagged}); fix that first")
        out(f"{'mutation':<22} {'caught':>8}  {'seconds':>7}  {'flagged first by (share: check)':<62} what")
        caught_enough = 0
        pending = [(m, pool.submit(projects.run, m)) for m in mutations for _ in range(runs)]
        for mutation in mutations:
            results = [future.result() for m, future in pending if m is mutation]
            caught = sum(not r.passed for r in results)
            flags = Counter(r.flagged or "?" for r in results if not r.passed)
            flagged = flags.most_common(1)[0][0] if flags else "-"
            seconds = sum(r.seconds for r in results) / runs
            caught_enough += caught * 10 >= runs * 9
            out(f"{mutation.name:<22} {caught:>3} of {runs:<2}  {seconds:>7.0f}  {flagged:<62} {mutation.what}")
        out(f"caught in at least 9 of 10 runs: {caught_enough} of {len(mutations)}")
    if os.environ.get("MUTANT_DOCS") == "1":
        _write_doc(lines)


def _write_doc(lines: list[str]) -> None:
    when = time.strftime("%Y-%m-%d", time.gmtime())
    body = f"Measured on {when} (seconds are per run, on a 2-core machine shared with other work):\n\n"
    body += "```text\n" + "\n".join(lines) + "\n```\n"
    replace_between(DOC, (DOC_START, DOC_END), body)
    print(f"wrote the table into {DOC.relative_to(ROOT)}")
