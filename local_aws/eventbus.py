"""EventBridge's part of the local stack: events matched against the stack's own rules, delivered to Lambda.

Matching is moto's: every event goes through the local endpoint's ``PutEvents``, where moto's EventBridge
matches it against the deployed rules (the template's patterns, resolved by CloudFormation) with its
event-pattern matcher. moto does not invoke Lambda targets, so at start each pattern rule of the stack gets
one extra target, a queue of its own (the "tap"); what lands in a rule's tap is delivered to that rule's
Lambda targets, as an asynchronous invocation: retried on error as the function's EventInvokeConfig says,
then handed to its on-failure destination. Schedule rules fire on the scenario clock's minutes.

Several stacks on one endpoint (a shared ALB) get one bus each: a bus drains only its own stack's taps and
puts only its own alarms' transitions, so an event reaches a stack's functions only when that stack's
deployed patterns match it.

Events AWS services emit (alarm state changes, ECS service, deployment and task events) are put the same
way, with the service as source. Alarm state changes come from the alarm-state-change bridge: real before
and after states of the alarm in the local endpoint.
"""

from __future__ import annotations

import importlib
import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local_aws import bridges
from local_aws.clock import Clock
from local_aws.endpoint import ACCOUNT_ID
from local_aws.functions import Functions, Invocation
from local_aws.stack import LocalStack

sqs_models: Any = importlib.import_module("moto.sqs.models")

TAP_TARGET_ID = "local-aws-tap"
_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours)\)$")


@dataclass(frozen=True)
class Delivery:
    """One event handed to one function by one rule."""

    rule: str
    function: str
    event: dict[str, Any]
    attempts: list[Invocation]
    dead_lettered: bool
    # The stack whose rule and function these are.
    stack: str = ""

    @property
    def result(self) -> Invocation:
        return self.attempts[-1]


@dataclass
class _Rule:
    name: str
    arn: str
    pattern: dict[str, Any] | None
    schedule_minutes: int | None
    lambda_targets: list[str]
    tap_url: str | None = None


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


