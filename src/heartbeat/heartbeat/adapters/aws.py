"""AWS reads and the one write (a wake request) of the HTTP face, with the caches that keep them rare."""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from heartbeat.domain.status import ObservedService
from heartbeat.settings import Settings
from warmkeeper_shared.events import DetailType, RequestDetail, put_events_entry
from warmkeeper_shared.state import ControllerState, StateDocumentError, parse_state

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_servicediscovery import ServiceDiscoveryClient

# A visitor waits on these calls: fail fast and let the page (and the backstop alarm) cover the rest. At
# most 2 attempts of 0.5 s to connect and 1 s to read: a waiting-page hit makes two calls, which then end
# within 6 s, inside the function's 10 s timeout (a timeout would be a 502 and no wake request).
_BOTO_CONFIG = Config(connect_timeout=0.5, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 2})
# The token's current and previous values are cached this long; a token that matches neither refreshes
# them early (at most once per TOKEN_REFRESH_SECONDS), so a rotation is seen within seconds.
TOKEN_MAX_AGE_SECONDS = 300
TOKEN_REFRESH_SECONDS = 30
# Short enough that the waiting page notices a started or failed wake within a poll or two.
STATE_MAX_AGE_SECONDS = 3
SERVICE_MAX_AGE_SECONDS = 2


class AwsFault(RuntimeError):
    """An AWS call failed; the message says which call and why."""


@cache
def _secrets() -> SecretsManagerClient:
    return boto3.client("secretsmanager", config=_BOTO_CONFIG)


@cache
def _ssm() -> SSMProvider:
    return SSMProvider(boto_config=_BOTO_CONFIG)


@cache
def _ecs() -> ECSClient:
    return boto3.client("ecs", config=_BOTO_CONFIG)


@cache
def _elbv2() -> ElasticLoadBalancingv2Client:
    return boto3.client("elbv2", config=_BOTO_CONFIG)


@cache
def _servicediscovery() -> ServiceDiscoveryClient:
    return boto3.client("servicediscovery", config=_BOTO_CONFIG)


@cache
def _events() -> EventBridgeClient:
    return boto3.client("events", config=_BOTO_CONFIG)


_observed: dict[str, tuple[float, ObservedService]] = {}
# secret ARN -> (monotonic time read, accepted values: AWSCURRENT first, then AWSPREVIOUS if any)
_tokens: dict[str, tuple[float, tuple[str, ...]]] = {}


def reset_caches() -> None:
    """Forget clients and cached values (tests and benchmarks start from a cold container)."""
    for factory in (_secrets, _ssm, _ecs, _elbv2, _servicediscovery, _events):
        factory.cache_clear()
    _observed.clear()
    _tokens.clear()


# What one execution environment has cached: the record (in the SSM provider's store), the service
# observation and the token values. The flood benchmark swaps these to simulate many environments in one
# process; the function itself never calls the two functions below.
EnvironmentCaches = tuple[
    dict[Any, Any], dict[str, tuple[float, ObservedService]], dict[str, tuple[float, tuple[str, ...]]]
]


def environment_caches() -> EnvironmentCaches:
    return (_ssm().store, _observed, _tokens)


def use_environment_caches(caches: EnvironmentCaches) -> None:
    global _observed, _tokens
    _ssm().store, _observed, _tokens = caches


def expire_values() -> None:
    """Forget cached values but keep the clients (a warm container whose caches just expired)."""
    _ssm().clear_cache()  # type: ignore[no-untyped-call]
    _observed.clear()
    _tokens.clear()


def _secret_value(secret_arn: str, stage: str) -> str | None:
    """The secret's value under a staging label; None when no version carries the label (never rotated)."""
    try:
        answer = _secrets().get_secret_value(SecretId=secret_arn, VersionStage=stage)
    except ClientError as error:
        if stage != "AWSCURRENT" and error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise AwsFault(f"cannot read the heartbeat token secret {secret_arn} ({stage}): {error}") from error
    except BotoCoreError as error:
        raise AwsFault(f"cannot read the heartbeat token secret {secret_arn} ({stage}): {error}") from error
    value = answer.get("SecretString", "").strip()
    return value or None


