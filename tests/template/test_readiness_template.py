"""The readiness watch in template.yaml: an Express loop the controller alone starts, scoped to reading the
record and asking for readiness checks; and the dashboard's wake phases, named as the controller emits them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import cost
from tests.template.conftest import Template
from warmkeeper_shared.state import WakeTimeline


def _definition(raw: Template) -> dict[str, Any]:
    body = raw["Resources"]["ReadinessWatch"]["Properties"]["DefinitionString"]["Fn::Sub"]
    assert isinstance(body, str)
    substituted = re.sub(r"\$\{[^}]+\}", "x", body)
    definition: dict[str, Any] = json.loads(substituted)
    return definition


def test_the_watch_is_an_express_loop_that_asks_every_two_seconds(raw: Template) -> None:
    watch = raw["Resources"]["ReadinessWatch"]
    assert watch["Type"] == "AWS::StepFunctions::StateMachine"
    assert watch["Properties"]["StateMachineType"] == "EXPRESS"
    definition = _definition(raw)
    states = definition["States"]
    assert states[definition["StartAt"]] == {"Type": "Wait", "Seconds": 2, "Next": "ReadRecord"}
    # The cost benchmark prices the watch's duration from the same definition.
    assert cost.watch_interval_seconds(raw) == 2
    body = raw["Resources"]["ReadinessWatch"]["Properties"]["DefinitionString"]["Fn::Sub"]
    assert '"Name": "${StateParameter}"' in body
    assert '"stack": "${AWS::StackName}"' in body
    # It stops on its own: no wake in the record, a failure, or the check limit (Express ends at 5 minutes).
    stops = states["WakeStillRecorded"]["Choices"]
    assert {"Variable": "$.checks", "NumericGreaterThanEquals": 120, "Next": "Stop"} in stops
    put = states["AskForACheck"]["Parameters"]["Entries"][0]
    assert (put["Source"], put["DetailType"]) == ("warmkeeper", "Readiness Check")
    for task in ("ReadRecord", "AskForACheck"):
        assert states[task]["Catch"][0]["Next"] == "Stop"


def test_the_watch_may_read_the_record_and_ask_for_checks_only(raw: Template) -> None:
    role = raw["Resources"]["ReadinessWatchRole"]["Properties"]
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "states.amazonaws.com"}
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    actions = {s["Sid"]: s["Action"] for s in statements}
    assert actions == {
        "ReadControllerState": "ssm:GetParameter",
        "AskTheControllerForReadinessChecksOnly": "events:PutEvents",
    }
    for statement in statements:
        assert statement["Resource"] != "*"
    put = next(s for s in statements if s["Action"] == "events:PutEvents")
    assert put["Condition"]["StringEquals"] == {"events:source": "warmkeeper", "events:detail-type": "Readiness Check"}


def test_only_the_controller_starts_it_and_knows_it(raw: Template) -> None:
    controller = raw["Resources"]["WarmkeeperRole"]["Properties"]["Policies"]
    statements = [s for p in controller for s in p["PolicyDocument"]["Statement"]]
    starts = [s for s in statements if "states:StartExecution" in json.dumps(s)]
    assert starts == [
        {
            "Sid": "StartTheReadinessWatch",
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": {"Ref": "ReadinessWatch"},
        }
    ]
    variables = raw["Resources"]["WarmkeeperFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["READINESS_STATE_MACHINE_ARN"] == {"Ref": "ReadinessWatch"}
    heartbeat = raw["Resources"]["HeartbeatRole"]["Properties"]["Policies"]
    assert "states:" not in json.dumps(heartbeat)


def test_the_task_rule_sends_running_for_the_timeline(raw: Template) -> None:
    rule = raw["Resources"]["WarmkeeperFunction"]["Properties"]["Events"]["StoppedTasks"]["Properties"]["Pattern"]
    assert rule["detail"]["lastStatus"] == ["STOPPED", "RUNNING"]


def test_the_dashboard_shows_every_phase_the_controller_emits(raw: Template) -> None:
    body = raw["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))["widgets"]
    phases = next(w for w in widgets if "seconds go" in w["properties"].get("title", ""))
    shown = {m[1] for m in phases["properties"]["metrics"]}
    now = datetime(2030, 1, 1, tzinfo=UTC)
    full = WakeTimeline(
        requested_at=now,
        started_at=now + timedelta(seconds=1),
        running_at=now + timedelta(seconds=30),
        ready_at=now + timedelta(seconds=40),
        signal="readiness-check",
    )
    without_running = full.model_copy(update={"running_at": None})
    emitted = {f"WakeLatency.{p}" for t in (full, without_running) for p in t.phases()}
    assert emitted == shown
