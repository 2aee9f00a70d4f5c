"""``python -m bench wake``: many wakes played on the local stack, in virtual time, under a latency model of AWS.

Each wake: a browser asks for a page while the service sleeps (the HTTP face answers after a Lambda cold
start), its wake request reaches the controller through EventBridge, the controller's ``UpdateService`` starts
a simulated Fargate task whose start, application boot and first ALB health check are drawn from the model,
``SERVICE_STEADY_STATE`` comes on time, early, late or never, and the waiting page polls the status every
``pollMs`` until it says ready, then reloads into the application. The functions are the real ones (in
process); only AWS's own delays come from local_aws/latency.py, whose figures and sources the table lists.

Measured per wake, in scenario seconds:
- first request to wake issued: until the controller's ``UpdateService`` (desiredCount 1) is done;
- healthy target to traffic back: until the listener sends the service's traffic to the ECS target group;
- first request to the application answering: until the reloaded page is served by the task;
- overhead: the last minus the task's own start-to-healthy time (``UpdateService`` to healthy target).
Targets for the overhead: p50 <= 4 s and p99 <= 10 s in every steady-state variant.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from bench._docs import replace_between
from local_aws.alb import HttpResponse
from local_aws.clock import Clock
from local_aws.eventbus import Delivery, EventBus
from local_aws.latency import MODEL, LatencyModel
from local_aws.runtime import LocalAws
from local_aws.scenario import BROWSER
from local_aws.simulate import STEADY_STATE_TIMINGS, SteadyStateTiming, TaskStart, TaskTiming

ROOT = Path(__file__).resolve().parents[1]
WAKES = 10
SEED = 9
TARGET_P50 = 4.0
TARGET_P99 = 10.0
# A wake that has not reached the application by then is counted at this value, and shown as a timeout.
GIVE_UP = timedelta(minutes=15)
START = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
# Between wakes the service must fall asleep again; with one idle minute and two minimum awake minutes it does
# so in about three scenario minutes. Neither takes part in a wake, as long as the minimum awake time outlasts
# the visitor's way in (with 0, the idle alarm still in ALARM from before the wake puts it back to sleep at the
# next reconcile, before the visitor's reload can count as activity).
BETWEEN_WAKES = {"IdleMinutes": "1", "MinAwakeMinutes": "2"}
_POLL = re.compile(r'"pollMs":\s*(\d+)')
STATUS_HEADERS = {**BROWSER, "accept": "application/json"}


@dataclass
class Wake:
    """One wake's instants, in scenario time."""

    variant: SteadyStateTiming
    requested_at: datetime
    wake_issued_at: datetime | None = None
    task: TaskStart | None = None
    traffic_at: datetime | None = None
    app_at: datetime | None = None
    polls: int = 0

    def _since(self, start: datetime | None, end: datetime | None) -> float:
        if start is None or end is None:
            return math.inf
        return (end - start).total_seconds()

    @property
    def healthy_at(self) -> datetime | None:
        return self.task.healthy_at if self.task else None

    @property
    def to_wake_issued(self) -> float:
        return self._since(self.requested_at, self.wake_issued_at)

    @property
    def healthy_to_traffic(self) -> float:
        return self._since(self.healthy_at, self.traffic_at)

    @property
    def to_application(self) -> float:
        return self._since(self.requested_at, self.app_at)

    @property
    def task_start_to_healthy(self) -> float:
        return self._since(self.wake_issued_at, self.healthy_at)

    @property
    def overhead(self) -> float:
        if math.isinf(self.to_application):
            return math.inf
        return self.to_application - self.task_start_to_healthy


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); inf (a timeout) sorts last."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    if math.isinf(ordered[high]):
        return math.inf
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class WakeBench:
    """Plays wakes one after another on one local stack; between wakes the service goes back to sleep."""

    local: LocalAws
    rng: random.Random
    model: LatencyModel = MODEL
    poll_seconds: float = 2.0
    current: Wake | None = field(default=None, init=False)
    _settles: list[datetime] = field(default_factory=list, init=False)
    _face_cache_filled: datetime | None = field(default=None, init=False)

    # ------------------------------------------------------------------ reading the local stack

    def desired(self) -> int:
        return int(self.local.describe_service()["desiredCount"])

    def traffic_on_ecs(self) -> bool:
        ecs_group = self.local.stack.service_target_group_arn
        for action in self.local.traffic_actions():
            for group in action.get("ForwardConfig", {}).get("TargetGroups", []):
                if group["TargetGroupArn"] == ecs_group:
                    return int(group.get("Weight", 1)) > 0
        return False

    # ------------------------------------------------------------------ what happens during a wake

    def deliver(self) -> None:
        """EventBridge hands what was just put to the functions after its delivery latency, and the
        controller's decision takes its own time."""
        delay = self.model.eventbridge_delivery.draw(self.rng) + self.model.controller_decision.draw(self.rng)
        when = self.local.clock.now() + timedelta(seconds=delay)
        # One delivery round takes everything put so far, and rounds are costly (each drains every rule's
        # queue): a round already due at most a quarter second later delivers this too (a little late).
        if any(when <= pending <= when + timedelta(seconds=0.25) for pending in self._settles):
            return
        self._settles.append(when)
        self.local.clock.at(when, self.settle)

    def settle(self) -> None:
        now = self.local.clock.now()
        self._settles = [when for when in self._settles if when > now]
        self.local.bus.settle()
        self.look()

    def look(self, _minute: datetime | None = None) -> None:
        """After anything the controller may have done: note the wake issued and the traffic back."""
        wake = self.current
        if wake is None:
            return
        clock = self.local.clock
        if wake.wake_issued_at is None and self.desired() >= 1:
            wake.wake_issued_at = clock.now()
            wake.task = self.local.ecs.start_task(wake.variant, on_change=self.deliver)
        if wake.traffic_at is None and self.traffic_on_ecs():
            # The listener change reaches the load balancer's nodes a moment later.
            wake.traffic_at = clock.now() + timedelta(seconds=self.model.listener_change.draw(self.rng))

    def face(self, path: str, headers: dict[str, str]) -> HttpResponse:
        """A request through the load balancer, with the HTTP face's caches aged in scenario time.

        The face caches the controller's record and the service for a few seconds of the wall clock (its
        monotonic time); with the clock at speed 0 scenario seconds pass in milliseconds, so the bench expires
        those caches once their longest lifetime has passed in scenario time, as a warm environment would."""
        now = self.local.clock.now()
        face = sys.modules.get("heartbeat.adapters.aws")
        if face is not None:
            lifetime = timedelta(seconds=face.STATE_MAX_AGE_SECONDS)
            if self._face_cache_filled is None or now - self._face_cache_filled >= lifetime:
                face.expire_values()
                self._face_cache_filled = now
        return self.local.alb.request("GET", path, headers)

    def first_request(self) -> None:
        wake = self.current
        if wake is None:
            return
        page = self.face("/", BROWSER)
        if page.served_by != "waker" or "<html" not in page.body:
            raise RuntimeError(f"the first request of a wake got {page.status} from {page.served_by}, not the page")
        if match := _POLL.search(page.body):
            self.poll_seconds = int(match[1]) / 1000
        self.deliver()
        # The page's script waits one interval before its first look.
        self.local.clock.after(self.poll_seconds, self.poll)

    def poll(self) -> None:
        wake = self.current
        if wake is None or wake.app_at is not None:
            return
        wake.polls += 1
        answer = self.face("/_warmkeeper/status", STATUS_HEADERS)
        if self.local.bus.pending():
            self.deliver()
        ready = answer.status == 200 and json.loads(answer.body).get("ready") is True
        respond = self.model.lambda_warm_invoke.draw(self.rng)
        self.local.clock.after(respond, self.reload if ready else lambda: self.local.clock.after(0, self.next_poll))

    def next_poll(self) -> None:
        self.local.clock.after(self.poll_seconds, self.poll)

    def reload(self) -> None:
        """``location.replace``: the page's URL again; the task answers once the listener change is live."""
        wake = self.current
        if wake is None:
            return
        now = self.local.clock.now()
        if wake.traffic_at is not None and now >= wake.traffic_at:
            response = self.face("/", BROWSER)
            if response.served_by == "ecs" and response.status == 200:
                wake.app_at = now
                return
        # Still the waiting page: its script looks again after one interval.
        self.local.clock.after(self.model.lambda_warm_invoke.draw(self.rng), self.next_poll)

    # ------------------------------------------------------------------ a whole wake, and back to sleep

    def asleep(self) -> bool:
        return self.desired() == 0 and not self.traffic_on_ecs()

    def go_to_sleep(self) -> None:
        """Nobody comes: the idle alarm and the controller put the service to sleep; the tasks stop."""
        if not self.local.clock.advance_until(self.asleep, timedelta(hours=1), "idle"):
            raise RuntimeError("the service did not go to sleep within an idle hour")
        self.local.ecs.tasks_stop_for_scale_in()
        self.local.bus.settle()

    def wake(self, variant: SteadyStateTiming) -> Wake:
        clock = self.local.clock
        # Visitors arrive at any second of the minute (the reconcile schedule runs on the minute).
        clock.advance(timedelta(seconds=self.rng.uniform(0, 60)))
        wake = self.current = Wake(variant, clock.now())
        clock.after(self.model.lambda_cold_start.draw(self.rng), self.first_request)
        clock.advance_until(lambda: wake.app_at is not None, GIVE_UP, "a wake")
        self.current = None
        return wake


