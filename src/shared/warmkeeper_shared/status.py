"""What ``GET /_warmkeeper/status`` answers: the service's phase as a visitor (or the demo) sees it.

Visitors get ``public_json()``: what the waiting page shows (phase, progress, ready, the failure summary).
The counts and timestamps are the operator's view (``to_json()``), answered only to the heartbeat token.
Neither ever holds an ARN or a token.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from warmkeeper_shared.state import ControllerState, Phase, phase_seconds


class WakeView(BaseModel):
    """The current wake's marks so far, or the last finished wake's timeline (operators only)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    in_progress: bool
    requested_at: AwareDatetime | None = None
    started_at: AwareDatetime
    running_at: AwareDatetime | None = None
    # A healthy target seen and traffic moved back, in the same controller invocation.
    ready_at: AwareDatetime | None = None
    signal: str | None = None
    # "<from>-to-<to>" -> seconds, for the phases whose two ends are known.
    phase_seconds: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def of(cls, state: ControllerState) -> WakeView | None:
        if state.wake_started_at is not None:
            marks = [
                ("requested", state.wake_requested_at),
                ("started", state.wake_started_at),
                ("running", state.task_running_at),
            ]
            return cls(
                in_progress=True,
                requested_at=state.wake_requested_at,
                started_at=state.wake_started_at,
                running_at=state.task_running_at,
                phase_seconds=phase_seconds(marks),
            )
        last = state.last_wake
        if last is None:
            return None
        return cls(
            in_progress=False,
            requested_at=last.requested_at,
            started_at=last.started_at,
            running_at=last.running_at,
            ready_at=last.ready_at,
            signal=last.signal,
            phase_seconds=last.phases(),
        )


class ServiceStatus(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    service: str
    state: Phase
    # True once user traffic goes to the application again: the waiting page may return to its URL.
    ready: bool
    desired_count: int = Field(ge=0)
    running_count: int = Field(ge=0)
    healthy_targets: int = Field(ge=0)
    waking_for_seconds: int | None = Field(default=None, ge=0)
    wake_deadline_seconds: int = Field(ge=0)
    failure_reason: str | None = None
    # Opaque: tells the page one failure from the next (its retry button) without saying when it happened.
    failure_id: str | None = None
    failed_at: AwareDatetime | None = None
    checked_at: AwareDatetime
    # The wake timeline (operators only): the current wake so far, or the last one that ended with traffic back.
    wake: WakeView | None = None

    def to_json(self) -> str:
        """The detailed view, for operators (the heartbeat token)."""
        return self.model_dump_json(by_alias=True)

    def public_json(self) -> str:
        """What an anonymous visitor reads: only what the waiting page needs."""
        return self.model_dump_json(by_alias=True, include=PUBLIC_FIELDS)


PUBLIC_FIELDS: set[str] = {
    "service",
    "state",
    "ready",
    "waking_for_seconds",
    "wake_deadline_seconds",
    "failure_reason",
    "failure_id",
}
