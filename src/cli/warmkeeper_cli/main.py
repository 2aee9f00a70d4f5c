"""The ``warmkeeper`` command: argument parsing and the commands, each a few calls to the adapter and the
pure functions of :mod:`warmkeeper_cli.view`. Everything with a side effect is in :class:`Runtime`, so tests
drive the commands against a local stack with their own clock and HTTP client."""

from __future__ import annotations

import argparse
import getpass
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from warmkeeper_cli import view
from warmkeeper_cli.aws import Aws
from warmkeeper_cli.config import Environment, load_environment, parse_overrides
from warmkeeper_cli.deploy import IMAGE_TAG_PARAMETER, TAG_PREVIOUS, sam_deploy_command
from warmkeeper_cli.errors import CliError, Exit
from warmkeeper_shared.events import DetailType, RequestDetail, put_events_entry
from warmkeeper_shared.state import Phase, StateDocumentError, parse_state

_REQUIRED_OUTPUTS = ("ClusterName", "ServiceName", "StateParameterName")
# Each front door's outputs: the target groups of the ALB, or the HTTP API's route and Cloud Map service.
_FRONT_DOOR_OUTPUTS = {
    "alb": ("EcsTargetGroupArn", "WakerTargetGroupArn"),
    "http-api": ("HttpApiId", "HttpApiRouteId", "CloudMapServiceId"),
}
# The controller's log group is named by the function's LoggingConfig; older stacks log to Lambda's default.
_CONTROLLER_LOG_GROUP_RESOURCE = "WarmkeeperLogGroup"


def _http_status(url: str, timeout: float) -> int:
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": "warmkeeper-verify"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the stack's own URL)
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _run(command: list[str]) -> int:
    return subprocess.run(command, check=False).returncode  # noqa: S603 (sam, with arguments we built)


@dataclass
class Runtime:
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    http_status: Callable[[str, float], int] = _http_status
    run_command: Callable[[list[str]], int] = _run
    aws: Callable[[str | None], Aws] = Aws


@dataclass(frozen=True)
class Target:
    stack: str
    region: str | None
    environment: Environment | None