@dataclass
class _DeliveredLater:
    """The bus as the readiness watch (local_aws/readiness.py) sees it in the benchmark: what the watch puts
    reaches the controller after EventBridge's latency and the decision's time, like every other event here."""

    bench: WakeBench
    bus: EventBus

    def put(self, entries: list[Mapping[str, Any]]) -> list[str]:
        return self.bus.put(entries)

    def settle(self) -> list[Delivery]:
        self.bench.deliver()
        return []


def play(
    wakes: int, seed: int, overrides: dict[str, str] | None = None
) -> tuple[dict[str, list[Wake]], tuple[int, int]]:
    """``wakes`` wakes per steady-state variant; returns them and the target group's health check interval and
    healthy threshold."""
    rng = random.Random(seed)  # noqa: S311 - seeded on purpose: the same wakes every run
    results: dict[str, list[Wake]] = {variant: [] for variant in STEADY_STATE_TIMINGS}
    clock = Clock(speed=0, start=START)
    with LocalAws(overrides=overrides if overrides is not None else dict(BETWEEN_WAKES), clock=clock) as local:
        local.ecs.timing = TaskTiming(MODEL, rng)
        bench = WakeBench(local, rng)
        local.readiness.bus = cast("EventBus", _DeliveredLater(bench, local.bus))
        clock.on_minute(bench.look)
        local.ecs.task_comes_up()
        local.bus.settle()
        for _ in range(wakes):
            for variant in STEADY_STATE_TIMINGS:
                bench.go_to_sleep()
                results[variant].append(bench.wake(variant))
        group = local.stack.endpoint.client("elbv2").describe_target_groups(
            TargetGroupArns=[local.stack.service_target_group_arn]
        )["TargetGroups"][0]
        checks = (int(group["HealthCheckIntervalSeconds"]), int(group["HealthyThresholdCount"]))
    return results, checks


