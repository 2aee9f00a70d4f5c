"""The controller's settings, read from the environment the template gives the function.

Read at first use, never at import, so a bad value fails the invocation with a message that names the
variable instead of failing the import with a stack trace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Environment variable -> field. Kept explicit so the error message can name the variable.
_ENV = {
    "STACK_NAME": "stack_name",
    "CLUSTER_NAME": "cluster_name",
    "SERVICE_NAME": "service_name",
    "STATE_PARAMETER_NAME": "state_parameter_name",
    "ROUTE_RULE_ARN": "route_rule_arn",
    "ECS_TARGET_GROUP_ARN": "ecs_target_group_arn",
    "WAKER_TARGET_GROUP_ARN": "waker_target_group_arn",
    "IDLE_ALARM_NAME": "idle_alarm_name",
    "WAKE_ALARM_NAME": "wake_alarm_name",
    "IDLE_MINUTES": "idle_minutes",
    "MIN_AWAKE_MINUTES": "min_awake_minutes",
    "WAKE_DEADLINE_MINUTES": "wake_deadline_minutes",
    "MAX_PIN_HOURS": "max_pin_hours",
    # Which front door the stack has (absent: alb, what every stack before FrontDoor had).
    "FRONT_DOOR": "front_door",
    "HTTP_API_ID": "http_api_id",
    "HTTP_API_ROUTE_ID": "http_api_route_id",
    "SERVICE_INTEGRATION_ID": "service_integration_id",
    "FACE_INTEGRATION_ID": "face_integration_id",
    "VPC_LINK_ID": "vpc_link_id",
    "CLOUD_MAP_SERVICE_ID": "cloud_map_service_id",
    "LINK_PROBE_URL": "link_probe_url",
}
_FIELD_TO_ENV = {field: env for env, field in _ENV.items()}
# The variables each front door needs; the others are empty (the template sets them to "") or absent.
_DOOR_ENV = {
    "alb": ("ROUTE_RULE_ARN", "ECS_TARGET_GROUP_ARN", "WAKER_TARGET_GROUP_ARN"),
    "http-api": (
        "HTTP_API_ID",
        "HTTP_API_ROUTE_ID",
        "SERVICE_INTEGRATION_ID",
        "FACE_INTEGRATION_ID",
        "VPC_LINK_ID",
        "CLOUD_MAP_SERVICE_ID",
        "LINK_PROBE_URL",
    ),
}
_OPTIONAL_ENV = {"FRONT_DOOR", *(env for names in _DOOR_ENV.values() for env in names)}
FrontDoorName = Literal["alb", "http-api"]
# API Gateway and Cloud Map identifiers: short lowercase alphanumerics (Cloud Map's start with "srv-").
_ID = r"^$|^[a-z0-9-]{1,64}$"


class SettingsError(RuntimeError):
    """The function's environment is missing a variable or holds a bad value."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stack_name: str = Field(min_length=1)
    cluster_name: str = Field(min_length=1)
    service_name: str = Field(min_length=1)
    state_parameter_name: str = Field(pattern=r"^/")
    front_door: FrontDoorName = "alb"
    # alb: the listener rule whose weighted forward the controller flips (its own, at RulePriority+2).
    route_rule_arn: str = Field(default="", pattern=r"^$|^arn:aws[a-z-]*:elasticloadbalancing:.+:listener-rule/")
    ecs_target_group_arn: str = Field(default="", pattern=r"^$|^arn:aws[a-z-]*:elasticloadbalancing:.+:targetgroup/")
    waker_target_group_arn: str = Field(default="", pattern=r"^$|^arn:aws[a-z-]*:elasticloadbalancing:.+:targetgroup/")
    # http-api: the $default route whose target the controller flips between the two integrations, the VPC
    # link it checks on a wake, the Cloud Map service whose HEALTHY instances are the healthy targets.
    http_api_id: str = Field(default="", pattern=_ID)
    http_api_route_id: str = Field(default="", pattern=_ID)
    service_integration_id: str = Field(default="", pattern=_ID)
    face_integration_id: str = Field(default="", pattern=_ID)
    vpc_link_id: str = Field(default="", pattern=_ID)
    cloud_map_service_id: str = Field(default="", pattern=_ID)
    link_probe_url: str = Field(default="", pattern=r"^$|^https?://[^\s]+$")
    idle_alarm_name: str = Field(min_length=1)
    wake_alarm_name: str = Field(min_length=1)
    idle_minutes: int = Field(ge=1, le=60)
    min_awake_minutes: int = Field(ge=0, le=240)
    wake_deadline_minutes: int = Field(ge=1, le=30)
    max_pin_hours: int = Field(ge=1, le=720)

    @model_validator(mode="after")
    def _front_door_complete(self) -> Settings:
        missing = [env for env in _DOOR_ENV[self.front_door] if not getattr(self, _ENV[env])]
        if missing:
            raise ValueError(f"front door {self.front_door} needs {', '.join(missing)}")
        if self.front_door == "http-api" and self.service_integration_id == self.face_integration_id:
            raise ValueError("SERVICE_INTEGRATION_ID and FACE_INTEGRATION_ID must differ")
        return self

    @property
    def min_awake(self) -> timedelta:
        return timedelta(minutes=self.min_awake_minutes)

    @property
    def wake_deadline(self) -> timedelta:
        return timedelta(minutes=self.wake_deadline_minutes)

    @property
    def max_pin(self) -> timedelta:
        return timedelta(hours=self.max_pin_hours)

    def is_this_service(self, service_arn: str) -> bool:
        """Whether an ECS service ARN (new format ``service/<cluster>/<name>``) is this stack's service."""
        return service_arn.endswith(f":service/{self.cluster_name}/{self.service_name}")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        door = environ.get("FRONT_DOOR", "").strip() or "alb"
        if door not in _DOOR_ENV:
            raise SettingsError(f"bad environment variable(s): FRONT_DOOR={door!r}: not one of alb, http-api")
        needed = [env for env in _ENV if env not in _OPTIONAL_ENV] + list(_DOOR_ENV[door])
        missing = sorted(env for env in needed if not environ.get(env, "").strip())
        if "ROUTE_RULE_ARN" in missing and environ.get("LISTENER_ARN", "").strip():
            raise SettingsError(
                "LISTENER_ARN is no longer read: the controller flips the weights of its own listener rule, "
                "named by ROUTE_RULE_ARN; deploy the current template.yaml"
            )
        if missing:
            raise SettingsError(f"missing environment variable(s): {', '.join(missing)}")
        given = {field: environ[env].strip() for env, field in _ENV.items() if environ.get(env, "").strip()}
        try:
            return cls.model_validate(given | {"front_door": door})
        except ValidationError as error:
            # A field's error names its variable and value; the front door check (no field) only its message.
            problems = "; ".join(
                f"{_FIELD_TO_ENV.get(str(e['loc'][0]), e['loc'][0])}={e['input']!r}: {e['msg']}"
                if e["loc"]
                else e["msg"].removeprefix("Value error, ")
                for e in error.errors()
            )
            raise SettingsError(f"bad environment variable(s): {problems}") from None


@cache
def get_settings() -> Settings:
    """The settings of this execution environment, loaded once."""
    return Settings.from_environ(os.environ)
