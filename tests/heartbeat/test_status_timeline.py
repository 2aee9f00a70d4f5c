"""The wake timeline in the status view: the operator's view has it, the anonymous one never does."""

from __future__ import annotations

import json
from datetime import timedelta

from heartbeat.domain.status import ObservedService, build_status
from tests.heartbeat.test_domain import NOW, SETTINGS
from warmkeeper_shared.state import ControllerState, WakeTimeline
from warmkeeper_shared.status import WakeView


def _at(seconds: float) -> object:
    return NOW - timedelta(seconds=seconds)


def test_a_wake_under_way_shows_its_marks_so_far() -> None:
    state = ControllerState.model_validate(
        {"wake_requested_at": _at(31), "wake_started_at": _at(30), "task_running_at": _at(4)}
    )
    status = build_status(NOW, SETTINGS, state, ObservedService(1, 1, 0))
    assert status.wake is not None and status.wake.in_progress
    assert status.wake.phase_seconds == {"requested-to-started": 1.0, "started-to-running": 26.0}
    assert status.wake.ready_at is None
    operator = json.loads(status.to_json())
    assert operator["wake"]["inProgress"] is True
    assert operator["wake"]["phaseSeconds"] == {"requested-to-started": 1.0, "started-to-running": 26.0}
    assert "wake" not in json.loads(status.public_json())


def test_after_the_wake_the_last_one_stays_readable() -> None:
    timeline = WakeTimeline.model_validate(
        {
            "requested_at": _at(100),
            "started_at": _at(99),
            "running_at": _at(70),
            "ready_at": _at(60),
            "signal": "readiness-check",
        }
    )
    state = ControllerState(awake_since=timeline.ready_at, last_wake=timeline)
    status = build_status(NOW, SETTINGS, state, ObservedService(1, 1, 1))
    assert status.wake is not None and not status.wake.in_progress
    assert status.wake.signal == "readiness-check"
    assert status.wake.phase_seconds == {
        "requested-to-started": 1.0,
        "started-to-running": 29.0,
        "running-to-ready": 10.0,
    }
    assert "wake" not in json.loads(status.public_json())


def test_no_wake_yet_no_timeline() -> None:
    assert WakeView.of(ControllerState()) is None
    assert build_status(NOW, SETTINGS, ControllerState(), ObservedService(0, 0, 0)).wake is None


def test_the_record_with_a_timeline_stays_small() -> None:
    """SSM standard parameters hold 4,096 characters; the timeline adds a few hundred at most."""
    timeline = WakeTimeline.model_validate(
        {
            "requested_at": _at(100),
            "started_at": _at(99),
            "running_at": _at(70),
            "ready_at": _at(60),
            "signal": "readiness-check",
        }
    )
    state = ControllerState.model_validate(
        {
            "wake_started_at": _at(5),
            "wake_requested_at": _at(6),
            "task_running_at": _at(1),
            "last_wake": timeline,
            "pinned_until": NOW,
            "pinned_by": "x" * 5000,
            "failure": {"kind": "task-stopped", "reason": "y" * 10_000, "at": NOW},
            "last_deployment_failure": {"kind": "deployment-failed", "reason": "z" * 10_000, "at": NOW},
        }
    )
    assert len(state.to_json().encode()) < 4096 * 3 // 4