def _seconds(value: float) -> str:
    return "timeout" if math.isinf(value) else f"{value:.1f}"


MEASURES = (
    ("first request -> wake issued", "to_wake_issued"),
    ("healthy target -> traffic back", "healthy_to_traffic"),
    ("first request -> application answers", "to_application"),
    ("task's own start -> healthy", "task_start_to_healthy"),
    ("overhead beyond task start", "overhead"),
)


def report(results: dict[str, list[Wake]], checks: tuple[int, int], seed: int) -> list[str]:
    interval, threshold = checks
    wakes = len(next(iter(results.values())))
    lines = [
        f"{wakes} wakes per SERVICE_STEADY_STATE variant on the local stack (functions in process, virtual time, "
        f"seed {seed}); ALB health checks every {interval} s (healthy threshold {threshold}; a newly registered "
        "target needs one passing check)",
        f"{'variant':<8} {'measure':<38} {'p50 s':>8} {'p90 s':>8} {'p99 s':>8}  target",
    ]
    worst: dict[str, tuple[float, str]] = {}
    missed = []
    for variant, played in results.items():
        for label, name in MEASURES:
            values = [getattr(w, name) for w in played]
            p50, p90, p99 = (percentile(values, q) for q in (50, 90, 99))
            target = ""
            if name == "overhead":
                ok = p50 <= TARGET_P50 and p99 <= TARGET_P99
                target = f"p50<={TARGET_P50:g} p99<={TARGET_P99:g}" + ("" if ok else " !")
                if not ok:
                    missed.append(variant)
                for key, value in (("p50", p50), ("p99", p99)):
                    if key not in worst or value > worst[key][0]:
                        worst[key] = (value, variant)
            lines.append(
                f"{variant:<8} {label:<38} {_seconds(p50):>8} {_seconds(p90):>8} {_seconds(p99):>8}  {target}".rstrip()
            )
    timeouts = sum(1 for played in results.values() for w in played if math.isinf(w.overhead))
    lines.append(f"timeouts (no application after {GIVE_UP.total_seconds() / 60:.0f} min): {timeouts}")
    lines.append("targets missed (!): " + (", ".join(missed) if missed else "none"))
    lines.append(f"worst variant: p50 {worst['p50'][1]}, p99 {worst['p99'][1]}")
    lines.append(
        f"wake overhead beyond task start: p50 {_seconds(worst['p50'][0])} s, p99 {_seconds(worst['p99'][0])} s"
    )
    return lines


