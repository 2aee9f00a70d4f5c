"""Pure functions of the CLI: what the observed state means, and how it reads. No AWS call here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from warmkeeper_cli.errors import CliError, Exit
from warmkeeper_shared.state import ControllerState, Phase, derive_phase
from warmkeeper_shared.status import WakeView

_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d``, ``1h30m``."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None or not any(match.groupdict().values()):
        raise CliError(f"{text!r} is not a duration like 30m, 2h or 1h30m", Exit.USAGE)
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return timedelta(
        days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0)
    )


def parse_instant(text: str, now: datetime) -> datetime:
    """An ISO 8601 instant; without a zone it is the local time of ``now``."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise CliError(f"{text!r} is not a date and time like 2026-12-01T18:00Z", Exit.USAGE) from error
    if value.tzinfo is None:
        value = value.replace(tzinfo=now.tzinfo)
    if value <= now:
        raise CliError(f"{text} is in the past", Exit.USAGE)
    return value


# ------------------------------------------------------------------ where traffic goes


class Route(StrEnum):
    ECS = "service"
    WAKER = "waker"
    SPLIT = "split"
    UNKNOWN = "unknown"


def forward_weights(actions: list[dict[str, Any]], ecs_arn: str, waker_arn: str) -> dict[str, int]:
    """Weights of the ECS and waker target groups in a rule's (or a listener's default) forward action."""
    names = {ecs_arn: "ecs", waker_arn: "waker"}
    weights: dict[str, int] = {}
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = action.get("ForwardConfig", {}).get("TargetGroups") or (
            [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}] if action.get("TargetGroupArn") else []
        )
        for group in groups:
            name = names.get(group["TargetGroupArn"])
            if name is not None:
                weights[name] = int(group.get("Weight", 1))
    return weights


def route_of(weights: Mapping[str, int]) -> Route:
    ecs, waker = weights.get("ecs", 0), weights.get("waker", 0)
    if ecs > 0 and waker == 0:
        return Route.ECS
    if waker > 0 and ecs == 0:
        return Route.WAKER
    if ecs > 0 and waker > 0:
        return Route.SPLIT
    return Route.UNKNOWN


# ------------------------------------------------------------------ the controller's decisions in its log


@dataclass(frozen=True)
class Decision:
    at: datetime
    level: str
    trigger: str
    outcome: str
    reason: str
    actions: list[str]


def parse_decision(at: datetime, message: str) -> Decision | None:
    """A ``decision`` log line of the controller (Powertools JSON), or None for any other line."""
    try:
        record = json.loads(message)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict) or record.get("message") != "decision":
        return None
    actions = record.get("actions") or []
    return Decision(
        at=at,
        level=str(record.get("level", "INFO")),
        trigger=str(record.get("trigger", "?")),
        outcome=str(record.get("outcome", "?")),
        reason=str(record.get("reason", "")),
        actions=[str(a) for a in actions] if isinstance(actions, list) else [str(actions)],
    )


def decision_line(decision: Decision) -> str:
    actions = ", ".join(decision.actions) if decision.actions else "no action"
    level = "" if decision.level == "INFO" else f" [{decision.level}]"
    reason = f" ({decision.reason})" if decision.reason else ""
    return f"{decision.at:%Y-%m-%d %H:%M:%S}{level} {decision.outcome}: {actions}{reason} <- {decision.trigger}"


@dataclass(frozen=True)
class LastWake:
    started: datetime
    ready: datetime | None
    failed: datetime | None

    @property
    def seconds(self) -> float | None:
        end = self.ready or self.failed
        return None if end is None else (end - self.started).total_seconds()


_WOKE = {"woke"}
_READY = {"ready"}
_FAILED_PREFIX = "wake-failed"


def last_wake(decisions: Iterable[Decision]) -> LastWake | None:
    """The last wake in the log: when the controller raised desiredCount, and when traffic came back (or the
    wake failed). The record keeps only the wake under way, so a finished wake's latency comes from the log."""
    wake: LastWake | None = None
    for decision in sorted(decisions, key=lambda d: d.at):
        if decision.outcome in _WOKE:
            wake = LastWake(started=decision.at, ready=None, failed=None)
        elif wake is not None and wake.ready is None and wake.failed is None:
            if decision.outcome in _READY:
                wake = LastWake(wake.started, decision.at, None)
            elif decision.outcome.startswith(_FAILED_PREFIX):
                wake = LastWake(wake.started, None, decision.at)
    return wake


