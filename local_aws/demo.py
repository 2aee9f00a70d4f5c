"""``python -m local_aws.demo``: the whole scale-to-zero lifecycle on a local AWS built from template.yaml.

``--front-door http-api`` plays the same lifecycle on the stack with ``FrontDoor=http-api``: no load balancer,
requests through a local API Gateway HTTP API (local_aws/httpapi.py). ``--scenario shared-alb`` plays the
other story instead: two stacks of template.yaml attached, by host name,
to a user's own services behind one shared load balancer (local_aws/shared_alb.py).

Exit status: 0 when every step's expectations hold, 1 when one does not (the message says which), 2 when
the local stack cannot be built or run (the message says why). Nothing is left running either way.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from local_aws.clock import Clock, stderr_if_terminal
from local_aws.endpoint import EndpointError
from local_aws.functions import Invocation
from local_aws.httpapi_runtime import FRONT_DOOR_OVERRIDES, HttpApiLocalAws
from local_aws.httpapi_scenario import HttpApiScenario
from local_aws.runtime import LocalAws
from local_aws.samstack import SamDeployment
from local_aws.scenario import LOCAL_OVERRIDES, ExpectationFailed, Scenario, Timeline
from local_aws.shared_alb import SharedAlb, SharedAlbScenario
from local_aws.stack import TEMPLATE, StackError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local_aws.demo",
        description="Play Warmkeeper's scale-to-zero lifecycle against a local AWS built from template.yaml.",
    )
    parser.add_argument("--idle-minutes", type=int, default=5, help="the stack's IdleMinutes (1-60, default 5)")
    parser.add_argument(
        "--speed",
        type=float,
        default=120.0,
        help="scenario minutes pass this many times faster than real ones (default 120; 0 = no waiting)",
    )
    parser.add_argument(
        "--containers", action="store_true", help="run the functions through `sam local invoke` (needs Docker)"
    )
    parser.add_argument(
        "--reconcile-minutes",
        type=int,
        default=None,
        help="the stack's ReconcileMinutes (default: the template's); fewer ticks make --containers faster",
    )
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="the SAM template (default template.yaml)")
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="lifecycle",
        help="lifecycle (default): the full stack's whole lifecycle; shared-alb: two stacks attached to a "
        "user's own services on one shared load balancer",
    )
    parser.add_argument(
        "--deadline",
        action="store_true",
        help="end the lifecycle with a wake that passes its deadline (in process only; about a minute more)",
    )
    parser.add_argument(
        "--front-door",
        choices=FRONT_DOORS,
        default="alb",
        help="alb (default): the stack's own load balancer; http-api: the stack with FrontDoor=http-api, "
        "requests through a local API Gateway HTTP API (local_aws/httpapi.py)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="also show reconcile ticks that changed nothing, and stack traces"
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="create the stack in process from the translated template instead of `sam build` + `sam deploy` "
        "(the users' path, the default for the lifecycle scenario; the deploy step is then an UpdateStack)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="after the steps, keep the local stack up (its endpoint printed) until Ctrl-C, delivering events",
    )
    return parser


SCENARIOS = ("lifecycle", "shared-alb")
FRONT_DOORS = ("alb", "http-api")


def keep_running(
    local: LocalAws, out: TextIO, poll_seconds: float = 1.0, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Leaves the local stack up for other tools (``warmkeeper``, ``sam local invoke``, boto3) until Ctrl-C.

    Events they put reach the functions: the local EventBridge is settled every ``poll_seconds``."""
    url = local.stack.endpoint.url
    out.write(
        f"\nThe local stack {local.stack.name} stays up at {url} until Ctrl-C. In another terminal:\n"
        f"  export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
        f"AWS_DEFAULT_REGION={local.stack.endpoint.region}\n"
        f"  .venv/bin/warmkeeper status --stack {local.stack.name}\n"
    )
    out.flush()
    try:
        while True:
            local.bus.settle()
            sleep(poll_seconds)
    except KeyboardInterrupt:
        out.write("stopping the local stack\n")


def _bad_option(arguments: argparse.Namespace) -> str | None:
    """The first option that cannot run, as a message; None when all can."""
    reconcile = arguments.reconcile_minutes
    problems = [
        (not 1 <= arguments.idle_minutes <= 60, "--idle-minutes must be between 1 and 60 (the template's limits)"),
        (arguments.speed < 0, "--speed must be 0 or more"),
        (
            reconcile is not None and not 1 <= reconcile <= 60,
            "--reconcile-minutes must be between 1 and 60 (the template's limits)",
        ),
        (arguments.scenario == "shared-alb" and arguments.containers, "--containers runs the lifecycle scenario only"),
        (
            arguments.deadline and (arguments.containers or arguments.scenario != "lifecycle"),
            "--deadline runs with the lifecycle scenario, in process only",
        ),
        (
            arguments.scenario == "shared-alb" and arguments.front_door != "alb",
            "--scenario shared-alb shares a load balancer: it runs with --front-door alb only",
        ),
    ]
    return next((message for bad, message in problems if bad), None)


