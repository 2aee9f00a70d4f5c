"""The local stack passes its scenario time to the functions through the clock seam's variables."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from local_aws.functions import InProcessFunctions, functions_for
from warmkeeper_shared import clock


class _Endpoint:
    def function_environment(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}


def _stack() -> Any:
    return SimpleNamespace(endpoint=_Endpoint(), layer_dirs=[])


def _function() -> Any:
    return SimpleNamespace(environment={"POWERTOOLS_SERVICE_NAME": "x"}, name="f")


def test_in_process_functions_get_the_scenario_time_and_the_local_marker() -> None:
    scenario = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
    functions = cast(InProcessFunctions, functions_for(_stack(), containers=False, now=lambda: scenario))
    environment = functions._environment(_function())
    assert environment[clock.LOCAL_MARKER] == "true"
    assert datetime.fromisoformat(environment[clock.NOW_VARIABLE]) == scenario


def test_without_a_scenario_clock_the_functions_read_the_wall_clock() -> None:
    functions = cast(InProcessFunctions, functions_for(_stack(), containers=False))
    assert clock.NOW_VARIABLE not in functions._environment(_function())
