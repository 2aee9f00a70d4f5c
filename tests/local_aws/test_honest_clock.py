"""The local stack with the template's defaults on the scenario clock: a wake that passes its deadline."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from local_aws import demo
from local_aws.clock import Clock
from local_aws.endpoint import LocalEndpoint
from local_aws.runtime import LocalAws
from local_aws.scenario import LOCAL_OVERRIDES, Scenario, Timeline


def test_the_deadline_step_is_in_process_and_lifecycle_only() -> None:
    out = io.StringIO()
    assert demo.main(["--deadline", "--containers"], out=out) == 2
    assert "in process only" in out.getvalue()


@pytest.mark.slow
def test_a_wake_passes_its_deadline_with_the_templates_defaults() -> None:
    assert LOCAL_OVERRIDES == {}
    out = io.StringIO()
    timeline = Timeline(out)
    with LocalEndpoint() as endpoint:
        endpoint.reset()
        with LocalAws(clock=Clock(speed=0), endpoint=endpoint, on_delivery=timeline.delivery) as local:
            timeline.local = local
            scenario = Scenario(local, timeline, idle_minutes=5, deadline_step=True)
            scenario.steps = [scenario.steps[0], scenario.steps[-1]]
            scenario.run()
            parameters = local.stack.parameters
            elapsed = local.clock.elapsed()
    text = out.getvalue()
    # The template's defaults: no MinAwakeMinutes or WakeDeadlineMinutes given to the stack.
    assert "MinAwakeMinutes" not in parameters
    assert "WakeDeadlineMinutes" not in parameters
    # The first task took the latency model's time (tens of seconds), stamped with its scenario instant.
    running = re.search(r"\[\+00:(\d\d\.\d)\] task \w+ RUNNING", text)
    assert running is not None, text
    assert float(running[1]) >= 10
    # A stack just created was never woken, so no minimum awake time holds it: asleep within the first
    # minutes (no visitor), then the wake's failure recorded only once its 5 scenario minutes have passed.
    assert elapsed >= timedelta(minutes=6)
    assert "the wake did not finish within 5 minutes" in text
    assert '"failureReason": "The service did not become ready in time."' in text