def _lifecycle(
    arguments: argparse.Namespace, overrides: dict[str, str], clock: Clock, timeline: Timeline, out: TextIO
) -> tuple[list[Invocation], str]:
    http_api = arguments.front_door == "http-api"
    with (HttpApiLocalAws if http_api else LocalAws)(
        template_path=arguments.template,
        overrides=overrides,
        containers=arguments.containers,
        clock=clock,
        on_delivery=timeline.delivery,
        on_alarm=timeline.alarm,
        with_sam=not arguments.fast,
    ) as local:
        timeline.local = local
        out.write(f"Local AWS endpoint: {local.stack.endpoint.url}\n")
        if local.stack.sam is not None:
            out.write(sam_deploy_summary(local.stack.sam) + "\n")
        if isinstance(local, HttpApiLocalAws):
            HttpApiScenario(local, timeline, arguments.idle_minutes).run()
        else:
            Scenario(local, timeline, arguments.idle_minutes, deadline_step=arguments.deadline).run()
        if arguments.keep:
            keep_running(local, out)
        return local.functions.invocations, local.functions.mode


def sam_deploy_summary(deployment: SamDeployment) -> str:
    """How the stack was made, in one line (sam's own output is in its log)."""
    build = "unchanged since the last build, reused" if deployment.build_reused else f"{deployment.build_seconds:.1f} s"
    return (
        f"Stack made as its users make it: sam build ({build}), then warmkeeper deploy "
        f"--config-env {deployment.config_env} (sam deploy: {deployment.deploy_seconds[-1]:.1f} s); "
        f"sam's output: {deployment.log} (removed at the end)"
    )


def _shared_alb(
    arguments: argparse.Namespace, overrides: dict[str, str], clock: Clock, timeline: Timeline, out: TextIO
) -> tuple[list[Invocation], str]:
    with SharedAlb(
        template_path=arguments.template,
        overrides=overrides,
        clock=clock,
        on_delivery=timeline.delivery,
        on_alarm=timeline.alarm,
    ) as shared:
        first, *others = shared.stacks.values()
        timeline.local, timeline.others = first, others
        out.write(f"Local AWS endpoint: {first.stack.endpoint.url}\n")
        SharedAlbScenario(first, timeline, arguments.idle_minutes, shared=shared).run()
        invocations = [i for local in shared.stacks.values() for i in local.functions.invocations]
        return invocations, first.functions.mode


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    arguments = _parser().parse_args(argv)
    out = out or sys.stdout
    if problem := _bad_option(arguments):
        out.write(problem + "\n")
        return 2
    # moto warns about every resource type it skips; the timeline lists those that matter.
    warnings.filterwarnings("ignore", module="moto")
    # Powertools' note when an invocation recorded no metric (a status poll, say): not the demo's news.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.getLogger("moto").setLevel(logging.ERROR)
    # The SAM translator notes metrics it never publishes (it runs once per stack here).
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    timeline = Timeline(out, verbose=arguments.verbose)
    clock = Clock(speed=arguments.speed, progress=stderr_if_terminal())
    overrides = {**LOCAL_OVERRIDES, "IdleMinutes": str(arguments.idle_minutes)}
    if arguments.reconcile_minutes is not None:
        overrides["ReconcileMinutes"] = str(arguments.reconcile_minutes)
    if arguments.front_door == "http-api":
        overrides.update(FRONT_DOOR_OVERRIDES)
    started = time.monotonic()
    made = "in process" if arguments.fast or arguments.scenario != "lifecycle" else "sam build + sam deploy"
    out.write(
        f"Warmkeeper on a local AWS: {arguments.template} -> moto's CloudFormation ({made}); "
        f"FrontDoor={arguments.front_door}, IdleMinutes={arguments.idle_minutes}, clock x{arguments.speed:g}\n"
        "The functions read the scenario's clock, so the stack runs with the template's defaults otherwise "
        "(see local_aws/scenario.py).\n"
    )
    play = _shared_alb if arguments.scenario == "shared-alb" else _lifecycle
    try:
        invocations, mode = play(arguments, overrides, clock, timeline, out)
    except ExpectationFailed as failure:
        out.write(
            f"\nFAILED at step {failure.step!r}\n  expected: {failure.expectation}\n  observed: {failure.observed}\n"
        )
        return 1
    except (StackError, EndpointError, RuntimeError) as error:
        out.write(f"\nthe local stack could not run: {error}\n")
        return 2
    except KeyboardInterrupt:
        out.write("\ninterrupted; the local endpoint is stopped\n")
        return 130
    except Exception as error:
        # Anything else is a defect of the local stack (or of moto): say what, and keep the trace for --verbose.
        out.write(f"\nthe local stack failed unexpectedly: {type(error).__name__}: {error}\n")
        if arguments.verbose:
            out.write(traceback.format_exc())
        else:
            out.write("(run again with --verbose for the stack trace)\n")
        return 2
    elapsed = time.monotonic() - started
    scenario_minutes = clock.elapsed().total_seconds() / 60
    out.write(
        f"\nAll expectations held: {scenario_minutes:.0f} scenario minutes in {elapsed:.1f} s of real time, "
        f"{len(invocations)} function invocations ({mode}, "
        f"{sum(i.seconds for i in invocations) / max(1, len(invocations)):.2f} s each on average); "
        "the local endpoint is stopped.\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