_ENVELOPE = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge hands it to a target, from moto's copy of it in the tap queue.

    moto's copy lacks ``account`` (every envelope has it) and may carry its own ``ingestion-time``.
    """
    event.setdefault("account", ACCOUNT_ID)
    event.pop("ingestion-time", None)
    return {key: event[key] for key in _ENVELOPE if key in event} | {
        key: value for key, value in event.items() if key not in _ENVELOPE
    }


def alarm_event(transition: bridges.AlarmTransition, at: datetime) -> dict[str, Any]:
    """A "CloudWatch Alarm State Change" PutEvents entry from a real transition of a local alarm."""

    def state(value: str, reason: str, reason_data: str, timestamp: datetime) -> dict[str, Any]:
        entry = {"value": value, "reason": reason, "timestamp": timestamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000")}
        if reason_data and reason_data != "{}":
            entry["reasonData"] = reason_data
        return entry

    detail = {
        "alarmName": transition.alarm_name,
        "state": state(transition.value, transition.reason, transition.reason_data, at),
        "previousState": state(
            transition.previous_value,
            transition.previous_reason,
            transition.previous_reason_data,
            transition.previous_timestamp,
        ),
    }
    configuration: dict[str, Any] = {"metrics": transition.configuration_metrics}
    if transition.description:
        configuration["description"] = transition.description
    detail["configuration"] = configuration
    return {
        "Source": "aws.cloudwatch",
        "DetailType": "CloudWatch Alarm State Change",
        "Resources": [transition.alarm_arn],
        "Detail": json.dumps(detail),
    }


@dataclass
class EventBus:
    stack: LocalStack
    functions: Functions
    clock: Clock
    on_delivery: Callable[[Delivery], None] | None = None
    _rules: list[_Rule] = field(default_factory=list, init=False)
    _alarm_transitions: list[bridges.AlarmTransition] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _alarm_names: set[str] = field(default_factory=set, init=False)
    deliveries: list[Delivery] = field(default_factory=list, init=False)

    # ------------------------------------------------------------------ set-up

    def start(self) -> None:
        """Reads the stack's rules from the local endpoint and taps each pattern rule with a queue."""
        events = self.stack.endpoint.client("events")
        sqs = self.stack.endpoint.client("sqs")
        rule_ids = set(self.stack.resources_of_type("AWS::Events::Rule"))
        for logical_id in sorted(rule_ids):
            name = self.stack.physical_ids[logical_id]
            rule = events.describe_rule(Name=name)
            if rule.get("State") != "ENABLED":
                continue
            targets = events.list_targets_by_rule(Rule=name)["Targets"]
            lambda_targets = [t["Arn"] for t in targets if ":lambda:" in t["Arn"]]
            schedule = None
            if "ScheduleExpression" in rule:
                match = _RATE.match(rule["ScheduleExpression"])
                if match is None:
                    raise ValueError(
                        f"rule {name}: only rate() schedules run locally, not {rule['ScheduleExpression']}"
                    )
                schedule = int(match["value"]) * (60 if match["unit"].startswith("hour") else 1)
            entry = _Rule(
                name=name,
                arn=rule["Arn"],
                pattern=json.loads(rule["EventPattern"]) if "EventPattern" in rule else None,
                schedule_minutes=schedule,
                lambda_targets=lambda_targets,
            )
            if entry.pattern is not None:
                queue_url = sqs.create_queue(QueueName=f"local-aws-tap-{uuid.uuid4().hex[:12]}")["QueueUrl"]
                queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                    "QueueArn"
                ]
                events.put_targets(Rule=name, Targets=[{"Id": TAP_TARGET_ID, "Arn": queue_arn}])
                entry.tap_url = queue_url
            self._rules.append(entry)
        self._alarm_names = set(self.stack.alarm_names())
        bridges.add_alarm_listener(self._alarm_changed)

    def close(self) -> None:
        bridges.remove_alarm_listener(self._alarm_changed)
        events = self.stack.endpoint.client("events")
        for rule in self._rules:
            if rule.tap_url is not None:
                try:
                    events.remove_targets(Rule=rule.name, Ids=[TAP_TARGET_ID])
                except events.exceptions.ResourceNotFoundException:
                    continue  # the rule went with its stack (a reset endpoint): nothing left to untap

    @property
    def rules(self) -> list[str]:
        return [rule.name for rule in self._rules]

    # ------------------------------------------------------------------ putting events

    def _alarm_changed(self, transition: bridges.AlarmTransition) -> None:
        # Called in whichever thread changed the alarm (the endpoint's, for a function's call): queue it.
        # Only this stack's alarms: with several stacks on one endpoint, each transition is put once, by
        # the bus of the stack that owns the alarm (CloudWatch sends one event per transition).
        if transition.alarm_name not in self._alarm_names:
            return
        with self._lock:
            self._alarm_transitions.append(transition)

    def put(self, entries: list[Mapping[str, Any]]) -> list[str]:
        """PutEvents on the local endpoint, stamped with the scenario clock; returns the event ids."""
        stamped = [{"Time": self.clock.now(), "EventBusName": "default", **entry} for entry in entries]
        answer = self.stack.endpoint.client("events").put_events(Entries=stamped)
        failed = [e for e in answer["Entries"] if "ErrorCode" in e]
        if failed:
            raise ValueError(f"PutEvents refused {failed}")
        return [e["EventId"] for e in answer["Entries"]]

    def put_service_event(self, source: str, detail_type: str, resources: list[str], detail: dict[str, Any]) -> str:
        return self.put(
            [{"Source": source, "DetailType": detail_type, "Resources": resources, "Detail": json.dumps(detail)}]
        )[0]

    # ------------------------------------------------------------------ delivering

    def pending(self) -> bool:
        """Whether a :meth:`settle` now would deliver anything; read from the endpoint's memory, no API call,
        so a caller that settles often (the wake benchmark) can skip the rounds that would find nothing."""
        with self._lock:
            if self._alarm_transitions:
                return True
        backend = sqs_models.sqs_backends[ACCOUNT_ID][self.stack.endpoint.region]
        taps = {rule.tap_url.rsplit("/", 1)[1] for rule in self._rules if rule.tap_url is not None}
        return any(backend.queues[name].approximate_number_of_messages for name in taps if name in backend.queues)

    def settle(self, limit: int = 200) -> list[Delivery]:
        """Delivers until nothing is pending (alarm transitions, tapped events); returns the deliveries."""
        delivered: list[Delivery] = []
        for _ in range(limit):
            with self._lock:
                transitions, self._alarm_transitions = self._alarm_transitions, []
            if transitions:
                self.put([alarm_event(t, self.clock.now()) for t in transitions])
            batch = self._drain()
            if not batch and not transitions:
                return delivered
            for rule, event in batch:
                for target in rule.lambda_targets:
                    delivered.append(self._deliver(rule, target, event))
        raise RuntimeError(f"events kept coming after {limit} rounds of delivery; a loop between functions?")

    def _drain(self) -> list[tuple[_Rule, dict[str, Any]]]:
        sqs = self.stack.endpoint.client("sqs")
        batch = []
        for rule in self._rules:
            if rule.tap_url is None:
                continue
            while True:
                messages = sqs.receive_message(QueueUrl=rule.tap_url, MaxNumberOfMessages=10).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    batch.append((rule, _as_delivered(json.loads(message["Body"]))))
                    sqs.delete_message(QueueUrl=rule.tap_url, ReceiptHandle=message["ReceiptHandle"])
        return batch

    def _invoke_config(self, function_name: str) -> dict[str, Any]:
        client = self.stack.endpoint.client("lambda")
        try:
            config: dict[str, Any] = client.get_function_event_invoke_config(FunctionName=function_name)
        except client.exceptions.ResourceNotFoundException:
            # Lambda's defaults for asynchronous invocations.
            return {"MaximumRetryAttempts": 2}
        return config

    def _deliver(self, rule: _Rule, target_arn: str, event: dict[str, Any]) -> Delivery:
        function = self.stack.function_by_arn(target_arn)
        config = self._invoke_config(function.name)
        attempts: list[Invocation] = []
        for _ in range(1 + int(config.get("MaximumRetryAttempts", 2))):
            attempts.append(self.functions.invoke(function, event))
            if attempts[-1].error is None:
                break
        dead_lettered = attempts[-1].error is not None
        if dead_lettered:
            self._on_failure(config, function.arn, event, attempts[-1])
        delivery = Delivery(rule.name, function.logical_id, event, attempts, dead_lettered, self.stack.name)
        self.deliveries.append(delivery)
        if self.on_delivery is not None:
            self.on_delivery(delivery)
        return delivery

    def _on_failure(self, config: dict[str, Any], function_arn: str, event: dict[str, Any], last: Invocation) -> None:
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if not destination or ":sqs:" not in destination:
            return
        sqs = self.stack.endpoint.client("sqs")
        queue_url = sqs.get_queue_url(QueueName=destination.rsplit(":", 1)[1])["QueueUrl"]
        record = {
            "version": "1.0",
            "timestamp": _iso(self.clock.now()),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{function_arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": int(config.get("MaximumRetryAttempts", 2)) + 1,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": last.error},
        }
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))

    # ------------------------------------------------------------------ schedules

    def fire_schedules(self, minute: datetime) -> list[Delivery]:
        """Delivers the Scheduled Event of every schedule rule due at ``minute`` (counted from the start)."""
        delivered = []
        since_start = int((minute - self.clock.start).total_seconds() // 60)
        for rule in self._rules:
            if rule.schedule_minutes is None or since_start % rule.schedule_minutes:
                continue
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT_ID,
                "time": _iso(minute),
                "region": self.stack.endpoint.region,
                "resources": [rule.arn],
                "detail": {},
            }
            for target in rule.lambda_targets:
                delivered.append(self._deliver(rule, target, event))
        return delivered
