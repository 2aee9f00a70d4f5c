"""The EventBridge events the controller accepts, and their translation into domain triggers.

Events that are well-formed but not for this controller (other alarms, services, stacks; unknown kinds)
become ``Ignored``. Events that are not well-formed raise ``MalformedEventError`` so Lambda retries them
and then hands them to the on-failure destination (the dead-letter queue): nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from warmkeeper.domain.model import (
    DeploymentCompleted,
    DeploymentFailed,
    DeploymentStarted,
    IdleAlarmed,
    PinRequested,
    ReadinessCheck,
    ReconcileTick,
    ServiceTrouble,
    SleepRequested,
    SteadyState,
    TaskRunning,
    TaskStopped,
    Trigger,
    UnpinRequested,
    WakeOrigin,
    WakeRequested,
)
from warmkeeper.models.settings import Settings
from warmkeeper_shared.events import SOURCE, DetailType, RequestDetail
from warmkeeper_shared.state import FailureKind


class MalformedEventError(ValueError):
    """The event is not a well-formed event of a kind the controller handles."""


@dataclass(frozen=True)
class Ignored:
    """A well-formed event that is not for this controller; logged at info level (``warning`` if suspicious)."""

    reason: str
    fields: dict[str, Any] = field(default_factory=dict)
    suspicious: bool = False


# The account the Lambda runtime interface emulator (``sam local invoke``, the local Lambda image) puts in
# every function ARN: a placeholder, not the account the events come from.
EMULATOR_ACCOUNT = "012345678912"


@dataclass(frozen=True)
class Origin:
    """The account and region this function runs in: an event from elsewhere is not for it.

    EventBridge stamps both on every event it delivers; a rule on the default bus only sees this account's
    events (or a cross-account bus forwarding others', which this controller must not act on). ``account``
    None means unknown (only under the emulator): then only the region is checked.
    """

    account: str | None
    region: str

    @classmethod
    def of_function(cls, arn: str, environ: Mapping[str, str]) -> Origin | None:
        """From ``ACCOUNT_ID`` (when the template sets it) or the Lambda context's function ARN
        (``arn:aws:lambda:<region>:<account>:function:<name>``), and Lambda's ``AWS_REGION``."""
        parts = str(arn).split(":")
        from_arn = len(parts) >= 7 and parts[0] == "arn" and parts[2] == "lambda"
        account = environ.get("ACCOUNT_ID", "").strip() or (parts[4] if from_arn else "")
        region = environ.get("AWS_REGION", "").strip() or (parts[3] if from_arn else "")
        if not region or not account:
            return None
        return cls(account=None if account == EMULATOR_ACCOUNT else account, region=region)

    def admits(self, account: str, region: str) -> bool:
        return region == self.region and (self.account is None or account == self.account)


class Envelope(BaseModel):
    """EventBridge's envelope, as tolerant as the senders in the field.

    ``version`` is optional: the SAM CLI's ``generate-event cloudwatch scheduled-event`` leaves it out, and
    nothing here depends on it. ``time`` without a zone is UTC.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    version: str | None = None
    id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=256)
    account: str = Field(min_length=1, max_length=64)
    time: datetime
    region: str = Field(min_length=1, max_length=64)
    resources: list[str] = Field(default_factory=list)
    detail_type: str = Field(alias="detail-type", max_length=256)
    detail: Any

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class _Detail(BaseModel):
    # AWS adds fields over time: read what we know, ignore the rest.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class AlarmState(_Detail):
    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str | None = None
    timestamp: str | None = None


class AlarmStateChangeDetail(_Detail):
    alarm_name: str
    state: AlarmState
    previous_state: AlarmState | None = None


class AlarmStateChangeEvent(Envelope):
    detail: AlarmStateChangeDetail


class ServiceActionDetail(_Detail):
    event_type: str
    event_name: str
    cluster_arn: str | None = None
    reason: str | None = None


class ServiceActionEvent(Envelope):
    detail: ServiceActionDetail


class DeploymentDetail(_Detail):
    event_type: str
    event_name: str
    deployment_id: str
    reason: str | None = None


class DeploymentEvent(Envelope):
    detail: DeploymentDetail


class TaskStateDetail(_Detail):
    task_arn: str
    cluster_arn: str
    last_status: str
    group: str | None = None
    desired_status: str | None = None
    stopped_reason: str | None = None
    stop_code: str | None = None
    created_at: AwareDatetime | None = None
    started_at: AwareDatetime | None = None


class TaskStateEvent(Envelope):
    detail: TaskStateDetail


class ScheduledEvent(Envelope):
    detail: dict[str, Any]


class RequestEvent(Envelope):
    detail: RequestDetail


_SERVICE_TROUBLE = {
    "SERVICE_TASK_START_IMPAIRED": (
        FailureKind.TASK_START_IMPAIRED,
        "ECS cannot start tasks of the service successfully (SERVICE_TASK_START_IMPAIRED)",
    ),
    "SERVICE_TASK_PLACEMENT_FAILURE": (
        FailureKind.PLACEMENT_FAILURE,
        "ECS could not place a task (SERVICE_TASK_PLACEMENT_FAILURE)",
    ),
    "SERVICE_TASK_CONFIGURATION_FAILURE": (
        FailureKind.CONFIGURATION_FAILURE,
        "the task configuration is invalid (SERVICE_TASK_CONFIGURATION_FAILURE)",
    ),
}


def _validated[M: BaseModel](model: type[M], event: dict[str, Any]) -> M:
    try:
        return model.model_validate(event)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise MalformedEventError(f"malformed {model.__name__}: {problems}") from None


def to_trigger(event: Any, settings: Settings, origin: Origin | None = None) -> Trigger | Ignored:  # noqa: PLR0911
    """Translate one EventBridge event into what happened, or say why it is not for us.

    With ``origin``, an event stamped with another account or region is ignored (and logged as suspicious).
    """
    if not isinstance(event, dict):
        raise MalformedEventError(f"an event must be a JSON object, got {type(event).__name__}")
    envelope = _validated(Envelope, event)
    kind = {"source": envelope.source, "detail_type": envelope.detail_type}
    if origin is not None and not origin.admits(envelope.account, envelope.region):
        fields = kind | {"account": envelope.account, "region": envelope.region}
        return Ignored("an event from another account or region", fields, suspicious=True)
    match envelope.source, envelope.detail_type:
        case "aws.cloudwatch", "CloudWatch Alarm State Change":
            return _alarm(_validated(AlarmStateChangeEvent, event), settings)
        case "aws.ecs", "ECS Service Action":
            return _service_action(_validated(ServiceActionEvent, event), settings)
        case "aws.ecs", "ECS Deployment State Change":
            return _deployment(_validated(DeploymentEvent, event), settings)
        case "aws.ecs", "ECS Task State Change":
            return _task(_validated(TaskStateEvent, event), settings)
        case "aws.events", "Scheduled Event":
            _validated(ScheduledEvent, event)
            return ReconcileTick()
        case source, detail_type if source == SOURCE:
            return _request(event, detail_type, settings)
    return Ignored("unknown event kind", kind)


def _alarm(event: AlarmStateChangeEvent, settings: Settings) -> Trigger | Ignored:
    name, value = event.detail.alarm_name, event.detail.state.value
    fields = {"alarm": name, "state": value}
    if name == settings.idle_alarm_name:
        return IdleAlarmed() if value == "ALARM" else Ignored("the idle alarm left ALARM", fields)
    if name == settings.wake_alarm_name:
        if value == "ALARM":
            # Re-read by the decision before it acts: this event may be old, or not CloudWatch's.
            return WakeRequested(origin=WakeOrigin.WAKE_ALARM, requested_by=name, sent_at=event.time)
        return Ignored("the wake alarm left ALARM", fields)
    return Ignored("another alarm", fields)


def _this_service(resources: list[str], settings: Settings) -> bool:
    return any(settings.is_this_service(arn) for arn in resources)


def _service_action(event: ServiceActionEvent, settings: Settings) -> Trigger | Ignored:
    name = event.detail.event_name
    if not _this_service(event.resources, settings):
        return Ignored("another service", {"resources": event.resources, "event_name": name})
    if name == "SERVICE_STEADY_STATE":
        return SteadyState()
    if name in _SERVICE_TROUBLE:
        kind, text = _SERVICE_TROUBLE[name]
        reason = f"{text}: {event.detail.reason}" if event.detail.reason else text
        return ServiceTrouble(kind, reason, at=event.time)
    return Ignored("a service action the controller does not act on", {"event_name": name})


def _deployment(event: DeploymentEvent, settings: Settings) -> Trigger | Ignored:
    detail = event.detail
    if not _this_service(event.resources, settings):
        return Ignored("another service", {"resources": event.resources, "event_name": detail.event_name})
    match detail.event_name:
        case "SERVICE_DEPLOYMENT_IN_PROGRESS":
            return DeploymentStarted(detail.deployment_id)
        case "SERVICE_DEPLOYMENT_COMPLETED":
            return DeploymentCompleted(detail.deployment_id)
        case "SERVICE_DEPLOYMENT_FAILED":
            reason = detail.reason or f"deployment {detail.deployment_id} failed"
            return DeploymentFailed(detail.deployment_id, reason)
    return Ignored("a deployment event the controller does not act on", {"event_name": detail.event_name})


def _task(event: TaskStateEvent, settings: Settings) -> Trigger | Ignored:
    detail = event.detail
    fields = {"task": detail.task_arn, "group": detail.group, "last_status": detail.last_status}
    if detail.group != f"service:{settings.service_name}" or not detail.cluster_arn.endswith(
        f":cluster/{settings.cluster_name}"
    ):
        return Ignored("a task of another service", fields)
    if detail.last_status == "RUNNING":
        # For the wake's timeline only (the template's rule sends RUNNING and STOPPED, nothing else).
        return TaskRunning(detail.task_arn, detail.started_at, detail.created_at)
    if detail.last_status != "STOPPED":
        return Ignored("a task that has not stopped", fields)
    reason = detail.stopped_reason or "the task stopped without a reason"
    if detail.stop_code:
        reason = f"{reason} ({detail.stop_code})"
    return TaskStopped(detail.task_arn, reason, detail.created_at)


def _request(event: dict[str, Any], detail_type: str, settings: Settings) -> Trigger | Ignored:  # noqa: PLR0911
    try:
        kind = DetailType(detail_type)
    except ValueError:
        return Ignored("unknown warmkeeper request", {"detail_type": detail_type})
    request = _validated(RequestEvent, event)
    detail = request.detail
    if detail.stack != settings.stack_name:
        return Ignored("a request for another stack", {"stack": detail.stack, "detail_type": detail_type})
    match kind:
        case DetailType.WAKE_REQUESTED:
            return WakeRequested(origin=WakeOrigin.REQUEST, requested_by=detail.requested_by, sent_at=request.time)
        case DetailType.SLEEP_REQUESTED:
            return SleepRequested(requested_by=detail.requested_by)
        case DetailType.PIN_REQUESTED:
            return PinRequested(until=detail.until, requested_by=detail.requested_by)
        case DetailType.UNPIN_REQUESTED:
            return UnpinRequested(requested_by=detail.requested_by)
        case DetailType.READINESS_CHECK:
            return ReadinessCheck()