def model_lines(model: LatencyModel = MODEL) -> list[str]:
    width = max(len(f.name) for f in model.figures())
    lines = [f"{'figure':<{width}} {'p50 s':>7} {'p99 s':>7}  source"]
    lines += [f"{f.name:<{width}} {f.p50:>7g} {f.p99:>7g}  {f.source}" for f in model.figures()]
    return lines


def model_table(model: LatencyModel = MODEL) -> str:
    """The model as a Markdown table (the generated block in docs/wake.md)."""
    lines = ["| figure | p50 s | p99 s | source |", "| --- | ---: | ---: | --- |"]
    lines += [f"| {f.name} | {f.p50:g} | {f.p99:g} | {f.source} |" for f in model.figures()]
    return "\n".join(lines) + "\n"


# The measured figures in docs/wake.md and README.md sit between these markers; ``--docs`` rewrites them. The
# run takes minutes, so ``make docs`` (which checks only quick, deterministic blocks) does not rerun it.
DOC = ROOT / "docs" / "wake.md"
README = ROOT / "README.md"
DOC_MARKERS = ("<!-- wake: measured by python -m bench.wake --docs -->\n", "<!-- /wake -->")
README_MARKERS = ("<!-- wake-line: measured by python -m bench.wake --docs -->\n", "<!-- /wake-line -->")
_LAST_LINE = re.compile(r"wake overhead beyond task start: p50 (?P<p50>\S+) s, p99 (?P<p99>\S+) s")


def readme_line(lines: Sequence[str], results: dict[str, list[Wake]]) -> str:
    """README's sentence: the last line's worst-variant overhead and the first request to the application."""
    match = _LAST_LINE.fullmatch(lines[-1])
    if match is None:
        raise ValueError(f"not the wake benchmark's last line: {lines[-1]!r}")
    to_app = [w.to_application for played in results.values() for w in played]
    return (
        "Measured by `python -m bench wake` ([wake.md](docs/wake.md)) on the local stack under a latency model of "
        f"AWS: a visitor reaches the application {_seconds(percentile(to_app, 50))} s after the first request (p50, "
        f"Fargate's start included); Warmkeeper adds p50 {match['p50']} s, p99 {match['p99']} s to the task's own "
        "start, in the worst case of ECS's `SERVICE_STEADY_STATE` (early, on time, late or never).\n"
    )


def write_docs(lines: Sequence[str], results: dict[str, list[Wake]]) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    replace_between(DOC, DOC_MARKERS, f"Measured on {when}:\n\n```text\n" + "\n".join(lines) + "\n```\n")
    replace_between(README, README_MARKERS, readme_line(lines, results))
    print(f"wrote the figures into {DOC.relative_to(ROOT)} and {README.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.wake", description=__doc__.splitlines()[0])
    parser.add_argument("--wakes", type=int, default=WAKES, help=f"wakes per variant (default {WAKES})")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--no-model", action="store_true", help="leave the model's figures and sources out")
    parser.add_argument("--docs", action="store_true", help="write the figures into docs/wake.md and README.md")
    arguments = parser.parse_args(argv if argv is not None else [])
    if arguments.wakes < 1:
        parser.error("--wakes must be at least 1")
    warnings.filterwarnings("ignore", module="moto")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.getLogger("moto").setLevel(logging.ERROR)
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    if not arguments.no_model:
        print("Latency model (local_aws/latency.py): lognormal per figure, from its p50 and p99")
        print("\n".join(model_lines()))
        print()
    results, checks = play(arguments.wakes, arguments.seed)
    lines = report(results, checks, arguments.seed)
    print("\n".join(lines))
    if arguments.docs:
        write_docs(lines, results)


if __name__ == "__main__":
    main(sys.argv[1:])
