"""Asking the controller for a wake, and reading its record; both used by several routes."""

from __future__ import annotations

from heartbeat.adapters import aws
from heartbeat.domain.visitors import SentWake, record_key
from heartbeat.observability import count, logger, now
from heartbeat.settings import Settings
from warmkeeper_shared.state import ControllerState

# The wake this execution environment last sent, and for which record (see domain.visitors.already_asked).
_last: SentWake | None = None


def last_sent() -> SentWake | None:
    return _last


def forget_last_sent() -> None:
    """A fresh execution environment (tests and benchmarks)."""
    global _last  # noqa: PLW0603 - per execution environment memory of the last request
    _last = None


def restore_last_sent(memory: SentWake | None) -> None:
    """Switch to another simulated execution environment's memory (the flood benchmark)."""
    global _last  # noqa: PLW0603 - per execution environment memory of the last request
    _last = memory


def send(settings: Settings, state: ControllerState | None, requested_by: str, reason: str) -> bool:
    """Put a wake request for the record ``state``; a failure is logged and counted, and the wake backstop
    alarm covers it."""
    global _last  # noqa: PLW0603 - per execution environment memory of the last request
    try:
        event_id = aws.put_wake_request(settings, requested_by=requested_by, reason=reason)
    except aws.AwsFault as error:
        _last = SentWake(record=record_key(state), at=now(), delivered=False)
        logger.error(
            "wake request failed; the wake backstop alarm will catch it", error=str(error), requested_by=requested_by
        )
        count("WakeRequestFailures")
        return False
    _last = SentWake(record=record_key(state), at=now(), delivered=True)
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


def read_desired_count(settings: Settings) -> int | None:
    """The service's desiredCount (cached with the status view), or None (logged) when ECS cannot be read."""
    try:
        return aws.observe_service(settings).desired_count
    except aws.AwsFault as error:
        logger.error("cannot read the service", error=str(error))
        count("ServiceReadFailures")
        return None
