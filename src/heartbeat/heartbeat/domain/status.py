"""The public status view, from the controller's record and what ECS and the ALB report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from heartbeat.settings import Settings
from warmkeeper_shared.state import ControllerState, Phase, derive_phase
from warmkeeper_shared.status import ServiceStatus


@dataclass(frozen=True)
class ObservedService:
    desired_count: int
    running_count: int
    healthy_targets: int


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
        failure_reason=failure.reason if failure else None,
        failed_at=failure.at if failure else None,
        checked_at=now,
    )
