"""What the local endpoint cannot do by itself, done explicitly: tasks that start, pass health checks, stop.

moto's ECS runs no containers, and its service reports no task change on its own. Every change here is one
a real service would show, made visibly (each method returns a line for the timeline, and the scenario
prints it marked as simulated), and followed by the events ECS would send. Nothing here changes what the
controller decides or reads differently from AWS: it reads the same APIs, which now say what AWS would.

The stand-in application plays the task's Caddy: it answers the ALB health check on the path the task
definition gives Caddy (``HEALTH_CHECK_PATH``), and serves pages for everything else.
"""

from __future__ import annotations

import importlib
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from local_aws import cloud_map, ecs_tasks
from local_aws.alb import HttpRequest, HttpResponse
from local_aws.clock import Clock
from local_aws.endpoint import ACCOUNT_ID
from local_aws.eventbus import EventBus
from local_aws.latency import MODEL, LatencyModel
from local_aws.stack import LocalStack, StackError

ecs_models: Any = importlib.import_module("moto.ecs.models")

# Seconds between container health checks (template.yaml's caddy HealthCheck, used without a load balancer).
CONTAINER_HEALTH_CHECK_INTERVAL = 5

# ECS creates a task some time after it accepted UpdateService; the scenario clock moves on by this much
# first, so the task's createdAt is later than the wake the functions stamped (they read the same clock).
TASK_PLACEMENT = timedelta(seconds=1)

# When the simulated service sends SERVICE_STEADY_STATE after a task comes up. AWS documents the event as
# periodic and it has been seen before the load balancer's health checks passed (aws/amazon-ecs-agent#2143)
# and not at all with several target groups (aws/containers-roadmap#582): the controller must not need it.
#   on-time: right after the target is healthy (what the local stack always did);
#   early:   when the task is RUNNING, before its target is registered and healthy (delivered at once);
#   late:    ``steady_state_delay`` after the target is healthy (a timer on the scenario clock);
#   never:   not at all.
SteadyStateTiming = Literal["on-time", "early", "late", "never"]
STEADY_STATE_TIMINGS: tuple[SteadyStateTiming, ...] = ("on-time", "early", "late", "never")