class Context:
    def __init__(self, arguments: argparse.Namespace, runtime: Runtime) -> None:
        self.arguments = arguments
        self.runtime = runtime
        self.target = _target(arguments)
        self.aws = runtime.aws(self.target.region)

    def write(self, text: str) -> None:
        self.runtime.out.write(text + "\n")
        self.runtime.out.flush()

    def outputs(self) -> dict[str, str]:
        stack = self.aws.stack(self.target.stack)
        door = "http-api" if "HttpApiId" in stack.outputs else "alb"
        missing = [name for name in (*_REQUIRED_OUTPUTS, *_FRONT_DOOR_OUTPUTS[door]) if name not in stack.outputs]
        if missing:
            raise CliError(
                f"stack {self.target.stack} is not a Warmkeeper stack (no output {', '.join(missing)})",
                Exit.UNKNOWN_STACK,
            )
        return stack.outputs

    def controller_log_group(self, outputs: dict[str, str]) -> str:
        function = outputs.get("WarmkeeperFunctionName")
        if function:
            group = self.aws.function_log_group(function)
            if group:
                return group
        resource = self.aws.stack_resources(self.target.stack).get(_CONTROLLER_LOG_GROUP_RESOURCE)
        if resource and resource[0]:
            return resource[0]
        if function:
            return f"/aws/lambda/{function}"
        raise CliError(f"stack {self.target.stack} names no controller function or log group", Exit.UNKNOWN_STACK)

    def decisions(self, outputs: dict[str, str], since: datetime) -> list[view.Decision]:
        group = self.controller_log_group(outputs)
        events = self.aws.log_events(group, since, '{ $.message = "decision" }')
        return [d for e in events if (d := view.parse_decision(e.timestamp, e.message)) is not None]

    def _alb_weights(self, stack: str, outputs: dict[str, str]) -> tuple[dict[str, int], str]:
        # A Warmkeeper-owned listener rule carries the traffic when the stack says so; else the listener's
        # default action does. Reading the output keeps this right before and after that change.
        if outputs.get("RouteRuleArn"):
            actions, source = self.aws.rule_actions(outputs["RouteRuleArn"]), "listener rule"
        elif outputs.get("ListenerArn"):
            actions, source = self.aws.listener_actions(outputs["ListenerArn"]), "listener's default action"
        else:
            raise CliError(f"stack {stack} has neither a RouteRuleArn nor a ListenerArn output", Exit.UNKNOWN_STACK)
        return view.forward_weights(actions, outputs["EcsTargetGroupArn"], outputs["WakerTargetGroupArn"]), source

    def snapshot(self, with_last_wake: bool = False) -> view.Snapshot:
        stack = self.aws.stack(self.target.stack)
        outputs = self.outputs()
        service = self.aws.service(outputs["ClusterName"], outputs["ServiceName"])
        if outputs.get("HttpApiId"):
            states = [s.lower() for s in self.aws.instance_health(outputs["CloudMapServiceId"])]
            on_service = self.aws.route_goes_to_service(outputs["HttpApiId"], outputs["HttpApiRouteId"])
            weights, source = ({"ecs": 1, "waker": 0} if on_service else {"ecs": 0, "waker": 1}), "$default route"
        else:
            states = self.aws.target_states(outputs["EcsTargetGroupArn"])
            weights, source = self._alb_weights(stack.name, outputs)
        raw = self.aws.parameter(outputs["StateParameterName"])
        notes: list[str] = []
        try:
            record = parse_state(raw)
        except StateDocumentError as error:
            notes.append(f"the controller's record is unreadable ({error}); shown as empty")
            record = parse_state(None)
        alarms = self.aws.alarm_states([outputs[k] for k in ("IdleAlarmName", "WakeAlarmName") if k in outputs])
        primary: dict[str, Any] = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
        wake = None
        if with_last_wake:
            try:
                wake = view.last_wake(self.decisions(outputs, self.runtime.now() - timedelta(days=1)))
            except CliError as error:
                notes.append(f"last wake unknown: {error}")
        return view.Snapshot(
            stack=stack.name,
            region=self.aws.region or "?",
            stack_status=stack.status,
            desired=int(service.get("desiredCount", 0)),
            running=int(service.get("runningCount", 0)),
            pending=int(service.get("pendingCount", 0)),
            task_definition=str(service.get("taskDefinition", "?")).rsplit("/", 1)[-1],
            rollout_state=str(primary.get("rolloutState", "?")),
            healthy=sum(1 for s in states if s == "healthy"),
            targets=len(states),
            weights=weights,
            route_source=source,
            record=record,
            alarms=alarms,
            image_tag=stack.parameters.get(IMAGE_TAG_PARAMETER),
            checked_at=self.runtime.now(),
            last_wake=wake,
            notes=notes,
        )

    def request(self, detail_type: DetailType, reason: str | None = None, until: datetime | None = None) -> None:
        self.outputs()  # an unknown stack is an error before any event goes out
        by = self.arguments.requested_by or f"cli:{getpass.getuser()}"
        detail = RequestDetail(stack=self.target.stack, requested_by=by, reason=reason, until=until)
        event_id = self.aws.put_event(put_events_entry(detail_type, detail, "default"))
        self.write(f"{detail_type.value} sent for {self.target.stack} (event {event_id or '?'})")

    def wait_for(
        self, done: Callable[[view.Snapshot], bool], failed: Callable[[view.Snapshot], str | None], timeout: float
    ) -> tuple[view.Snapshot, float]:
        started = self.runtime.monotonic()
        last_line = ""
        while True:
            snapshot = self.snapshot()
            elapsed = self.runtime.monotonic() - started
            line = view.progress_line(snapshot, elapsed)
            if line.split("] ", 1)[1] != last_line:
                self.write(line)
                last_line = line.split("] ", 1)[1]
            if done(snapshot):
                return snapshot, elapsed
            if (reason := failed(snapshot)) is not None:
                raise CliError(reason, Exit.FAILED)
            if elapsed >= timeout:
                raise CliError(
                    f"timed out after {timeout:.0f} s: {snapshot.phase.value}, {snapshot.healthy} healthy target(s)",
                    Exit.TIMEOUT,
                )
            self.runtime.sleep(self.arguments.interval)


