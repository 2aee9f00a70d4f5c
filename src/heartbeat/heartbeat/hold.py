"""Holding an API client's request while the service wakes (decisions in ``heartbeat.domain.hold``).

Works on the request view the routes already build, whatever the event's shape. The hold takes one of a
few slots in the hold table (so a crowd of held clients cannot take every execution environment the
function's reserved concurrency allows), reads the controller's record at most once per poll, and ends
at the first of: traffic back (a 307), a new wake failure, or the end of HoldSeconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from heartbeat import clock
from heartbeat.adapters import aws
from heartbeat.domain.hold import HoldOutcome, hold_slots, next_step
from heartbeat.observability import count, logger
from heartbeat.settings import Settings
from warmkeeper_shared.state import ControllerState


@dataclass(frozen=True)
class HoldResult:
    outcome: HoldOutcome | None  # None: not held after all (no slot free, or the slot table failed)
    state: ControllerState | None  # the last record read
    polls: int = 0


def hold(
    settings: Settings, arrived_at: datetime, started: float, first: ControllerState | None, budget_seconds: float
) -> HoldResult:
    """Hold the request at most ``budget_seconds`` from ``started`` (the waiting clock's reading on arrival)."""
    if not settings.hold_table_name or budget_seconds <= 0:
        return HoldResult(outcome=None, state=first)
    time = clock.current()
    slots = hold_slots(settings.http_face_concurrency)
    # The slot is kept until the hold would end, plus one last read: a dead holder frees it by then.
    until = time.epoch() + budget_seconds - (time.monotonic() - started) + 3
    try:
        taken = aws.take_hold_slot(settings.hold_table_name, slots, time.epoch(), until)
    except aws.AwsFault as error:
        logger.error("cannot count held requests; answering at once", error=str(error))
        count("HoldSlotFailures")
        return HoldResult(outcome=None, state=first)
    if taken is None:
        logger.info("hold cap reached; answering at once", slots=slots)
        count("HoldsRefused")
        return HoldResult(outcome=None, state=first)
    count("HeldRequests")
    state, polls = first, 0
    try:
        while True:
            step = next_step(time.monotonic() - started, budget_seconds, arrived_at, first, state)
            if step.outcome is not None:
                break
            time.sleep(step.wait_seconds)
            polls += 1
            try:
                state = aws.controller_state(settings.state_parameter_name, fresh=True)
            except aws.AwsFault as error:
                # Keep the last record seen: one failed poll does not end the hold.
                logger.warning("a held request could not read the controller state", error=str(error))
                count("StateReadFailures")
    finally:
        try:
            aws.release_hold_slot(settings.hold_table_name, taken)
        except aws.AwsFault as error:
            # The slot frees itself when its time is up.
            logger.error("cannot free a hold slot", error=str(error))
            count("HoldSlotFailures")
    held_for = time.monotonic() - started
    logger.info("held request answered", outcome=step.outcome.value, held_seconds=round(held_for, 1), polls=polls)
    count(f"Holds{step.outcome.value.title().replace('-', '')}")
    return HoldResult(outcome=step.outcome, state=state, polls=polls)
