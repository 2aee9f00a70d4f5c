"""Every AWS call of the CLI, and the translation of AWS's errors into the CLI's.

boto3 reads ``AWS_ENDPOINT_URL`` itself, so every command works against a local endpoint unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from warmkeeper_cli.errors import CliError, Exit

_CREDENTIAL_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "AuthFailure",
}
# A CLI waits on purpose; botocore's own retries are enough for throttling, not for minutes of polling.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30)


@contextlib.contextmanager
def translated_errors(stack: str | None = None) -> Iterator[None]:
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise CliError(
            f"no AWS credentials ({error}); set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
            Exit.NO_CREDENTIALS,
        ) from error
    except NoRegionError as error:
        raise CliError("no AWS region: pass --region, --config-env, or set AWS_REGION", Exit.USAGE) from error
    except EndpointConnectionError as error:
        raise CliError(f"cannot reach AWS: {error}", Exit.AWS_ERROR) from error
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code in _CREDENTIAL_CODES:
            raise CliError(f"AWS refused the credentials: {code}: {message}", Exit.NO_CREDENTIALS) from error
        if code == "ValidationError" and "does not exist" in message:
            raise CliError(f"no stack {stack!r} in this account and region ({message})", Exit.UNKNOWN_STACK) from error
        operation = getattr(error, "operation_name", "an AWS call")
        raise CliError(f"{operation} failed: {code}: {message}", Exit.AWS_ERROR) from error
    except BotoCoreError as error:
        raise CliError(f"AWS call failed: {error}", Exit.AWS_ERROR) from error


@dataclass(frozen=True)
class StackDescription:
    name: str
    status: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    tags: dict[str, str]


@dataclass(frozen=True)
class LogEvent:
    timestamp: datetime
    message: str


class Aws:
    """boto3 clients of one region, created on first use."""

    def __init__(self, region: str | None = None) -> None:
        self._session = boto3.session.Session(region_name=region)
        self._clients: dict[str, Any] = {}

    @property
    def region(self) -> str | None:
        return self._session.region_name

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            with translated_errors():
                self._clients[service] = self._session.client(service, config=_CONFIG)  # type: ignore[call-overload]
        return self._clients[service]

    def stack(self, name: str) -> StackDescription:
        with translated_errors(name):
            stack = self._client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        return StackDescription(
            name=stack["StackName"],
            status=stack["StackStatus"],
            outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
            parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])},
            tags={t["Key"]: t["Value"] for t in stack.get("Tags", [])},
        )

    def stack_resources(self, name: str) -> dict[str, tuple[str, str]]:
        """Physical id and type by logical id."""
        with translated_errors(name):
            resources = self._client("cloudformation").describe_stack_resources(StackName=name)["StackResources"]
        return {
            r["LogicalResourceId"]: (r.get("PhysicalResourceId", ""), r.get("ResourceType", ""))
            for r in resources
            if "LogicalResourceId" in r
        }

    def service(self, cluster: str, service: str) -> dict[str, Any]:
        with translated_errors():
            answer = self._client("ecs").describe_services(cluster=cluster, services=[service])
        if not answer.get("services"):
            raise CliError(f"ECS has no service {service} in cluster {cluster}", Exit.AWS_ERROR)
        result: dict[str, Any] = answer["services"][0]
        return result

    def target_states(self, target_group_arn: str) -> list[str]:
        with translated_errors():
            answer = self._client("elbv2").describe_target_health(TargetGroupArn=target_group_arn)
        return [d["TargetHealth"]["State"] for d in answer["TargetHealthDescriptions"]]

    def instance_health(self, cloud_map_service_id: str) -> list[str]:
        """The health status (HEALTHY, UNHEALTHY, UNKNOWN) of each instance in a Cloud Map service."""
        states: list[str] = []
        with translated_errors():
            paginator = self._client("servicediscovery").get_paginator("get_instances_health_status")
            for page in paginator.paginate(ServiceId=cloud_map_service_id):
                states.extend(str(status) for status in page.get("Status", {}).values())
        return states

    def route_goes_to_service(self, api_id: str, route_id: str) -> bool:
        """Whether an HTTP API route's target is the private integration (the service through the VPC link)."""
        with translated_errors():
            client = self._client("apigatewayv2")
            target = str(client.get_route(ApiId=api_id, RouteId=route_id).get("Target", ""))
            if not target.startswith("integrations/"):
                return False
            integration = client.get_integration(ApiId=api_id, IntegrationId=target.removeprefix("integrations/"))
        return bool(integration.get("ConnectionType") == "VPC_LINK")

    def listener_actions(self, listener_arn: str) -> list[dict[str, Any]]:
        with translated_errors():
            listener = self._client("elbv2").describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
        actions: list[dict[str, Any]] = listener["DefaultActions"]
        return actions

    def rule_actions(self, rule_arn: str) -> list[dict[str, Any]]:
        with translated_errors():
            rule = self._client("elbv2").describe_rules(RuleArns=[rule_arn])["Rules"][0]
        actions: list[dict[str, Any]] = rule["Actions"]
        return actions

    def parameter(self, name: str) -> str:
        with translated_errors():
            value: str = self._client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        return value

    def alarm_states(self, names: list[str]) -> dict[str, str]:
        if not names:
            return {}
        with translated_errors():
            alarms = self._client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
        return {a["AlarmName"]: a["StateValue"] for a in alarms}

    def put_event(self, entry: Mapping[str, Any]) -> str:
        """PutEvents of one entry; a refused entry is a :class:`CliError` (``Exit.REFUSED``)."""
        try:
            with translated_errors():
                answer = self._client("events").put_events(Entries=[dict(entry)])
        except CliError as error:
            # Not allowed to put it (the deploy role's events:PutEvents is scoped by detail-type): refused too.
            if isinstance(error.__cause__, ClientError) and "AccessDenied" in str(error):
                raise CliError(
                    f"EventBridge refused the {entry['DetailType']!r} event: {error}", Exit.REFUSED
                ) from error
            raise
        result = answer["Entries"][0]
        if answer.get("FailedEntryCount", 0) or "ErrorCode" in result:
            raise CliError(
                f"EventBridge refused the {entry['DetailType']!r} event: "
                f"{result.get('ErrorCode', '?')}: {result.get('ErrorMessage', '')}".rstrip(": "),
                Exit.REFUSED,
            )
        return str(result.get("EventId", ""))

    def function_log_group(self, function_name: str) -> str | None:
        """The log group the function writes to, when Lambda says (its LoggingConfig)."""
        with translated_errors():
            configuration = self._client("lambda").get_function_configuration(FunctionName=function_name)
        group = configuration.get("LoggingConfig", {}).get("LogGroup")
        return str(group) if group else None

    def log_events(self, group: str, since: datetime, pattern: str) -> list[LogEvent]:
        events: list[LogEvent] = []
        arguments: dict[str, Any] = {
            "logGroupName": group,
            "startTime": int(since.timestamp() * 1000),
            "filterPattern": pattern,
        }
        with translated_errors():
            logs = self._client("logs")
            while True:
                answer = logs.filter_log_events(**arguments)
                events.extend(
                    LogEvent(datetime.fromtimestamp(e["timestamp"] / 1000).astimezone(), e["message"])
                    for e in answer.get("events", [])
                )
                token = answer.get("nextToken")
                if not token or token == arguments.get("nextToken"):
                    break
                arguments["nextToken"] = token
        return sorted(events, key=lambda e: e.timestamp)
