"""The CLI's pure parts: samconfig environments, durations, routes, decision lines, the sam deploy command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from warmkeeper_cli import view
from warmkeeper_cli.config import read_environment
from warmkeeper_cli.deploy import sam_deploy_command
from warmkeeper_cli.errors import CliError, Exit

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_projects_samconfig_environments() -> None:
    text = (ROOT / "samconfig.toml").read_text(encoding="utf-8")
    staging = read_environment(text, "staging")
    assert (staging.stack_name, staging.region) == ("warmkeeper-staging", "eu-west-3")
    assert staging.parameter_overrides["IdleMinutes"] == "5"
    assert read_environment(text, "default").stack_name == "warmkeeper"
    with pytest.raises(CliError) as missing:
        read_environment(text, "prod")
    assert missing.value.code is Exit.USAGE
    assert "no environment 'prod'" in str(missing.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(minutes=90)),
        ("1d", timedelta(days=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert view.parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "h", "2 hours", "-1h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(CliError, match="is not a duration"):
        view.parse_duration(text)


def test_instants() -> None:
    assert view.parse_instant("2026-12-01T18:00Z", NOW) == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    with pytest.raises(CliError, match="in the past"):
        view.parse_instant("2026-12-01T11:00Z", NOW)


def test_route_from_a_listener_or_a_rule() -> None:
    actions = [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": "e", "Weight": 0}, {"TargetGroupArn": "w", "Weight": 1}]
            },
        }
    ]
    weights = view.forward_weights(actions, "e", "w")
    assert weights == {"ecs": 0, "waker": 1}
    assert view.route_of(weights) is view.Route.WAKER
    assert view.route_of({"ecs": 999, "waker": 0}) is view.Route.ECS
    assert view.route_of({"ecs": 1, "waker": 1}) is view.Route.SPLIT
    assert view.route_of({}) is view.Route.UNKNOWN


def test_decision_lines_and_the_last_wake() -> None:
    def line(seconds: int, outcome: str) -> view.Decision | None:
        message = (
            f'{{"level":"INFO","message":"decision","trigger":"T","outcome":"{outcome}","reason":"r","actions":[]}}'
        )
        return view.parse_decision(NOW + timedelta(seconds=seconds), message)

    decisions = [d for d in (line(0, "woke"), line(31, "ready"), line(40, "slept")) if d is not None]
    assert view.decision_line(decisions[0]) == "2026-12-01 12:00:00 woke: no action (r) <- T"
    wake = view.last_wake(decisions)
    assert wake is not None
    assert wake.seconds == 31
    assert view.parse_decision(NOW, '{"message": "event ignored"}') is None
    assert view.parse_decision(NOW, "START RequestId: 1") is None


def test_smoke_checks() -> None:
    assert view.parse_smoke_check("/api/health") == view.SmokeCheck("/api/health", frozenset({200}))
    assert view.parse_smoke_check("/=200,301").expected == frozenset({200, 301})
    for bad in ("api", "/x=abc", "/x=99"):
        with pytest.raises(CliError):
            view.parse_smoke_check(bad)


def test_sam_deploy_command_repeats_samconfig_and_records_the_previous_tag() -> None:
    command = sam_deploy_command(
        sam="sam",
        config_env="staging",
        config_file=None,
        image_tag="abc123",
        previous_tag="old",
        samconfig_overrides={"ImageTag": "staging", "IdleMinutes": "5"},
        extra_overrides={"IdleMinutes": "7"},
        samconfig_tags={"team": "web"},
        no_confirm=False,
    )
    assert command == [
        "sam", "deploy", "--config-env", "staging",
        "--parameter-overrides", "ImageTag=abc123", "IdleMinutes=7",
        "--tags", "team=web", "warmkeeper:image-tag=abc123", "warmkeeper:previous-image-tag=old",
        "--no-fail-on-empty-changeset",
    ]  # fmt: skip


def test_sam_deploy_command_for_ci() -> None:
    command = sam_deploy_command(
        sam="sam",
        config_env="production",
        config_file=Path("samconfig.toml"),
        image_tag="v1.2.0",
        previous_tag=None,
        samconfig_overrides={},
        extra_overrides={},
        samconfig_tags={},
        no_confirm=True,
        role_arn="arn:aws:iam::123456789012:role/cfn",
    )
    assert command[4:6] == ["--config-file", "samconfig.toml"]
    assert "warmkeeper:previous-image-tag" not in " ".join(command)
    assert command[-3:] == ["--no-confirm-changeset", "--role-arn", "arn:aws:iam::123456789012:role/cfn"]


def test_sam_deploy_command_from_a_build_elsewhere() -> None:
    command = sam_deploy_command(
        sam="sam",
        config_env="default",
        config_file=None,
        image_tag="v2",
        previous_tag="v1",
        samconfig_overrides={},
        extra_overrides={},
        samconfig_tags={},
        no_confirm=True,
        template_file=Path("build/sam-deploy/build/template.yaml"),
    )
    assert command[4:6] == ["--template-file", "build/sam-deploy/build/template.yaml"]