# ------------------------------------------------------------------ the whole picture


@dataclass(frozen=True)
class Snapshot:
    stack: str
    region: str
    stack_status: str
    desired: int
    running: int
    pending: int
    task_definition: str
    rollout_state: str
    healthy: int
    targets: int
    weights: dict[str, int]
    route_source: str
    record: ControllerState
    alarms: dict[str, str]
    image_tag: str | None
    checked_at: datetime
    last_wake: LastWake | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def phase(self) -> Phase:
        return derive_phase(self.record, self.desired)

    @property
    def route(self) -> Route:
        return route_of(self.weights)

    @property
    def serving(self) -> bool:
        """User traffic reaches the service again: the end of a wake."""
        return self.phase is Phase.AWAKE and self.route is Route.ECS and self.healthy > 0


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "-"
    delta = now - value
    ago = f"{int(abs(delta.total_seconds()) // 60)} min {'ago' if delta >= timedelta(0) else 'from now'}"
    return f"{value.astimezone(now.tzinfo):%Y-%m-%d %H:%M:%S} ({ago})"


def format_status(snapshot: Snapshot, now: datetime) -> str:
    record = snapshot.record
    rows: list[tuple[str, str]] = [
        ("stack", f"{snapshot.stack} ({snapshot.region}, {snapshot.stack_status})"),
        ("phase", snapshot.phase.value.upper()),
        ("tasks", f"desired {snapshot.desired}, running {snapshot.running}, pending {snapshot.pending}"),
        ("healthy targets", f"{snapshot.healthy} of {snapshot.targets} registered"),
        (
            "traffic",
            f"{snapshot.route.value} ({' '.join(f'{k}={v}' for k, v in sorted(snapshot.weights.items())) or '?'}"
            f" on the {snapshot.route_source})",
        ),
        ("task definition", f"{snapshot.task_definition} (rollout {snapshot.rollout_state})"),
        ("image tag", snapshot.image_tag or "-"),
        (
            "pin",
            f"until {_when(record.pinned_until, now)} by {record.pinned_by or '?'}"
            if record.pinned_at(now)
            else "none",
        ),
    ]
    if record.wake_started_at is not None:
        rows.append(("wake under way", f"since {_when(record.wake_started_at, now)}"))
    wake = snapshot.last_wake
    if wake is not None:
        end = (
            f"traffic back after {wake.seconds:.0f} s"
            if wake.ready
            else (f"failed after {wake.seconds:.0f} s" if wake.failed else "not finished")
        )
        rows.append(("last wake", f"{_when(wake.started, now)}, {end}"))
    timeline = WakeView.of(record)
    if timeline is not None:
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timeline.phase_seconds.items())
        label = "wake so far" if timeline.in_progress else "wake timeline"
        signal = f" (ready seen by {timeline.signal})" if timeline.signal else ""
        rows.append((label, f"{phases or 'started ' + _when(timeline.started_at, now)}{signal}"))
    if record.awake_since is not None:
        rows.append(("awake since", _when(record.awake_since, now)))
    failure = record.failure or record.last_deployment_failure
    if record.failure is not None:
        rows.append(("last failure", f"{record.failure.kind.value} at {_when(record.failure.at, now)}"))
        rows.append(("", record.failure.reason))
    elif failure is not None:
        rows.append(("last deploy failure", f"{failure.kind.value} at {_when(failure.at, now)}: {failure.reason}"))
    else:
        rows.append(("last failure", "none recorded"))
    for name, value in sorted(snapshot.alarms.items()):
        rows.append((f"alarm {name}", value))
    rows.extend(("note", note) for note in snapshot.notes)
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def status_document(snapshot: Snapshot) -> dict[str, Any]:
    wake = snapshot.last_wake
    return {
        "stack": snapshot.stack,
        "region": snapshot.region,
        "stackStatus": snapshot.stack_status,
        "phase": snapshot.phase.value,
        "desiredCount": snapshot.desired,
        "runningCount": snapshot.running,
        "pendingCount": snapshot.pending,
        "healthyTargets": snapshot.healthy,
        "registeredTargets": snapshot.targets,
        "route": snapshot.route.value,
        "weights": snapshot.weights,
        "routeSource": snapshot.route_source,
        "taskDefinition": snapshot.task_definition,
        "rolloutState": snapshot.rollout_state,
        "imageTag": snapshot.image_tag,
        "record": json.loads(snapshot.record.to_json()),
        "alarms": snapshot.alarms,
        "lastWake": None
        if wake is None
        else {
            "startedAt": wake.started.isoformat(),
            "readyAt": wake.ready.isoformat() if wake.ready else None,
            "failedAt": wake.failed.isoformat() if wake.failed else None,
            "seconds": wake.seconds,
        },
        "checkedAt": snapshot.checked_at.isoformat(),
    }


