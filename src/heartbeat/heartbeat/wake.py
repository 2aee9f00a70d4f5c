"""Asking the controller for a wake, and reading its record; both used by several routes."""

from __future__ import annotations

from datetime import datetime

from heartbeat.adapters import aws
from heartbeat.observability import count, logger, now
from heartbeat.settings import Settings
from warmkeeper_shared.state import ControllerState

# When this execution environment last sent a wake request (see domain.visitors.LOCAL_WAKE_GRACE).
_last_sent: datetime | None = None


def last_sent() -> datetime | None:
    return _last_sent


def forget_last_sent() -> None:
    """A fresh execution environment (tests and benchmarks)."""
    global _last_sent  # noqa: PLW0603 - per execution environment memory of the last request
    _last_sent = None


def send(settings: Settings, requested_by: str, reason: str) -> bool:
    """Put a wake request; a failure is logged and counted, and the wake backstop alarm covers it."""
    global _last_sent  # noqa: PLW0603 - per execution environment memory of the last request
    try:
        event_id = aws.put_wake_request(settings, requested_by=requested_by, reason=reason)
    except aws.AwsFault as error:
        logger.error(
            "wake request failed; the wake backstop alarm will catch it", error=str(error), requested_by=requested_by
        )
        count("WakeRequestFailures")
        return False
    _last_sent = now()
    logger.info("wake requested", event_id=event_id, requested_by=requested_by, reason=reason)
    count("WakeRequestsSent")
    return True


def read_state(settings: Settings) -> ControllerState | None:
    """The controller's record, or None (logged and counted) when it cannot be read."""
    try:
        return aws.controller_state(settings.state_parameter_name)
    except aws.AwsFault as error:
        logger.error("cannot read the controller state", error=str(error))
        count("StateReadFailures")
        return None
