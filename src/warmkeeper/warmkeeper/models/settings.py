"""The controller's settings, read from the environment the template gives the function.

Read at first use, never at import, so a bad value fails the invocation with a message that names the
variable instead of failing the import with a stack trace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
}
# Optional: empty or absent turns the feature off (an older template, or a test without it).
_OPTIONAL_ENV = {"READINESS_STATE_MACHINE_ARN": "readiness_state_machine_arn"}
_FIELD_TO_ENV = {field: env for env, field in (_ENV | _OPTIONAL_ENV).items()}


class SettingsError(RuntimeError):
    """The function's environment is missing a variable or holds a bad value."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stack_name: str = Field(min_length=1)
    cluster_name: str = Field(min_length=1)
    service_name: str = Field(min_length=1)
    state_parameter_name: str = Field(pattern=r"^/")
    # The listener rule whose weighted forward the controller flips (its own, at RulePriority+2).
    route_rule_arn: str = Field(pattern=r"^arn:aws[a-z-]*:elasticloadbalancing:.+:listener-rule/")
    ecs_target_group_arn: str = Field(pattern=r"^arn:aws[a-z-]*:elasticloadbalancing:.+:targetgroup/")
    waker_target_group_arn: str = Field(pattern=r"^arn:aws[a-z-]*:elasticloadbalancing:.+:targetgroup/")
    idle_alarm_name: str = Field(min_length=1)
    wake_alarm_name: str = Field(min_length=1)
    idle_minutes: int = Field(ge=1, le=60)
    min_awake_minutes: int = Field(ge=0, le=240)
    wake_deadline_minutes: int = Field(ge=1, le=30)
    max_pin_hours: int = Field(ge=1, le=720)
    # The readiness watch started on each wake (docs/controller.md, "Readiness"); None: no watch.
    readiness_state_machine_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:states:.+:stateMachine:")

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
        missing = sorted(env for env in _ENV if not environ.get(env, "").strip())
        if "ROUTE_RULE_ARN" in missing and environ.get("LISTENER_ARN", "").strip():
            raise SettingsError(
                "LISTENER_ARN is no longer read: the controller flips the weights of its own listener rule, "
                "named by ROUTE_RULE_ARN; deploy the current template.yaml"
            )
        if missing:
            raise SettingsError(f"missing environment variable(s): {', '.join(missing)}")
        try:
            values = {field: environ[env].strip() for env, field in _ENV.items()}
            values |= {
                field: environ[env].strip() for env, field in _OPTIONAL_ENV.items() if environ.get(env, "").strip()
            }
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{_FIELD_TO_ENV.get(str(e['loc'][0]), e['loc'][0])}={e['input']!r}: {e['msg']}" for e in error.errors()
            )
            raise SettingsError(f"bad environment variable(s): {problems}") from None


@cache
def get_settings() -> Settings:
    """The settings of this execution environment, loaded once."""
    return Settings.from_environ(os.environ)
