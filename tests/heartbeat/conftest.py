"""Fixtures of the HTTP-face tests: a moto account shaped like the template, events from events/heartbeat/,
a Lambda context, the EMF and log lines the handler printed, and a count of the AWS calls it made."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from moto import mock_aws

from tests.samlocal import docker_guard, moto_bridge_endpoint, moto_bridge_server, sam_local  # noqa: F401

# Before the handler module is imported anywhere: no X-Ray daemon here.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "warmkeeper")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Warmkeeper")

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "heartbeat"
# The token the fixtures under events/heartbeat/ present (see events/heartbeat/README.md).
FIXTURE_TOKEN = "Wk0fixture0token0not0a0secret0AbCdEfGhIjKlMnOpQr"
STACK = "warmkeeper"
SECRET_NAME = f"warmkeeper/{STACK}/heartbeat-token"
STATE_PARAMETER = f"/warmkeeper/{STACK}/state"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


@dataclass
class FakeContext:
    """Shaped like the Lambda context Powertools reads."""

    function_name: str = "warmkeeper-heartbeat"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:warmkeeper-heartbeat"
    aws_request_id: str = "7d3a5e3c-0a3b-4f5e-9f0e-2f5a2b9c1d11"
    function_version: str = "$LATEST"
    log_group_name: str = "/warmkeeper/warmkeeper/heartbeat"
    log_stream_name: str = "2026/11/22/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass
class Account:
    """The moto account: names and ARNs a stack built from template.yaml has, and handles to inspect it."""

    queue_url: str
    target_group_arn: str
    env: dict[str, str]
    token: str = FIXTURE_TOKEN
    received: list[dict[str, Any]] = field(default_factory=list)

    def wake_events(self) -> list[dict[str, Any]]:
        """Events the rule delivered to the queue since the last call (EventBridge really sent them)."""
        sqs = boto3.client("sqs")
        while True:
            answer = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = answer.get("Messages", [])
            if not messages:
                break
            for message in messages:
                self.received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        events, self.received = self.received, []
        return events

    def set_state(self, document: dict[str, Any]) -> None:
        boto3.client("ssm").put_parameter(
            Name=STATE_PARAMETER, Value=json.dumps(document), Type="String", Overwrite=True
        )

    def set_desired(self, count: int) -> None:
        boto3.client("ecs").update_service(cluster=STACK, service=STACK, desiredCount=count)

    def register_target(self) -> None:
        boto3.client("elbv2").register_targets(
            TargetGroupArn=self.target_group_arn, Targets=[{"Id": "10.0.1.25", "Port": 80}]
        )


def _build_account() -> Account:
    secrets = boto3.client("secretsmanager")
    secret_arn = secrets.create_secret(Name=SECRET_NAME, SecretString=FIXTURE_TOKEN)["ARN"]
    boto3.client("ssm").put_parameter(Name=STATE_PARAMETER, Value="{}", Type="String")

    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    elbv2 = boto3.client("elbv2")
    target_group_arn = elbv2.create_target_group(
        Name="warmkeeper-ecs", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]

    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName=STACK)
    ecs.register_task_definition(
        family=STACK,
        containerDefinitions=[{"name": "caddy", "image": "caddy:2.10-alpine", "memory": 128}],
    )
    ecs.create_service(cluster=STACK, serviceName=STACK, taskDefinition=STACK, desiredCount=0)

    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="warmkeeper-requests")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events")
    events.put_rule(
        Name="warmkeeper-requests",
        EventPattern=json.dumps({"source": ["warmkeeper"], "detail": {"stack": [STACK]}}),
    )
    events.put_targets(Rule="warmkeeper-requests", Targets=[{"Id": "queue", "Arn": queue_arn}])

    env = {
        "STACK_NAME": STACK,
        "CLUSTER_NAME": STACK,
        "SERVICE_NAME": STACK,
        "STATE_PARAMETER_NAME": STATE_PARAMETER,
        "ECS_TARGET_GROUP_ARN": target_group_arn,
        "TOKEN_SECRET_ARN": secret_arn,
        "EVENT_BUS_NAME": "default",
        "SERVICE_DISPLAY_NAME": "City Guided",
        "HEALTH_CHECK_PATH": "/api/health",
        "NON_VISITOR_USER_AGENTS": "ELB-HealthChecker,UptimeRobot,Pingdom,bot,crawler,spider",
        "WAKE_DEADLINE_MINUTES": "10",
        "AWS_ENDPOINT_URL": "",
    }
    return Account(queue_url=queue_url, target_group_arn=target_group_arn, env=env)


def reset_handler_state() -> None:
    """A fresh execution environment: settings, clients, caches and metrics forgotten."""
    # Imported late, so the Powertools settings above are in the environment first.
    from heartbeat import observability, wake  # noqa: PLC0415
    from heartbeat.adapters import aws  # noqa: PLC0415
    from heartbeat.settings import get_settings  # noqa: PLC0415

    get_settings.cache_clear()
    aws.reset_caches()
    wake.forget_last_sent()
    observability.metrics.clear_metrics()


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with mock_aws():
        built = _build_account()
        for name, value in built.env.items():
            monkeypatch.setenv(name, value)
        reset_handler_state()
        yield built
        reset_handler_state()


@dataclass
class Invocation:
    response: dict[str, Any]
    lines: list[dict[str, Any]]

    @property
    def status(self) -> int:
        return int(self.response["statusCode"])

    @property
    def body(self) -> str:
        return str(self.response.get("body", ""))

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """A response header from either shape (multi-value events get multiValueHeaders back)."""
        for key, values in (self.response.get("multiValueHeaders") or {}).items():
            if key.lower() == name.lower():
                return str(values[-1])
        for key, value in (self.response.get("headers") or {}).items():
            if key.lower() == name.lower():
                return str(value)
        return None

    def metrics(self) -> dict[str, float]:
        """Metric name -> value summed over the EMF blobs printed by this invocation."""
        totals: dict[str, float] = {}
        for line in self.lines:
            if "_aws" not in line:
                continue
            for directive in line["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    value = line[metric["Name"]]
                    values = value if isinstance(value, list) else [value]
                    totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(values)
        return totals

    def logs(self, level: str | None = None) -> list[dict[str, Any]]:
        return [line for line in self.lines if "level" in line and (level is None or line["level"] == level)]


@dataclass
class CallCounter:
    calls: list[str] = field(default_factory=list)

    def take(self) -> list[str]:
        taken, self.calls = self.calls, []
        return taken


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> CallCounter:
    """Every AWS API call (service:operation) made through botocore, moto or not; SQS is left out because
    only the tests read the queue (the handler has no SQS client)."""
    counter = CallCounter()
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        service = self.meta.service_model.service_name
        if service != "sqs":
            counter.calls.append(f"{service}:{operation_name}")
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return counter


@pytest.fixture
def invoke(capsys: pytest.CaptureFixture[str]) -> Callable[[dict[str, Any]], Invocation]:
    from heartbeat.handler import lambda_handler  # noqa: PLC0415 - see reset_handler_state

    def run(event: dict[str, Any]) -> Invocation:
        capsys.readouterr()
        response = lambda_handler(event, FakeContext())
        out = capsys.readouterr().out
        lines = []
        for raw in out.splitlines():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
        return Invocation(response=response, lines=lines)

    return run


def ensure_debian_tool(command: str) -> str:
    """The path of a Debian tool the tests drive, installing it with the project's script when missing."""
    import shutil  # noqa: PLC0415 - only the Caddy and browser tests need it
    import subprocess  # noqa: PLC0415

    found = shutil.which(command)
    if found is None:
        installer = ROOT / "scripts" / "install-debian-tools.sh"
        result = subprocess.run([str(installer)], capture_output=True, text=True, check=False, timeout=900)  # noqa: S603
        found = shutil.which(command)
        if found is None:
            pytest.fail(f"{command} is missing and {installer} could not install it:\n{result.stdout}{result.stderr}")
    return found
