"""One decision, end to end: observe what the decision asks for, decide, act in the decided order."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from warmkeeper.domain.decide import decide
from warmkeeper.domain.model import Action, Decision, Observation, Observe, Trigger
from warmkeeper.models.settings import Settings

# No decision asks more than five times (one per kind of observation); more would be a bug.
_MAX_ROUNDS = len(Observe) + 1


class Gateway(Protocol):
    def observe(self, what: frozenset[Observe], observed: Observation) -> Observation: ...

    def perform(self, action: Action) -> None: ...


def run(trigger: Trigger, now: datetime, settings: Settings, gateway: Gateway) -> Decision:
    observed = Observation()
    for _ in range(_MAX_ROUNDS):
        outcome = decide(now, settings, observed, trigger)
        if isinstance(outcome, Decision):
            for action in outcome.actions:
                gateway.perform(action)
            return outcome
        observed = gateway.observe(outcome.what, observed)
    raise RuntimeError(f"the decision for {trigger!r} kept asking for observations: {outcome!r}")
