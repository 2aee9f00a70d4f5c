"""The simulated ECS registers its tasks in the service's Cloud Map service, and the local HTTP API follows.

The stack is the tiny http-api front door of test_http_api_bridges (created through the bridges), so
this holds whatever template.yaml's http-api mode looks like.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from local_aws.alb import HttpRequest, HttpResponse
from local_aws.clock import Clock
from local_aws.endpoint import LocalEndpoint
from local_aws.eventbus import EventBus
from local_aws.functions import Invocation
from local_aws.httpapi import HttpApiEmulator
from local_aws.simulate import EcsSimulator, StandInApp
from local_aws.stack import LocalFunction, LocalStack
from tests.local_aws.test_http_api_bridges import _front_door


@dataclass
class RecordingBus:
    """Stands in for the local EventBridge: keeps what ECS would send."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def put_service_event(self, source: str, detail_type: str, resources: list[str], detail: dict[str, Any]) -> str:
        self.events.append((detail_type, detail))
        return uuid.uuid4().hex

    def settle(self) -> None:
        """Nothing to deliver: these tests read what was put."""


class NoFunctions:
    mode = "none"

    def invoke(self, function: LocalFunction, event: Any) -> Invocation:
        raise AssertionError("no function is called in these tests")

    def close(self) -> None:
        pass


@dataclass
class Local:
    stack: LocalStack
    ecs: EcsSimulator
    door: HttpApiEmulator
    bus: RecordingBus
    cloud_map_service: str

    def health(self) -> dict[str, str]:
        answer = self.stack.endpoint.client("servicediscovery").get_instances_health_status(
            ServiceId=self.cloud_map_service
        )
        statuses: dict[str, str] = answer["Status"]
        return statuses


def _local(endpoint: LocalEndpoint, app: StandInApp) -> Local:
    name = "c" + uuid.uuid4().hex[:6]
    cloudformation = endpoint.client("cloudformation")
    template = _front_door(name, {"Fn::GetAtt": ["CloudMapService", "Arn"]})
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    resources = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    outputs = {"ClusterName": name, "ServiceName": name}
    stack = LocalStack(endpoint, name, Path("template.yaml"), {}, {}, physical, outputs, {}, {})
    clock = Clock(speed=0)
    bus = RecordingBus()
    ecs = EcsSimulator(stack, cast(EventBus, bus), clock, app)
    door = HttpApiEmulator(stack, NoFunctions(), clock, app, physical["Api"])
    return Local(stack, ecs, door, bus, physical["CloudMapService"])


@pytest.fixture
def local(endpoint: LocalEndpoint) -> Iterator[Local]:
    yield _local(endpoint, StandInApp("/health", "City Guided"))


def test_a_task_registers_unhealthy_turns_healthy_and_gets_the_traffic(endpoint: LocalEndpoint) -> None:
    seen_during_check: list[dict[str, str]] = []
    local: Local

    class CheckedApp(StandInApp):
        def __call__(self, request: HttpRequest) -> HttpResponse:
            if request.path == self.health_check_path:
                seen_during_check.append(local.health())
            return super().__call__(request)

    local = _local(endpoint, CheckedApp("/health", "City Guided"))
    before = local.door.request("GET", "/page")
    assert (before.status, before.served_by) == (503, "api")
    lines = local.ecs.task_comes_up()
    text = "\n".join(lines)
    assert "registered in Cloud Map service" in text
    assert "container health check of /health answered 200: HEALTHY" in text
    assert "target" not in text  # no load balancer, no target group
    # While its health check ran, the task was registered but not healthy: no traffic could reach it.
    assert [set(s.values()) for s in seen_during_check] == [{"UNHEALTHY"}]
    assert list(local.health().values()) == ["HEALTHY"]
    instance = local.stack.endpoint.client("servicediscovery").get_instance(
        ServiceId=local.cloud_map_service, InstanceId=next(iter(local.health()))
    )["Instance"]
    assert instance["Attributes"]["AWS_INSTANCE_IPV4"] == "10.42.1.10"
    assert instance["Attributes"]["ECS_SERVICE_NAME"] == local.stack.name
    after = local.door.request("GET", "/page")
    assert (after.status, after.served_by) == (200, "ecs")
    # ECS lists the task, RUNNING; the tiny template's container has no health check: health UNKNOWN.
    task_id = next(iter(local.health()))
    (task,) = local.stack.endpoint.client("ecs").describe_tasks(cluster=local.stack.name, tasks=[task_id])["tasks"]
    assert (task["lastStatus"], task["healthStatus"]) == ("RUNNING", "UNKNOWN")
    assert [kind for kind, _ in local.bus.events][:1] == ["ECS Task State Change"]


def test_scale_in_deregisters_the_task(local: Local) -> None:
    local.ecs.task_comes_up()
    local.stack.endpoint.client("ecs").update_service(
        cluster=local.stack.name, service=local.stack.name, desiredCount=0
    )
    task_arn = next(iter(local.ecs.tasks))
    lines = local.ecs.tasks_stop_for_scale_in()
    assert any("deregistered from Cloud Map service" in line for line in lines)
    (task,) = local.stack.endpoint.client("ecs").describe_tasks(cluster=local.stack.name, tasks=[task_arn])["tasks"]
    assert task["lastStatus"] == "STOPPED"
    assert task["stoppedReason"].startswith("Scaling activity initiated by")
    assert local.health() == {}
    assert local.door.request("GET", "/").status == 503


def test_a_task_failing_its_health_check_is_deregistered_and_stopped(endpoint: LocalEndpoint) -> None:
    class Broken(StandInApp):
        def __call__(self, request: HttpRequest) -> HttpResponse:
            return HttpResponse(500, {}, "broken", "ecs")

    local = _local(endpoint, Broken("/health"))
    lines = local.ecs.task_comes_up()
    assert "task STOPPED: Task failed container health checks" in lines
    assert local.health() == {}
    stopped = [detail for kind, detail in local.bus.events if detail.get("lastStatus") == "STOPPED"]
    assert stopped[0]["stoppedReason"] == "Task failed container health checks"
