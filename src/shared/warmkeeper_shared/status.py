"""What ``GET /_warmkeeper/status`` answers: the service's phase as a visitor (or the demo) sees it.

Visitors get ``public_json()``: what the waiting page shows (phase, progress, ready, the failure summary).
The counts and timestamps are the operator's view (``to_json()``), answered only to the heartbeat token.
Neither ever holds an ARN or a token.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from warmkeeper_shared.state import Phase


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
