"""The stack's readiness watch (a Step Functions Express loop in AWS), played on the scenario clock.

moto records ``StartExecution`` but runs no state machine, and a real ``Wait`` would take real seconds.
This plays the deployed definition's loop instead, visibly: after every function invocation it looks for
executions the controller started; each one then waits the definition's ``Seconds`` on the scenario clock,
reads the controller's record from the local SSM, and, while the record still shows the wake it was started
for (no failure, fewer checks than the definition's limit), puts a ``Readiness Check`` event on the local bus
and waits again. The interval and the limit are read from the deployed definition, so template.yaml decides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from local_aws.clock import Clock
from local_aws.eventbus import EventBus
from local_aws.stack import LocalStack

STATE_MACHINE = "AWS::StepFunctions::StateMachine"


@dataclass(frozen=True)
class WatchDefinition:
    """What the emulation takes from the deployed definition."""

    interval: timedelta
    max_checks: int
    parameter: str
    detail: dict[str, Any]

    @classmethod
    def parse(cls, definition: dict[str, Any]) -> WatchDefinition:
        states = definition["States"]
        wait = states[definition["StartAt"]]
        if wait.get("Type") != "Wait" or "Seconds" not in wait:
            raise ValueError("the readiness watch must start with a Wait state of fixed Seconds")
        limits = [
            int(choice["NumericGreaterThanEquals"])
            for state in states.values()
            if state.get("Type") == "Choice"
            for choice in state.get("Choices", [])
            if choice.get("Variable") == "$.checks" and "NumericGreaterThanEquals" in choice
        ]
        reads = [s for s in states.values() if str(s.get("Resource", "")).endswith(":aws-sdk:ssm:getParameter")]
        puts = [s for s in states.values() if str(s.get("Resource", "")).endswith(":events:putEvents")]
        if len(limits) != 1 or len(reads) != 1 or len(puts) != 1:
            raise ValueError("the readiness watch needs one check limit, one record read and one PutEvents")
        entry = puts[0]["Parameters"]["Entries"][0]
        if entry.get("DetailType") != "Readiness Check":
            raise ValueError(f"the readiness watch puts {entry.get('DetailType')!r}, not 'Readiness Check'")
        return cls(
            interval=timedelta(seconds=float(wait["Seconds"])),
            max_checks=limits[0],
            parameter=str(reads[0]["Parameters"]["Name"]),
            detail=dict(entry["Detail"]),
        )


@dataclass
class _Execution:
    arn: str
    wake_started_at: str
    started: datetime
    checks: int = 0
    ended: str | None = None  # why the loop stopped


@dataclass
class ReadinessWatchEmulator:
    stack: LocalStack
    bus: EventBus
    clock: Clock
    # Called with a line for the timeline whenever the watch asks for a check or stops.
    on_line: Callable[[str], None] | None = None
    executions: dict[str, _Execution] = field(default_factory=dict)
    machine_arn: str | None = field(default=None, init=False)
    definition: WatchDefinition | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        machines = [self.stack.physical_ids[i] for i in self.stack.resources_of_type(STATE_MACHINE)]
        if not machines:
            return  # an older or trimmed template: nothing to emulate
        if len(machines) > 1:
            raise ValueError(f"expected one readiness watch, the stack has {len(machines)} state machines")
        self.machine_arn = machines[0]
        described = self.stack.endpoint.client("stepfunctions").describe_state_machine(stateMachineArn=machines[0])
        self.definition = WatchDefinition.parse(json.loads(described["definition"]))

    def discover(self, *_: object) -> None:
        """Start the loop of every execution the controller started since the last look."""
        if self.machine_arn is None or self.definition is None:
            return
        states = self.stack.endpoint.client("stepfunctions")
        listed = states.list_executions(stateMachineArn=self.machine_arn)["executions"]
        for summary in listed:
            arn = summary["executionArn"]
            if arn in self.executions:
                continue
            described = states.describe_execution(executionArn=arn)
            started = json.loads(described.get("input") or "{}")
            execution = _Execution(arn, str(started.get("wakeStartedAt", "")), self.clock.now())
            self.executions[arn] = execution
            self._schedule(execution)

    def _record(self) -> dict[str, Any]:
        assert self.definition is not None  # noqa: S101 - set whenever an execution exists
        raw = self.stack.endpoint.client("ssm").get_parameter(Name=self.definition.parameter)["Parameter"]["Value"]
        record: dict[str, Any] = json.loads(raw) if raw.strip() else {}
        return record

    def _tick(self, execution: _Execution) -> None:
        assert self.definition is not None  # noqa: S101
        if execution.ended is not None:
            return
        try:
            record = self._record()
        except ClientError as error:
            # The definition's Catch: a record that cannot be read ends the loop (the reconcile goes on).
            execution.ended = f"the record could not be read: {error.response.get('Error', {}).get('Code')}"
            self._line(f"[readiness watch] stops: {execution.ended}")
            return
        stop = None
        if "wakeStartedAt" not in record:
            stop = "the record shows no wake"
        elif "failure" in record:
            stop = "the record shows a failure"
        elif execution.checks >= self.definition.max_checks:
            stop = f"{self.definition.max_checks} checks made"
        elif record["wakeStartedAt"] != execution.wake_started_at:
            stop = "another wake started"
        if stop is not None:
            execution.ended = stop
            self._line(f"[readiness watch] stops after {execution.checks} check(s): {stop}")
            return
        execution.checks += 1
        self._line(f"[readiness watch] check {execution.checks}: Readiness Check put on the bus")
        self.bus.put(
            [
                {
                    "Source": "warmkeeper",
                    "DetailType": "Readiness Check",
                    "Detail": json.dumps(self.definition.detail),
                }
            ]
        )
        self.bus.settle()
        self._schedule(execution)

    def _schedule(self, execution: _Execution) -> None:
        assert self.definition is not None  # noqa: S101

        def tick(_at: datetime) -> None:
            self._tick(execution)

        self.clock.call_at(self.clock.now() + self.definition.interval, tick)

    def _line(self, text: str) -> None:
        if self.on_line is not None:
            self.on_line(text)

    def close(self) -> None:
        """The stack is gone: its executions end (their pending timers then do nothing)."""
        for execution in self.running():
            execution.ended = "the stack was deleted"

    def running(self) -> list[_Execution]:
        return [e for e in self.executions.values() if e.ended is None]


__all__ = ["ReadinessWatchEmulator", "WatchDefinition"]