def heartbeat_tokens(secret_arn: str, *, stale_ok: bool = True) -> tuple[str, ...]:
    """The values a ping may present: the current token and, during a rotation's overlap, the previous one.

    Cached for TOKEN_MAX_AGE_SECONDS. ``stale_ok=False`` (a token matched neither value) reads them again
    if the cache is older than TOKEN_REFRESH_SECONDS, so a new token works within that time while a flood of wrong
    tokens costs at most one read per environment every TOKEN_REFRESH_SECONDS.
    """
    cached = _tokens.get(secret_arn)
    age = time.monotonic() - cached[0] if cached is not None else None
    max_age = TOKEN_MAX_AGE_SECONDS if stale_ok else TOKEN_REFRESH_SECONDS
    if cached is not None and age is not None and age < max_age:
        return cached[1]
    current = _secret_value(secret_arn, "AWSCURRENT")
    if current is None:
        raise AwsFault(f"the heartbeat token secret {secret_arn} is empty")
    previous = _secret_value(secret_arn, "AWSPREVIOUS")
    values = (current,) if previous is None or previous == current else (current, previous)
    _tokens[secret_arn] = (time.monotonic(), values)
    return values


def controller_state(parameter_name: str) -> ControllerState:
    try:
        raw = _ssm().get(parameter_name, max_age=STATE_MAX_AGE_SECONDS)
    except GetParameterError as error:
        raise AwsFault(f"cannot read the controller state parameter {parameter_name}: {error}") from error
    try:
        return parse_state(str(raw) if raw is not None else None)
    except StateDocumentError as error:
        raise AwsFault(str(error)) from error


def observe_service(settings: Settings) -> ObservedService:
    """desiredCount, runningCount and healthy targets, cached briefly so polling tabs stay cheap."""
    cached = _observed.get(settings.service_name)
    if cached is not None and time.monotonic() - cached[0] < SERVICE_MAX_AGE_SECONDS:
        return cached[1]
    try:
        services = _ecs().describe_services(cluster=settings.cluster_name, services=[settings.service_name])
        healthy = _healthy_targets(settings)
    except (ClientError, BotoCoreError) as error:
        raise AwsFault(f"cannot observe the service: {error}") from error
    if not services["services"]:
        failures = services.get("failures", [])
        raise AwsFault(f"service {settings.service_name} not found in {settings.cluster_name}: {failures}")
    service = services["services"][0]
    observed = ObservedService(
        desired_count=service.get("desiredCount", 0),
        running_count=service.get("runningCount", 0),
        healthy_targets=healthy,
    )
    _observed[settings.service_name] = (time.monotonic(), observed)
    return observed


def _healthy_targets(settings: Settings) -> int:
    """For the page's progress only (the controller alone decides where traffic goes): healthy targets of the
    ALB target group, or HEALTHY instances of the Cloud Map service with the http-api front door."""
    if settings.cloud_map_service_id:
        # The first page is enough for a progress indication.
        status = _servicediscovery().get_instances_health_status(ServiceId=settings.cloud_map_service_id)
        return sum(1 for state in status.get("Status", {}).values() if state == "HEALTHY")
    health = _elbv2().describe_target_health(TargetGroupArn=settings.ecs_target_group_arn)
    return sum(
        1
        for description in health["TargetHealthDescriptions"]
        if description.get("TargetHealth", {}).get("State") == "healthy"
    )


def put_wake_request(settings: Settings, requested_by: str, reason: str) -> str:
    """Ask the controller for a wake; returns the event id."""
    detail = RequestDetail(stack=settings.stack_name, requested_by=requested_by, reason=reason)
    entry = put_events_entry(DetailType.WAKE_REQUESTED, detail, settings.event_bus_name)
    try:
        answer = _events().put_events(Entries=[entry])  # type: ignore[list-item]
    except (ClientError, BotoCoreError) as error:
        raise AwsFault(f"PutEvents failed: {error}") from error
    result = answer["Entries"][0] if answer.get("Entries") else {}
    if answer.get("FailedEntryCount", 0) or "EventId" not in result:
        raise AwsFault(
            f"PutEvents rejected the wake request: {result.get('ErrorCode', 'no code')} "
            f"{result.get('ErrorMessage', 'no message')}"
        )
    return result["EventId"]
