"""The main job: the whole lifecycle on a local stack built from template.yaml with `sam build` and the real
`sam deploy` (or in process, --fast), the functions in process and in containers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from local_aws import demo
from tests.local_aws.conftest import template_copy
from tests.samlocal import require_docker


@pytest.mark.slow
def test_the_demo_plays_the_lifecycle_green_in_process() -> None:
    out = io.StringIO()
    code = demo.main(["--speed", "0", "--idle-minutes", "3"], out=out)
    text = out.getvalue()
    assert code == 0, text[-3000:]
    for expected in (
        "(sam build + sam deploy)",
        "Stack made as its users make it: sam build (",
        # The deploy while asleep: a second real sam deploy, through the CLI.
        "$ warmkeeper deploy --config-env default --config-file samconfig.toml --tag v2 --no-confirm",
        "deploying v2 to warmkeeper (was v1):",
        "deployed: warmkeeper ImageTag=v2",
        "CloudWatch Alarm State Change warmkeeper-idle OK->ALARM -> WarmkeeperFunction: slept: route:waker",
        "Wake Requested by visitor -> WarmkeeperFunction: woke",
        "ECS Service Action SERVICE_STEADY_STATE -> WarmkeeperFunction: ready",
        "sleep-skipped: no action (pinned until",
        "the service now runs warmkeeper:2",
        '"state": "failed"',
        "All expectations held",
    ):
        assert expected in text


@pytest.mark.slow
def test_the_demo_says_which_expectation_failed_and_exits_non_zero(tmp_path: Path) -> None:
    # An idle alarm that can never fire: the lifecycle stops at the idle step, and the demo says so.
    never_idle = template_copy(
        tmp_path,
        (
            "      ComparisonOperator: LessThanOrEqualToThreshold\n      Threshold: 0\n",
            "      ComparisonOperator: LessThanThreshold\n      Threshold: 0\n",
        ),
    )
    out = io.StringIO()
    code = demo.main(["--fast", "--speed", "0", "--idle-minutes", "1", "--template", str(never_idle)], out=out)
    text = out.getvalue()
    assert code == 1, text[-2000:]
    assert "FAILED at step 'nobody comes for 1 minutes: the idle alarm fires'" in text
    assert "expected: warmkeeper-idle ALARM" in text


@pytest.mark.docker
@pytest.mark.slow
def test_the_demo_plays_the_lifecycle_green_through_sam_local_invoke() -> None:
    require_docker()
    out = io.StringIO()
    # Fewer minutes and reconcile ticks: each invocation starts a container.
    code = demo.main(["--containers", "--speed", "0", "--idle-minutes", "1", "--reconcile-minutes", "10"], out=out)
    text = out.getvalue()
    assert code == 0, text[-3000:]
    assert "functions run sam local invoke" in text
    assert "deployed: warmkeeper ImageTag=v2" in text
    assert "All expectations held" in text


def test_bad_options_are_a_clear_error() -> None:
    out = io.StringIO()
    assert demo.main(["--idle-minutes", "0"], out=out) == 2
    assert "between 1 and 60" in out.getvalue()
    out = io.StringIO()
    assert demo.main(["--speed", "-1"], out=out) == 2
    assert "0 or more" in out.getvalue()


def test_a_template_that_cannot_be_built_is_a_clear_error_not_a_trace(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text("Resources: {}\nTransform: AWS::Serverless-2016-10-31\n", encoding="utf-8")
    out = io.StringIO()
    assert demo.main(["--fast", "--speed", "0", "--template", str(broken)], out=out) == 2
    assert "the local stack could not run:" in out.getvalue()
    assert "Traceback" not in out.getvalue()


@pytest.mark.slow
def test_the_fast_demo_creates_the_stack_in_process() -> None:
    out = io.StringIO()
    code = demo.main(["--fast", "--speed", "0", "--idle-minutes", "1"], out=out)
    text = out.getvalue()
    assert code == 0, text[-3000:]
    assert "(in process)" in text
    assert "CloudFormation UpdateStack with ImageTag=v2 (the same translated template)" in text
    assert "the service now runs warmkeeper:2" in text
