"""Lambda entry point of the controller: parse, decide, act, report. Nothing else lives here."""

from __future__ import annotations

import os
import warnings
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from warmkeeper import controller
from warmkeeper.adapters.aws import AwsClients, AwsGateway, default_clients
from warmkeeper.domain.model import Action, RouteTraffic, SaveState, SetDesiredCount, StartReadinessWatch
from warmkeeper.models.events import Ignored, MalformedEventError, Origin, to_trigger
from warmkeeper.models.settings import SettingsError, get_settings
from warmkeeper_shared import clock

logger = Logger()
# Patched in ``aws_clients``, before the first AWS call rather than with the import, and botocore only (every
# AWS call goes through it): patching loads botocore's client module, and patching everything the X-Ray SDK
# supports loads libraries the controller never uses (requests, sqlite3...).
tracer = Tracer(auto_patch=False)
metrics = Metrics()
# Most invocations (ignored events, repeated requests, reconcile ticks with nothing to do) publish no metric
# by design; Powertools would warn about each one in the function's log.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def _describe(action: Action) -> str:
    match action:
        case RouteTraffic(to=to):
            return f"route:{to}"
        case SetDesiredCount(count=count, force_new_deployment=force):
            return f"desired:{count}" + (":force" if force else "")
        case SaveState():
            return "save-state"
        case StartReadinessWatch():
            return "watch-readiness"


@cache
def _trace_aws_calls() -> None:
    """Once per execution environment: the patch is global, for every client made before or after."""
    tracer.patch(("botocore",))


def aws_clients(front_door: str = "alb") -> AwsClients:
    """The execution environment's clients (the http-api front door's only where it is used, since each client
    costs cold-start time), with botocore traced before their first call."""
    _trace_aws_calls()
    return default_clients("http-api") if front_door == "http-api" else default_clients()


def _summary(event: Any) -> dict[str, Any]:
    """Enough of a bad event to find it again in the dead-letter queue, without dumping it whole."""
    if not isinstance(event, dict):
        return {"type": type(event).__name__}
    return {key: event.get(key) for key in ("id", "source", "detail-type", "resources") if key in event}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = get_settings()
    except SettingsError as error:
        logger.error("controller misconfigured", error=str(error))
        raise
    origin = Origin.of_function(getattr(context, "invoked_function_arn", ""), os.environ)
    if origin is None:
        # Lambda always passes its ARN and region; without them the origin check cannot be made.
        logger.error("no function ARN or region; cannot check where events come from", event=_summary(event))
        raise RuntimeError("the Lambda context has no usable invoked_function_arn and AWS_REGION is not set")
    try:
        trigger = to_trigger(event, settings, origin)
    except MalformedEventError as error:
        # Raised on purpose: Lambda retries, then the on-failure destination (the DLQ) keeps the event.
        logger.error("malformed event", error=str(error), event=_summary(event))
        raise
    if isinstance(trigger, Ignored):
        if trigger.suspicious:
            logger.warning("event ignored", reason=trigger.reason, event=_summary(event), **trigger.fields)
            metrics.add_metric(name="ForeignEventsIgnored", unit=MetricUnit.Count, value=1)
        else:
            logger.info("event ignored", reason=trigger.reason, **trigger.fields)
        return {"outcome": "ignored", "reason": trigger.reason}

    gateway = AwsGateway(aws_clients(settings.front_door), settings)
    now = clock.now()
    try:
        decision = controller.run(trigger, now, settings, gateway)
    except Exception:
        logger.exception(
            "decision failed; the event will be retried", trigger=type(trigger).__name__, aws_calls=gateway.calls
        )
        raise
    for fault in gateway.faults:
        logger.warning("best-effort action failed", fault=fault, trigger=type(trigger).__name__)
        metrics.add_metric(name="ReadinessWatchFailures", unit=MetricUnit.Count, value=1)
    for point in decision.metrics:
        metrics.add_metric(name=point.name, unit=MetricUnit(point.unit), value=point.value)
    log = {"info": logger.info, "warning": logger.warning, "error": logger.error}[decision.level]
    log(
        "decision",
        trigger=type(trigger).__name__,
        outcome=decision.outcome,
        reason=decision.reason,
        actions=[_describe(a) for a in decision.actions],
        aws_calls=gateway.calls,
        details={k: v for k, v in decision.details.items() if v is not None},
    )
    return {
        "outcome": decision.outcome,
        "reason": decision.reason,
        "actions": [_describe(a) for a in decision.actions],
        "awsCalls": gateway.calls,
    }