def _target(arguments: argparse.Namespace) -> Target:
    environment = None
    if getattr(arguments, "config_env", None):
        environment = load_environment(Path(arguments.config_file), arguments.config_env)
    stack = arguments.stack or (environment.stack_name if environment else None)
    if not stack:
        raise CliError("say which stack: --stack NAME or --config-env ENV (from samconfig.toml)", Exit.USAGE)
    region = arguments.region or (environment.region if environment else None)
    return Target(stack=stack, region=region, environment=environment)


def _failure_since(sent: datetime) -> Callable[[view.Snapshot], str | None]:
    # A failure older than our request is the one a retry clears; only a new one ends the wait.
    margin = timedelta(seconds=5)

    def failed(snapshot: view.Snapshot) -> str | None:
        failure = snapshot.record.failure
        if failure is not None and failure.at >= sent - margin:
            return f"the wake failed: {failure.kind.value}: {failure.reason}"
        return None

    return failed


# ------------------------------------------------------------------ commands


def cmd_status(context: Context) -> Exit:
    arguments = context.arguments
    shown = 0
    while True:
        snapshot = context.snapshot(with_last_wake=True)
        if arguments.json:
            context.write(json.dumps(view.status_document(snapshot)))
        else:
            context.write(view.format_status(snapshot, context.runtime.now()))
        shown += 1
        if not arguments.watch or (arguments.count and shown >= arguments.count):
            return Exit.OK
        context.runtime.sleep(arguments.interval)
        if not arguments.json:
            context.write("")


def cmd_wake(context: Context) -> Exit:
    sent = context.runtime.now()
    context.request(DetailType.WAKE_REQUESTED, reason=context.arguments.reason)
    if not context.arguments.wait:
        return Exit.OK
    snapshot, elapsed = context.wait_for(lambda s: s.serving, _failure_since(sent), context.arguments.timeout)
    context.write(f"awake: traffic is back on the service after {elapsed:.0f} s ({snapshot.healthy} healthy)")
    return Exit.OK


def cmd_sleep(context: Context) -> Exit:
    context.request(DetailType.SLEEP_REQUESTED, reason=context.arguments.reason)
    return Exit.OK


def cmd_pin(context: Context) -> Exit:
    now = context.runtime.now()
    arguments = context.arguments
    until = view.parse_instant(arguments.until, now) if arguments.until else now + view.parse_duration(arguments.for_)
    context.request(DetailType.PIN_REQUESTED, reason=arguments.reason, until=until)
    context.write(f"pinned awake until {until.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} (the controller caps long pins)")
    return Exit.OK


def cmd_unpin(context: Context) -> Exit:
    context.request(DetailType.UNPIN_REQUESTED, reason=context.arguments.reason)
    return Exit.OK


def cmd_logs(context: Context) -> Exit:
    since = context.runtime.now() - view.parse_duration(context.arguments.since)
    decisions = context.decisions(context.outputs(), since)
    for decision in decisions:
        context.write(view.decision_line(decision))
    if not decisions:
        context.write(f"no decision logged since {since:%Y-%m-%d %H:%M:%S %Z}")
    return Exit.OK


def _deploy(context: Context, tag: str) -> Exit:
    environment = context.target.environment
    if environment is None:
        raise CliError("deploy and rollback need --config-env ENV (samconfig.toml)", Exit.USAGE)
    previous: str | None = None
    try:
        previous = context.aws.stack(context.target.stack).parameters.get(IMAGE_TAG_PARAMETER)
    except CliError as error:
        if error.code is not Exit.UNKNOWN_STACK:
            raise
    arguments = context.arguments
    command = sam_deploy_command(
        sam=arguments.sam,
        config_env=environment.name,
        config_file=Path(arguments.config_file),
        image_tag=tag,
        previous_tag=previous,
        samconfig_overrides=environment.parameter_overrides,
        extra_overrides=parse_overrides(arguments.parameter_overrides or []),
        samconfig_tags=environment.tags,
        no_confirm=arguments.no_confirm,
        role_arn=arguments.role_arn,
        template_file=Path(arguments.template_file) if arguments.template_file else None,
    )
    context.write(f"deploying {tag} to {context.target.stack} (was {previous or 'not deployed'}): {' '.join(command)}")
    status = context.runtime.run_command(command)
    if status != 0:
        raise CliError(f"sam deploy failed with exit status {status}", Exit.DEPLOY_FAILED)
    deployed = context.aws.stack(context.target.stack).parameters.get(IMAGE_TAG_PARAMETER)
    if deployed != tag:
        raise CliError(f"sam deploy ended but the stack's ImageTag is {deployed!r}, not {tag!r}", Exit.DEPLOY_FAILED)
    context.write(f"deployed: {context.target.stack} ImageTag={tag}")
    if getattr(arguments, "verify", False):
        return cmd_verify(context)
    return Exit.OK


