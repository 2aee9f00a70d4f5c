"""The HTTP face's settings, read from the environment the template gives the function.

Read at first use, never at import, so a bad value fails the invocation with a message that names the
variable instead of breaking the module import.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

_DEFAULT_NON_VISITOR_USER_AGENTS = ("ELB-HealthChecker", "UptimeRobot", "Pingdom", "bot", "crawler", "spider")
# The Caddy keepalive route and its script: tab keepalives must never wake a sleeping service.
_DEFAULT_NON_VISITOR_PATHS = ("/robots.txt", "/favicon.ico", "/_keepalive", "/_keepalive.js")


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


CommaList = Annotated[tuple[str, ...], BeforeValidator(_split_list)]


class SettingsError(RuntimeError):
    """The environment does not hold valid settings; the message names each bad variable."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    stack_name: str = Field(min_length=1)
    cluster_name: str = Field(min_length=1)
    service_name: str = Field(min_length=1)
    state_parameter_name: str = Field(min_length=1)
    # Where healthy targets are counted (the page's progress): the ALB target group, or with the http-api
    # front door the Cloud Map service ECS registers the tasks in. One of the two is required.
    ecs_target_group_arn: str = Field(default="", pattern=r"^$|^arn:aws[\w-]*:elasticloadbalancing:")
    cloud_map_service_id: str = Field(default="", pattern=r"^$|^[a-z0-9-]{1,64}$")
    token_secret_arn: str = Field(min_length=1)
    event_bus_name: str = Field(default="default", min_length=1)
    service_display_name: str = Field(default="", max_length=200)
    health_check_path: str = Field(default="/api/health", pattern=r"^/")
    non_visitor_user_agents: CommaList = _DEFAULT_NON_VISITOR_USER_AGENTS
    non_visitor_paths: CommaList = _DEFAULT_NON_VISITOR_PATHS
    wake_deadline_minutes: int = Field(default=5, ge=1, le=30)  # the template's WakeDeadlineMinutes

    @model_validator(mode="after")
    def _health_source(self) -> Settings:
        if not (self.ecs_target_group_arn or self.cloud_map_service_id):
            raise ValueError("ECS_TARGET_GROUP_ARN or CLOUD_MAP_SERVICE_ID is required")
        return self

    @property
    def display_name(self) -> str:
        return self.service_display_name or self.stack_name


# Environment variable for each field; an empty value counts as unset so the template can pass ''.
_ENV = {name: name.upper() for name in Settings.model_fields}


def settings_from_env(environ: dict[str, str] | os._Environ[str]) -> Settings:
    values = {field: environ[var] for field, var in _ENV.items() if environ.get(var, "").strip()}
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{_ENV.get(str(issue['loc'][0]), issue['loc'][0]) if issue['loc'] else 'settings'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise SettingsError(f"heartbeat function settings are invalid: {problems}") from error


@cache
def get_settings() -> Settings:
    """The settings, validated once per execution environment."""
    return settings_from_env(os.environ)
