"""Custom EventBridge events of Warmkeeper: who may ask the controller for what.

The heartbeat function and operators put these on the default bus; the controller's rule matches
``source`` and ``detail.stack`` so stacks sharing an account never act on each other's requests.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from warmkeeper_shared.state import bounded_text

SOURCE = "warmkeeper"
# EventBridge takes up to 256 KB per entry; these caps keep the log lines and the record small. Longer text
# is cut, not refused: a visitor's long URL must still send its wake (the reason quotes the URL).
MAX_REQUESTED_BY_BYTES = 256
MAX_REASON_BYTES = 1024


def _cut(limit: int) -> BeforeValidator:
    return BeforeValidator(lambda value: value if value is None else bounded_text(value, limit))


class DetailType(StrEnum):
    WAKE_REQUESTED = "Wake Requested"
    SLEEP_REQUESTED = "Sleep Requested"
    PIN_REQUESTED = "Pin Requested"
    UNPIN_REQUESTED = "Unpin Requested"
    # Put by the stack's readiness watch (a Step Functions Express loop) while a wake is under way: the
    # controller checks target health through its front door and hands traffic back when one is healthy.
    READINESS_CHECK = "Readiness Check"


class RequestDetail(BaseModel):
    """``detail`` of every Warmkeeper event. Unknown fields are ignored so newer senders stay readable."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    stack: str = Field(min_length=1, max_length=128)
    requested_by: Annotated[str, _cut(MAX_REQUESTED_BY_BYTES)] = "unknown"
    reason: Annotated[str | None, _cut(MAX_REASON_BYTES)] = None
    # Pin only: keep awake until this instant (the controller caps it at its maximum pin duration).
    until: AwareDatetime | None = None


def put_events_entry(
    detail_type: DetailType, detail: RequestDetail, event_bus: str, at: datetime | None = None
) -> dict[str, Any]:
    """One ``PutEvents`` entry for ``detail``; ``event_bus`` is a bus name or ARN.

    ``at`` becomes the event's ``time`` (the functions pass their clock seam's now, so a local run's events
    carry the scenario's time); without it EventBridge stamps the time of the call.
    """
    entry: dict[str, Any] = {
        "Source": SOURCE,
        "DetailType": detail_type.value,
        "Detail": json.dumps(detail.model_dump(mode="json", by_alias=True, exclude_none=True)),
        "EventBusName": event_bus,
    }
    if at is not None:
        entry["Time"] = at
    return entry


def event_time(value: datetime) -> str:
    """EventBridge's time format (seconds, UTC, ``Z``)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