def cmd_deploy(context: Context) -> Exit:
    return _deploy(context, context.arguments.tag)


def cmd_rollback(context: Context) -> Exit:
    stack = context.aws.stack(context.target.stack)
    previous = stack.tags.get(TAG_PREVIOUS)
    if not previous:
        raise CliError(
            f"stack {stack.name} has no {TAG_PREVIOUS} tag: only a deploy made with `warmkeeper deploy` records "
            "the tag it replaced; deploy the tag you want with `warmkeeper deploy --tag`",
            Exit.FAILED,
        )
    return _deploy(context, previous)


def cmd_verify(context: Context) -> Exit:
    arguments = context.arguments
    stack = context.aws.stack(context.target.stack)
    outputs = context.outputs()
    snapshot = context.snapshot()
    woke = False
    sent = context.runtime.now()
    if snapshot.phase in (Phase.SLEEPING, Phase.FAILED) or (snapshot.phase is Phase.AWAKE and not snapshot.serving):
        context.request(DetailType.WAKE_REQUESTED, reason="warmkeeper verify")
        woke = True

    def serving_new_revision(current: view.Snapshot) -> bool:
        service = context.aws.service(outputs["ClusterName"], outputs["ServiceName"])
        return view.new_revision_serving(current, service.get("deployments", []))

    snapshot, waited = context.wait_for(serving_new_revision, _failure_since(sent), arguments.timeout)
    base = (arguments.base_url or outputs.get("Url", "")).rstrip("/")
    if not base:
        raise CliError(f"stack {stack.name} has no Url output; pass --base-url", Exit.USAGE)
    checks = [view.parse_smoke_check(text) for text in arguments.check] or [
        view.SmokeCheck(stack.parameters.get("HealthCheckPath") or "/", frozenset({200}))
    ]
    results = []
    for check in checks:
        try:
            results.append(view.SmokeResult(check, context.runtime.http_status(base + check.path, 10.0)))
        except OSError as error:
            results.append(view.SmokeResult(check, None, str(error)))
    context.write(view.format_report(snapshot, results, waited, woke))
    return Exit.OK if all(r.passed for r in results) else Exit.FAILED


