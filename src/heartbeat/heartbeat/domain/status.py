"""The public status view, from the controller's record and what ECS and the ALB report."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from heartbeat.settings import Settings
from warmkeeper_shared.state import ControllerState, Failure, FailureKind, Phase, derive_phase
from warmkeeper_shared.status import ServiceStatus, WakeView


@dataclass(frozen=True)
class ObservedService:
    desired_count: int
    running_count: int
    healthy_targets: int


# What visitors read about a failed wake. The controller's full reason (ECS's stoppedReason, which can name
# images, registries and accounts) stays in its record and logs for operators.
_PUBLIC_REASONS = {
    FailureKind.TASK_START_IMPAIRED: "The service's tasks cannot start",
    FailureKind.PLACEMENT_FAILURE: "AWS could not find capacity to start the service",
    FailureKind.CONFIGURATION_FAILURE: "The service's configuration keeps its task from starting",
    FailureKind.DEPLOYMENT_FAILED: "The latest deployment failed and was rolled back",
    FailureKind.TASK_STOPPED: "The service's task stopped before it was ready",
    FailureKind.DEADLINE_PASSED: "The service did not become ready in time",
}
# An error class such as CannotPullContainerError or ResourceInitializationError at the start of a reason.
_ERROR_CLASS = re.compile(r"^([A-Z][A-Za-z]{2,60}(?:Error|Exception|Exited|Failed))\b")


def public_failure_reason(failure: Failure) -> str:
    """A failure as visitors may read it: what went wrong, and ECS's error class when there is one."""
    summary = _PUBLIC_REASONS.get(failure.kind, "The service could not be started")
    error_class = _ERROR_CLASS.match(failure.reason.strip())
    return f"{summary} ({error_class.group(1)})." if error_class else f"{summary}."


def failure_id(failure: Failure) -> str:
    """A short opaque name for one failure (a hash of its kind and time), so the page can tell a new one."""
    return hashlib.sha256(f"{failure.kind}|{failure.at.isoformat()}".encode()).hexdigest()[:12]


def build_status(now: datetime, settings: Settings, state: ControllerState, observed: ObservedService) -> ServiceStatus:
    phase = derive_phase(state, observed.desired_count)
    waking_for: int | None = None
    if phase is Phase.WAKING and state.wake_started_at is not None:
        waking_for = max(0, int((now - state.wake_started_at).total_seconds()))
    failure = state.failure if phase is Phase.FAILED else None
    return ServiceStatus(
        service=settings.display_name,
        state=phase,
        ready=phase is Phase.AWAKE and observed.healthy_targets >= 1,
        desired_count=observed.desired_count,
        running_count=observed.running_count,
        healthy_targets=observed.healthy_targets,
        waking_for_seconds=waking_for,
        wake_deadline_seconds=int(timedelta(minutes=settings.wake_deadline_minutes).total_seconds()),
        failure_reason=public_failure_reason(failure) if failure else None,
        failure_id=failure_id(failure) if failure else None,
        failed_at=failure.at if failure else None,
        checked_at=now,
        wake=WakeView.of(state),
    )