def progress_line(snapshot: Snapshot, elapsed: float) -> str:
    return (
        f"[{elapsed:5.0f} s] {snapshot.phase.value}: desired {snapshot.desired}, running {snapshot.running}, "
        f"healthy {snapshot.healthy}, traffic to the {snapshot.route.value}"
    )


# ------------------------------------------------------------------ verification


@dataclass(frozen=True)
class SmokeCheck:
    path: str
    expected: frozenset[int]


def parse_smoke_check(text: str) -> SmokeCheck:
    """``/path`` (expects 200) or ``/path=200,301``."""
    path, sep, statuses = text.partition("=")
    if not path.startswith("/"):
        raise CliError(f"smoke check {text!r}: the path must start with /", Exit.USAGE)
    try:
        expected = frozenset(int(s) for s in statuses.split(",")) if sep else frozenset({200})
    except ValueError as error:
        raise CliError(f"smoke check {text!r}: statuses must be numbers like 200,301", Exit.USAGE) from error
    if not expected or not all(100 <= s <= 599 for s in expected):
        raise CliError(f"smoke check {text!r}: statuses must be between 100 and 599", Exit.USAGE)
    return SmokeCheck(path, expected)


@dataclass(frozen=True)
class SmokeResult:
    check: SmokeCheck
    status: int | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.status in self.check.expected


def new_revision_serving(snapshot: Snapshot, deployments: list[dict[str, Any]]) -> bool:
    """The service's current task definition is the primary deployment's, it runs, and traffic reaches a
    healthy target of it: a deploy made while asleep is really live."""
    primary = [d for d in deployments if d.get("status") == "PRIMARY"]
    if not primary or primary[0].get("taskDefinition", "").rsplit("/", 1)[-1] != snapshot.task_definition:
        return False
    if primary[0].get("rolloutState", "COMPLETED") != "COMPLETED":
        return False  # ECS has not finished replacing the old tasks (or the circuit breaker is deciding)
    if any(d.get("status") == "ACTIVE" and int(d.get("runningCount", 0)) > 0 for d in deployments):
        return False  # an older revision still runs beside it
    return snapshot.serving and int(primary[0].get("runningCount", 0)) > 0


def format_report(snapshot: Snapshot, results: list[SmokeResult], waited: float, woke: bool) -> str:
    lines = [
        f"verify {snapshot.stack}: task definition {snapshot.task_definition}, image tag {snapshot.image_tag or '?'}",
        f"  {'woke the service and ' if woke else ''}waited {waited:.0f} s for healthy targets "
        f"({snapshot.healthy} healthy, traffic to the {snapshot.route.value})",
    ]
    for result in results:
        expected = ",".join(str(s) for s in sorted(result.check.expected))
        got = str(result.status) if result.status is not None else f"no answer ({result.error})"
        lines.append(f"  {'PASS' if result.passed else 'FAIL'}  GET {result.check.path} -> {got} (expected {expected})")
    verdict = "passed" if results and all(r.passed for r in results) else "FAILED"
    lines.append(f"  {verdict}; the service falls asleep again on its own when idle")
    return "\n".join(lines)