# ------------------------------------------------------------------ arguments


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("which stack")
    where.add_argument("--stack", help="the stack's name")
    where.add_argument("--config-env", help="an environment of samconfig.toml (its stack_name and region)")
    where.add_argument("--config-file", default="samconfig.toml", help="default: ./samconfig.toml")
    where.add_argument("--region", help="default: --config-env's region, else AWS_REGION / the profile's")
    common.add_argument("--interval", type=float, default=5.0, help="seconds between polls (default 5)")
    common.add_argument("--requested-by", help="who asks, in the controller's record (default cli:$USER)")

    top = argparse.ArgumentParser(
        prog="warmkeeper",
        description="Operate a Warmkeeper stack: see its state, wake, sleep, pin, read the controller's "
        "decisions, deploy, verify and roll back. Works against AWS_ENDPOINT_URL too.",
        epilog="exit status: 0 ok, 1 failed (wake or verification), 2 usage, 3 no credentials, 4 unknown stack, "
        "5 event refused, 6 timeout, 7 other AWS error, 8 sam deploy failed",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _operating_commands(commands, common)
    _deploying_commands(commands, common)
    return top


def _operating_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    status = commands.add_parser("status", parents=[common], help="phase, tasks, traffic, pin, last wake and failure")
    status.add_argument("--watch", action="store_true", help="repeat every --interval seconds until Ctrl-C")
    status.add_argument("--count", type=int, default=0, help="with --watch: stop after this many (default: never)")
    status.add_argument("--json", action="store_true", help="one JSON document per refresh")
    status.set_defaults(handler=cmd_status)

    wake = commands.add_parser("wake", parents=[common], help="ask the controller to wake the service")
    wake.add_argument("--wait", action="store_true", help="show progress until traffic is back or the wake fails")
    wake.add_argument("--timeout", type=float, default=600.0, help="with --wait: seconds (default 600)")
    wake.add_argument("--reason")
    wake.set_defaults(handler=cmd_wake)

    sleep = commands.add_parser("sleep", parents=[common], help="ask the controller to put the service to sleep")
    sleep.add_argument("--reason")
    sleep.set_defaults(handler=cmd_sleep)

    pin = commands.add_parser("pin", parents=[common], help="keep the service awake until a time")
    when = pin.add_mutually_exclusive_group(required=True)
    when.add_argument("--until", help="ISO 8601 time, e.g. 2026-12-01T18:00Z")
    when.add_argument("--for", dest="for_", metavar="DURATION", help="e.g. 30m, 2h, 1h30m")
    pin.add_argument("--reason")
    pin.set_defaults(handler=cmd_pin)

    unpin = commands.add_parser("unpin", parents=[common], help="remove the pin")
    unpin.add_argument("--reason")
    unpin.set_defaults(handler=cmd_unpin)

    logs = commands.add_parser("logs", parents=[common], help="the controller's decisions, one line each")
    logs.add_argument("--since", default="1h", help="how far back (default 1h)")
    logs.set_defaults(handler=cmd_logs)


def _deploying_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    def verify_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--check",
            action="append",
            default=[],
            metavar="PATH[=STATUS,...]",
            help="a smoke check (repeatable); default: the health check path, expecting 200",
        )
        command.add_argument("--base-url", help="default: the stack's Url output")
        command.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for healthy targets")

    def deploy_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--parameter-overrides", nargs="+", metavar="KEY=VALUE", help="more overrides on top of samconfig's"
        )
        command.add_argument("--no-confirm", action="store_true", help="do not ask to confirm the change set")
        command.add_argument("--sam", default="sam", help="the SAM CLI to run (default: sam on PATH)")
        command.add_argument("--role-arn", help="CloudFormation's service role for the deploy (sam deploy --role-arn)")
        command.add_argument(
            "--template-file", help="the built template (sam deploy --template-file; default: .aws-sam/build's)"
        )

    deploy = commands.add_parser("deploy", parents=[common], help="sam deploy with a new image tag")
    deploy.add_argument("--tag", required=True, help="the ImageTag to deploy")
    deploy.add_argument("--verify", action="store_true", help="then run `verify`")
    deploy_options(deploy)
    verify_options(deploy)
    deploy.set_defaults(handler=cmd_deploy)

    verify = commands.add_parser(
        "verify", parents=[common], help="wake if asleep, wait for the new revision's healthy targets, smoke-check"
    )
    verify_options(verify)
    verify.set_defaults(handler=cmd_verify)

    rollback = commands.add_parser("rollback", parents=[common], help="deploy the image tag the last deploy replaced")
    rollback.add_argument("--verify", action="store_true", help="then run `verify`")
    deploy_options(rollback)
    verify_options(rollback)
    rollback.set_defaults(handler=cmd_rollback)


def main(argv: Sequence[str] | None = None, runtime: Runtime | None = None) -> int:
    runtime = runtime or Runtime()
    arguments = parser().parse_args(argv)
    try:
        context = Context(arguments, runtime)
        code: Exit = arguments.handler(context)
    except CliError as error:
        runtime.err.write(f"warmkeeper {arguments.command}: {error}\n")
        return int(error.code)
    except KeyboardInterrupt:
        runtime.err.write("interrupted\n")
        return 130
    return int(code)


def run() -> int:
    """The console script's entry point."""
    return main(sys.argv[1:])