def _ms(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _matcher(codes: str) -> set[int]:
    allowed: set[int] = set()
    for part in codes.split(","):
        low, _, high = part.strip().partition("-")
        allowed.update(range(int(low), int(high or low) + 1))
    return allowed


@dataclass
class StandInApp:
    """The application behind Caddy, as far as the ALB can tell."""

    health_check_path: str
    display_name: str = "the application"
    requests: list[HttpRequest] = field(default_factory=list)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        if request.path == self.health_check_path:
            return HttpResponse(200, {"content-type": ["application/json"]}, '{"status":"ok"}', "ecs")
        if request.path.startswith("/api/"):
            return HttpResponse(404, {"content-type": ["application/json"]}, '{"error":"not found"}', "ecs")
        body = f"<!doctype html><title>{self.display_name}</title><p>{self.display_name}: {request.path}</p>"
        return HttpResponse(200, {"content-type": ["text/html"]}, body, "ecs")


@dataclass(frozen=True)
class TaskTiming:
    """Where a simulated task's times come from: the latency model and a seeded random source."""

    model: LatencyModel = MODEL
    rng: random.Random = field(default_factory=lambda: random.Random(9))  # noqa: S311 - repeatable on purpose


@dataclass
class TaskStart:
    """A task start scheduled on the clock, filled in as it happens (scenario times)."""

    requested_at: datetime
    running_at: datetime | None = None
    healthy_at: datetime | None = None
    steady_state_at: datetime | None = None
    stopped: bool = False
    lines: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.healthy_at is not None or self.stopped


@dataclass
class EcsSimulator:
    stack: LocalStack
    bus: EventBus
    clock: Clock
    app: StandInApp
    tasks: dict[str, str] = field(default_factory=dict)  # task ARN -> IP registered in the target group
    # The first task's address; services sharing a subnet start at different ones.
    first_ip: int = 10
    # How long a task takes to start (local_aws/latency.py); None: tasks come up at once.
    timing: TaskTiming | None = None
    steady_state: SteadyStateTiming = "on-time"
    # "late" without timing; with timing, the latency model draws it.
    steady_state_delay: timedelta = timedelta(seconds=60)
    _next_ip: int = field(default=0, init=False)
    _starting: dict[str, str] = field(default_factory=dict, init=False)  # task ARN -> IP, before health

    def __post_init__(self) -> None:
        self._next_ip = self.first_ip

    # ------------------------------------------------------------------ reading the local stack

    @property
    def cluster(self) -> str:
        # The template's outputs (or, in attach mode, its parameters) name what the scenario acts on.
        return self.stack.cluster_name

    @property
    def service_arn(self) -> str:
        name = self.stack.service_name
        return f"arn:aws:ecs:{self.stack.endpoint.region}:{ACCOUNT_ID}:service/{self.cluster}/{name}"

    @property
    def cluster_arn(self) -> str:
        return f"arn:aws:ecs:{self.stack.endpoint.region}:{ACCOUNT_ID}:cluster/{self.cluster}"

    @property
    def target_group(self) -> str:
        return self.stack.service_target_group_arn

    @property
    def has_target_group(self) -> bool:
        """Whether the service sits behind a load balancer (the http-api front door has none)."""
        try:
            return bool(self.target_group)
        except StackError:
            return False

    def _service(self) -> Any:
        backend = ecs_models.ecs_backends[ACCOUNT_ID][self.stack.endpoint.region]
        name = self.service_arn.rsplit("/", 1)[1]
        return backend.services[f"{self.cluster}:{name}"]

    def describe(self) -> dict[str, Any]:
        answer = self.stack.endpoint.client("ecs").describe_services(cluster=self.cluster, services=[self.service_arn])
        service: dict[str, Any] = answer["services"][0]
        return service

    @staticmethod
    def health_path_of_task_definition(stack: LocalStack, task_definition: str) -> str | None:
        definition = stack.endpoint.client("ecs").describe_task_definition(taskDefinition=task_definition)
        for container in definition["taskDefinition"]["containerDefinitions"]:
            for variable in container.get("environment", []):
                if variable["name"] == "HEALTH_CHECK_PATH":
                    return str(variable["value"])
        return None

    # ------------------------------------------------------------------ events ECS would send

    def _task_event(self, task_arn: str, last_status: str, extra: dict[str, Any]) -> None:
        service = self._service()
        deployment = service.deployments[0]["id"] if service.deployments else "ecs-svc/local"
        detail = {
            "clusterArn": self.cluster_arn,
            "taskArn": task_arn,
            "taskDefinitionArn": service.task_definition,
            "group": f"service:{service.name}",
            "startedBy": deployment,
            "launchType": "FARGATE",
            "lastStatus": last_status,
            "desiredStatus": "STOPPED" if last_status == "STOPPED" else "RUNNING",
            "createdAt": _ms(self.clock.now()),
            "updatedAt": _ms(self.clock.now()),
            "version": 1,
            **extra,
        }
        self.bus.put_service_event("aws.ecs", "ECS Task State Change", [task_arn], detail)

    def _service_action(self, event_name: str, event_type: str = "INFO", reason: str | None = None) -> None:
        detail: dict[str, Any] = {
            "eventType": event_type,
            "eventName": event_name,
            "clusterArn": self.cluster_arn,
            "createdAt": _ms(self.clock.now()),
        }
        if reason:
            detail["reason"] = reason
        self.bus.put_service_event("aws.ecs", "ECS Service Action", [self.service_arn], detail)

    def _deployment_event(self, event_name: str, deployment_id: str, reason: str) -> None:
        detail = {
            "eventType": "ERROR" if event_name.endswith("FAILED") else "INFO",
            "eventName": event_name,
            "deploymentId": deployment_id,
            "updatedAt": _ms(self.clock.now()),
            "reason": reason,
        }
        self.bus.put_service_event("aws.ecs", "ECS Deployment State Change", [self.service_arn], detail)

    # ------------------------------------------------------------------ what a service does

    def _set_counts(self, running: int) -> None:
        service = self._service()
        service.running_count = running
        service.pending_count = max(0, service.desired_count - running)
        for deployment in service.deployments:
            deployment["runningCount"] = running
            deployment["pendingCount"] = service.pending_count
            deployment["desiredCount"] = service.desired_count

    def _health_checks(self) -> tuple[bool, str]:
        group = self.stack.endpoint.client("elbv2").describe_target_groups(TargetGroupArns=[self.target_group])[
            "TargetGroups"
        ][0]
        path = group.get("HealthCheckPath", "/")
        allowed = _matcher(group.get("Matcher", {}).get("HttpCode", "200"))
        threshold = int(group.get("HealthyThresholdCount", 5))
        statuses = [
            self.app(HttpRequest("GET", path, {"user-agent": ["ELB-HealthChecker/2.0"]})).status
            for _ in range(threshold)
        ]
        passed = all(status in allowed for status in statuses)
        return (
            passed,
            f"{threshold} health checks of {path} answered {statuses} (healthy: {min(allowed)}-{max(allowed)})",
        )

    def _container_health_check(self) -> tuple[bool, str]:
        """Without a load balancer, ECS knows a task's health from its container health check; the stand-in
        plays the check's request to the application's health path."""
        status = self.app(HttpRequest("GET", self.app.health_check_path, {"user-agent": ["curl/8.5.0"]})).status
        healthy = 200 <= status < 400
        state = "HEALTHY" if healthy else "UNHEALTHY"
        return healthy, f"container health check of {self.app.health_check_path} answered {status}: {state}"

    def task_comes_up(self, steady_state: SteadyStateTiming | None = None) -> list[str]:
        """A task of the service starts, passes the ALB health checks and the deployment settles;
        ``SERVICE_STEADY_STATE`` as ``steady_state`` (default :attr:`steady_state`) says.

        Without :attr:`timing` all at once; with it, the task takes the times drawn from the latency model
        and the clock moves on (running its minute ticks) until the target is healthy."""
        variant = steady_state or self.steady_state
        if self.timing is not None:
            start = self.start_task(variant)
            self.clock.advance_until(lambda: start.done, timedelta(minutes=15), "the task starts")
            if variant == "on-time":
                self.clock.advance_until(
                    lambda: start.stopped or start.steady_state_at is not None, timedelta(minutes=1), "steady state"
                )
            return start.lines
        if self._service().desired_count >= 1:
            # With timing, the drawn task start includes the placement.
            self.clock.advance(TASK_PLACEMENT, "ECS places the task")
        task_arn, lines = self._task_running()
        # Delivered before the health checks end, as in AWS, where they take seconds after RUNNING.
        self.bus.settle()
        if variant == "early":
            self._service_action("SERVICE_STEADY_STATE")
            self.bus.settle()  # delivered now: before the target exists, as in amazon-ecs-agent#2143
            lines.append("service reported a steady state EARLY (SERVICE_STEADY_STATE before the target is healthy)")
        if not self._task_healthy(task_arn, lines):
            return lines
        match variant:
            case "on-time":
                lines.append(self._steady_state())
            case "late":
                self.clock.call_at(self.clock.now() + self.steady_state_delay, self._late_steady_state)
                lines.append(
                    f"SERVICE_STEADY_STATE will come LATE, {self.steady_state_delay.total_seconds():g} s from now"
                )
            case "never":
                lines.append("SERVICE_STEADY_STATE will NEVER come for this task")
            case "early":
                pass
        return lines

    def start_task(
        self, steady_state: SteadyStateTiming | None = None, on_change: Callable[[], None] | None = None
    ) -> TaskStart:
        """Schedules on the clock a task of the service starting with times drawn from :attr:`timing`:
        RUNNING after a Fargate task start, healthy at the first ALB health check (at the target group's
        interval) after the application answers, then ``SERVICE_STEADY_STATE`` as ``steady_state`` says
        (on-time, early: at RUNNING, before health; late; never). ``on_change`` is called after each step (it
        put events on the bus). Returns the record it fills in."""
        if self.timing is None:
            raise RuntimeError("start_task needs the simulator's timing (a latency model and a random source)")
        steady_state = steady_state or self.steady_state
        if steady_state not in STEADY_STATE_TIMINGS:
            raise ValueError(f"steady_state must be one of {STEADY_STATE_TIMINGS}, not {steady_state!r}")
        if self._service().desired_count < 1:
            raise RuntimeError("no task can come up: the service's desiredCount is 0")
        model, rng = self.timing.model, self.timing.rng
        start = TaskStart(requested_at=self.clock.now())
        start_seconds = model.fargate_task_start.draw(rng)
        boot_seconds = model.application_boot.draw(rng)
        interval = self._health_check_interval()
        # ECS registers the target while the task activates; the ALB checks it every interval from then on,
        # and a newly registered target is healthy after one passing check.
        phase = rng.uniform(0, interval)
        checks = max(0, math.ceil((boot_seconds - phase) / interval))
        healthy_after = phase + checks * interval + model.health_check_response.draw(rng)
        steady_after = {
            "on-time": healthy_after + model.steady_state_on_time.draw(rng),
            "late": healthy_after + model.steady_state_late.draw(rng),
            "early": 0.0,
        }.get(steady_state)

        def running() -> None:
            task_arn, lines = self._task_running()
            start.running_at = self.clock.now()
            start.lines.extend(f"{self._stamp()} {line}" for line in lines)
            self.clock.after(healthy_after, lambda: healthy(task_arn))
            if steady_after is not None:
                self.clock.after(steady_after, steady)
            changed()

        def healthy(task_arn: str) -> None:
            lines: list[str] = []
            if self._task_healthy(task_arn, lines):
                start.healthy_at = self.clock.now()
            else:
                start.stopped = True
            start.lines.extend(f"{self._stamp()} {line}" for line in lines)
            changed()

        def steady() -> None:
            if start.stopped:
                return
            start.steady_state_at = self.clock.now()
            start.lines.append(f"{self._stamp()} {self._steady_state()}")
            changed()

        def changed() -> None:
            if on_change is not None:
                on_change()

        self.clock.after(start_seconds, running)
        return start

    def _stamp(self) -> str:
        seconds = self.clock.elapsed().total_seconds()
        return f"[+{int(seconds // 60):02d}:{seconds % 60:04.1f}]"

    def _health_check_interval(self) -> int:
        if not self.has_target_group:
            # The container health check's interval in template.yaml (the http-api front door).
            return CONTAINER_HEALTH_CHECK_INTERVAL
        group = self.stack.endpoint.client("elbv2").describe_target_groups(TargetGroupArns=[self.target_group])[
            "TargetGroups"
        ][0]
        return int(group.get("HealthCheckIntervalSeconds", 30))

    def _task_running(self) -> tuple[str, list[str]]:
        service = self._service()
        if service.desired_count < 1:
            raise RuntimeError("no task can come up: the service's desiredCount is 0")
        task_arn = f"arn:aws:ecs:{self.stack.endpoint.region}:{ACCOUNT_ID}:task/{self.cluster}/{uuid.uuid4().hex}"
        ip = f"10.42.1.{self._next_ip}"
        self._next_ip += 1
        self._starting[task_arn] = ip
        self._set_counts(service.desired_count)
        self._task_event(task_arn, "RUNNING", {"startedAt": _ms(self.clock.now())})
        lines = [f"task {task_arn.rsplit('/', 1)[1][:8]} RUNNING at {ip}"]
        ecs_tasks.start(self, task_arn, service.deployments[0]["id"] if service.deployments else "ecs-svc/local")
        lines.extend(cloud_map.register(self, task_arn, ip))
        return task_arn, lines

    def _task_healthy(self, task_arn: str, lines: list[str]) -> bool:
        """The task's health checks: its target registered and healthy, or the task stopped."""
        service = self._service()
        ip = self._starting.pop(task_arn)
        healthy, checks = self._health_checks() if self.has_target_group else self._container_health_check()
        lines.append(checks)
        if not healthy:
            lines.extend(cloud_map.deregister(self, task_arn))
            reason = (
                f"Task failed ELB health checks in (target-group {self.target_group})"
                if self.has_target_group
                else "Task failed container health checks"
            )
            self._set_counts(0)
            ecs_tasks.stop(self, task_arn, reason)
            self._task_event(task_arn, "STOPPED", {"stoppedReason": reason, "stopCode": "ServiceSchedulerInitiated"})
            lines.append(f"task STOPPED: {reason}")
            return False
        if self.has_target_group:
            self.stack.endpoint.client("elbv2").register_targets(
                TargetGroupArn=self.target_group, Targets=[{"Id": ip, "Port": 80}]
            )
            lines.append(f"target {ip} registered and healthy in the ECS target group")
        self.tasks[task_arn] = ip
        ecs_tasks.passed_health_check(self, task_arn)
        lines.extend(cloud_map.report_healthy(self, task_arn))
        for deployment in service.deployments:
            if deployment.get("rolloutState") == "IN_PROGRESS":
                deployment["rolloutState"] = "COMPLETED"
                deployment["rolloutStateReason"] = f"ECS deployment {deployment['id']} completed."
                self._deployment_event("SERVICE_DEPLOYMENT_COMPLETED", deployment["id"], "ECS deployment completed.")
                lines.append(f"deployment {deployment['id']} COMPLETED")
        return True

    def _steady_state(self) -> str:
        self._service_action("SERVICE_STEADY_STATE")
        return "service reached a steady state (SERVICE_STEADY_STATE)"

    def _late_steady_state(self, _at: datetime) -> None:
        self._service_action("SERVICE_STEADY_STATE")
        self.bus.settle()

    def tasks_stop_for_scale_in(self) -> list[str]:
        """After desiredCount 0: targets deregistered, tasks stopped by the scheduler."""
        service = self._service()
        if service.desired_count != 0:
            raise RuntimeError(f"tasks stop for scale-in only at desiredCount 0, not {service.desired_count}")
        lines = []
        deployment = service.deployments[0]["id"] if service.deployments else "ecs-svc/local"
        for task_arn, ip in list(self.tasks.items()):
            if self.has_target_group:
                self.stack.endpoint.client("elbv2").deregister_targets(
                    TargetGroupArn=self.target_group, Targets=[{"Id": ip, "Port": 80}]
                )
            lines.extend(cloud_map.deregister(self, task_arn))
            ecs_tasks.stop(self, task_arn, f"Scaling activity initiated by (deployment {deployment})")
            self._task_event(
                task_arn,
                "STOPPED",
                {
                    "stoppedReason": f"Scaling activity initiated by (deployment {deployment})",
                    "stopCode": "ServiceSchedulerInitiated",
                },
            )
            del self.tasks[task_arn]
            stopped = f"task {task_arn.rsplit('/', 1)[1][:8]} STOPPED (scale-in)"
            lines.append(f"target {ip} deregistered, {stopped}" if self.has_target_group else stopped)
        self._set_counts(0)
        self._service_action("SERVICE_STEADY_STATE")
        lines.append("service reached a steady state at 0 tasks")
        return lines

    def task_fails_to_start(self, reason: str) -> list[str]:
        """A task of the service stops before it runs (an image that cannot be pulled, say)."""
        self.clock.advance(TASK_PLACEMENT, "ECS places the task")
        task_arn = f"arn:aws:ecs:{self.stack.endpoint.region}:{ACCOUNT_ID}:task/{self.cluster}/{uuid.uuid4().hex}"
        self._set_counts(0)
        self._task_event(
            task_arn,
            "STOPPED",
            {"stoppedReason": reason, "stopCode": "TaskFailedToStart", "stoppingAt": _ms(self.clock.now())},
        )
        return [f"task {task_arn.rsplit('/', 1)[1][:8]} STOPPED before running: {reason}"]

    def deployment_rolls_out(self) -> list[str]:
        """After a stack update changed the task definition: the new deployment runs and ends."""
        service = self._service()
        deployment_id = f"ecs-svc/{uuid.uuid4().int % 10**19}"
        previous = service.deployments[0] if service.deployments else {}
        service.deployments = [
            {
                **previous,
                "id": deployment_id,
                "status": "PRIMARY",
                "taskDefinition": service.task_definition,
                "desiredCount": service.desired_count,
                "rolloutState": "IN_PROGRESS",
                "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
                "createdAt": self.clock.now(),
                "updatedAt": self.clock.now(),
            }
        ]
        self._deployment_event("SERVICE_DEPLOYMENT_IN_PROGRESS", deployment_id, "ECS deployment in progress.")
        lines = [f"deployment {deployment_id} of {service.task_definition.rsplit('/', 1)[1]} IN_PROGRESS"]
        if service.desired_count == 0:
            # Nothing to start: ECS completes a deployment of a service at zero tasks at once.
            service.deployments[0]["rolloutState"] = "COMPLETED"
            self._deployment_event("SERVICE_DEPLOYMENT_COMPLETED", deployment_id, "ECS deployment completed.")
            lines.append(f"deployment {deployment_id} COMPLETED with 0 tasks (the service stays at 0)")
        return lines
