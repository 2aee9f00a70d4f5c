"""AWS reads and the one write (a wake request) of the HTTP face, with the caches that keep them rare."""

from __future__ import annotations

import random
import time
import uuid
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from heartbeat.domain.status import ObservedService
from heartbeat.settings import Settings
from warmkeeper_shared import clock
from warmkeeper_shared.events import DetailType, RequestDetail, put_events_entry
from warmkeeper_shared.state import ControllerState, StateDocumentError, parse_state

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_servicediscovery import ServiceDiscoveryClient
    from mypy_boto3_ssm import SSMClient

# A visitor waits on these calls: fail fast and let the page (and the backstop alarm) cover the rest. At
# most 2 attempts of 0.5 s to connect and 1 s to read: a waiting-page hit makes two calls, which then end
# within 6 s, inside the function's 10 s timeout (a timeout would be a 502 and no wake request).
_BOTO_CONFIG = Config(connect_timeout=0.5, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 2})
# The token's current and previous values are cached this long; a token that matches neither refreshes
# them early (at most once per TOKEN_REFRESH_SECONDS), so a rotation is seen within seconds.
TOKEN_MAX_AGE_SECONDS = 300
TOKEN_REFRESH_SECONDS = 30
# Short enough that a waiting page (polling every second) sees traffic back, a started or a failed wake within
# two polls; long enough that the capped face stays far below SSM's shared quota (tests/template/test_security.py).
STATE_MAX_AGE_SECONDS = 1.5
SERVICE_MAX_AGE_SECONDS = 2


class AwsFault(RuntimeError):
    """An AWS call failed; the message says which call and why."""


# Every client comes from boto3's default session: a session of its own (as Powertools' SSMProvider makes)
# would load the endpoint rules and the list of services a second time on the cold path.
@cache
def _secrets() -> SecretsManagerClient:
    return boto3.client("secretsmanager", config=_BOTO_CONFIG)


@cache
def _ssm() -> SSMClient:
    return boto3.client("ssm", config=_BOTO_CONFIG)


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


@cache
def _dynamodb() -> Any:  # the DynamoDB stubs are not among the project's type packages
    return boto3.client("dynamodb", config=_BOTO_CONFIG)


# parameter name -> (monotonic time read, value or None when the parameter has none)
_states: dict[str, tuple[float, str | None]] = {}
_observed: dict[str, tuple[float, ObservedService]] = {}
# secret ARN -> (monotonic time read, accepted values: AWSCURRENT first, then AWSPREVIOUS if any)
_tokens: dict[str, tuple[float, tuple[str, ...]]] = {}


def reset_caches() -> None:
    """Forget clients and cached values (tests and benchmarks start from a cold container)."""
    for factory in (_secrets, _ssm, _ecs, _elbv2, _servicediscovery, _events, _dynamodb):
        factory.cache_clear()
    _states.clear()
    _observed.clear()
    _tokens.clear()


# What one execution environment has cached: the record, the service observation and the token values.
# The flood benchmark swaps these to simulate many environments in one process; the function itself never
# calls the two functions below.
EnvironmentCaches = tuple[
    dict[str, tuple[float, str | None]],
    dict[str, tuple[float, ObservedService]],
    dict[str, tuple[float, tuple[str, ...]]],
]


def environment_caches() -> EnvironmentCaches:
    return (_states, _observed, _tokens)


def use_environment_caches(caches: EnvironmentCaches) -> None:
    global _states, _observed, _tokens
    _states, _observed, _tokens = caches


def expire_values() -> None:
    """Forget cached values but keep the clients (a warm container whose caches just expired)."""
    _states.clear()
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


def controller_state(parameter_name: str, *, fresh: bool = False) -> ControllerState:
    """The record, cached STATE_MAX_AGE_SECONDS; ``fresh`` reads it anyway (a held request's poll)."""
    cached = _states.get(parameter_name)
    if not fresh and cached is not None and time.monotonic() - cached[0] < STATE_MAX_AGE_SECONDS:
        raw = cached[1]
    else:
        try:
            raw = _ssm().get_parameter(Name=parameter_name)["Parameter"].get("Value")
        except (ClientError, BotoCoreError) as error:
            raise AwsFault(f"cannot read the controller state parameter {parameter_name}: {error}") from error
        _states[parameter_name] = (time.monotonic(), raw)
    try:
        return parse_state(raw)
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
    entry = put_events_entry(DetailType.WAKE_REQUESTED, detail, settings.event_bus_name, at=clock.now())
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


# A slot a held request occupies: one item per slot in the hold table, taken with a conditional write
# (free, or left by a holder whose time is up), freed by its holder. At most this many slots are tried.
_SLOT_ATTEMPTS = 2


def take_hold_slot(table: str, slots: int, now_epoch: float, hold_until_epoch: float) -> str | None:
    """Take one of ``slots`` hold slots until ``hold_until_epoch``; the holder id, or None when the two
    slots tried are taken (the cap is reached, or nearly). A slot whose holder died frees itself then."""
    first = random.randrange(slots)  # noqa: S311 - spreading load, not a secret
    holder = uuid.uuid4().hex
    for attempt in range(min(_SLOT_ATTEMPTS, slots)):
        slot = f"hold-{(first + attempt) % slots}"
        try:
            _dynamodb().put_item(
                TableName=table,
                Item={
                    "slot": {"S": slot},
                    "holder": {"S": holder},
                    "expiresAt": {"N": str(int(hold_until_epoch) + 1)},
                },
                ConditionExpression="attribute_not_exists(#slot) OR #expires < :now",
                ExpressionAttributeNames={"#slot": "slot", "#expires": "expiresAt"},
                ExpressionAttributeValues={":now": {"N": str(int(now_epoch))}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                continue
            raise AwsFault(f"cannot take a hold slot in {table}: {error}") from error
        except BotoCoreError as error:
            raise AwsFault(f"cannot take a hold slot in {table}: {error}") from error
        return f"{slot}|{holder}"
    return None


def release_hold_slot(table: str, taken: str) -> None:
    """Free a slot, unless its time ran out and another request holds it now."""
    slot, _, holder = taken.partition("|")
    try:
        _dynamodb().delete_item(
            TableName=table,
            Key={"slot": {"S": slot}},
            ConditionExpression="#holder = :me",
            ExpressionAttributeNames={"#holder": "holder"},
            ExpressionAttributeValues={":me": {"S": holder}},
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return
        raise AwsFault(f"cannot free hold slot {slot} in {table}: {error}") from error
    except BotoCoreError as error:
        raise AwsFault(f"cannot free hold slot {slot} in {table}: {error}") from error
