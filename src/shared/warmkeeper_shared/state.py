"""The controller's record, kept as JSON in the stack's SSM parameter, and the phase derived from it.

The controller is its only writer. The heartbeat function reads it to tell visitors whether a wake is
under way or has failed, so the phase logic lives here, once.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel


class Route(StrEnum):
    """Where the listener's default action sends user traffic."""

    ECS = "ecs"
    WAKER = "waker"


class Phase(StrEnum):
    AWAKE = "awake"
    SLEEPING = "sleeping"
    WAKING = "waking"
    FAILED = "failed"


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class WakeFailure(_Model):
    reason: str = Field(max_length=2048)
    at: AwareDatetime


class ControllerState(_Model):
    version: Literal[1] = 1
    routed_to: Route = Route.ECS
    pinned_until: AwareDatetime | None = None
    wake_started_at: AwareDatetime | None = None
    awake_since: AwareDatetime | None = None
    asleep_since: AwareDatetime | None = None
    # desiredCount to restore on wake: the count the service had before it slept, never below 1.
    count_before_sleep: int = Field(default=1, ge=1)
    failure: WakeFailure | None = None

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


class StateDocumentError(ValueError):
    """The parameter holds something that is not a controller state document."""


def parse_state(raw: str | None) -> ControllerState:
    """Read the parameter's value; an empty value or ``{}`` (as the template creates it) is the default."""
    if raw is None or not raw.strip():
        return ControllerState()
    try:
        return ControllerState.model_validate_json(raw)
    except ValidationError as error:
        raise StateDocumentError(f"state parameter is not a controller state document: {error}") from error


def derive_phase(state: ControllerState, desired_count: int) -> Phase:
    """The lifecycle phase of DESIGN.md's table from the controller's record and the service's desiredCount."""
    if state.routed_to is Route.ECS and desired_count >= 1:
        return Phase.AWAKE
    if state.failure is not None:
        return Phase.FAILED
    if desired_count == 0:
        return Phase.SLEEPING
    return Phase.WAKING
