"""The whole local AWS, assembled: endpoint, stack from template.yaml, functions, EventBridge, CloudWatch, ALB.

``LocalAws`` is a context manager; leaving it stops the endpoint it started, whatever happened inside.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from local_aws.alb import AlbEmulator, HttpResponse
from local_aws.clock import Clock
from local_aws.cloudwatch import AlarmEvaluator, Evaluation, publish_emf, publish_queue_depths
from local_aws.endpoint import DOCKER_BRIDGE_GATEWAY, LOOPBACK, LocalEndpoint
from local_aws.eventbus import Delivery, EventBus
from local_aws.functions import Functions, Invocation, functions_for
from local_aws.lambda_metrics import publish_invocation
from local_aws.logs import log_groups, publish_logs
from local_aws.readiness import ReadinessWatchEmulator
from local_aws.samstack import deploy_stack_with_sam, redeploy_with_sam
from local_aws.simulate import EcsSimulator, StandInApp
from local_aws.stack import STACK_NAME, TEMPLATE, LocalFunction, LocalStack, deploy


@dataclass
class _PublishingFunctions:
    """Turns each invocation's EMF output into metrics, as CloudWatch Logs does for Lambda's logs, and
    publishes Lambda's own invocation metrics."""

    inner: Functions
    endpoint: LocalEndpoint
    clock: Clock
    invocations: list[Invocation] = field(default_factory=list)
    # Function name -> its log group; each invocation's log lines go there, as Lambda sends them.
    log_groups: dict[str, str] = field(default_factory=dict)
    # Called after every invocation (the readiness watch looks for executions the controller started).
    after_invoke: list[Callable[[Invocation], None]] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return self.inner.mode

    def invoke(self, function: LocalFunction, event: Mapping[str, Any]) -> Invocation:
        invocation = self.inner.invoke(function, event)
        publish_invocation(self.endpoint, function.name, invocation, self.clock.now())
        publish_emf(self.endpoint, invocation.emf, self.clock.now())
        if function.name in self.log_groups:
            publish_logs(self.endpoint, self.log_groups[function.name], function, invocation.logs, self.clock.now())
        self.invocations.append(invocation)
        for hook in self.after_invoke:
            hook(invocation)
        return invocation

    def close(self) -> None:
        self.inner.close()


class FrontDoor(Protocol):
    """Where the scenario's requests arrive: the local ALB or the local HTTP API."""

    def request(
        self, method: str, path: str, headers: Mapping[str, str | list[str]] | None = None, body: str = ""
    ) -> HttpResponse: ...


@dataclass(frozen=True)
class Observed:
    """What the local endpoint says about the stack right now."""

    desired_count: int
    running_count: int
    weights: dict[str, int]
    alarms: dict[str, str]
    state: dict[str, Any]
    healthy_targets: int
    task_definition: str

    def line(self) -> str:
        weights = " ".join(f"{name}={weight}" for name, weight in self.weights.items())
        alarms = " ".join(f"{name}={value}" for name, value in self.alarms.items())
        state = json.dumps(self.state, separators=(",", ":")) if self.state else "{}"
        return (
            f"desired={self.desired_count} running={self.running_count} healthy={self.healthy_targets} | "
            f"weights {weights} | {alarms} | state {state}"
        )


@dataclass
class LocalAws:
    template_path: Path = TEMPLATE
    overrides: Mapping[str, str] = field(default_factory=dict)
    containers: bool = False
    clock: Clock = field(default_factory=Clock)
    on_delivery: Callable[[Delivery], None] | None = None
    on_alarm: Callable[[Evaluation], None] | None = None
    endpoint: LocalEndpoint | None = None
    stack_name: str = STACK_NAME
    # The VPC and subnets to deploy into (the user's, in attach mode); None: a new one.
    network: Mapping[str, Any] | None = None
    # The application behind the service's target group; None: a stand-in named from the stack.
    app: StandInApp | None = None
    # The first task's address in the simulated ECS (services sharing a subnet use different ranges).
    first_ip: int = 10
    # Create (and deploy) the stack as its users do, `sam build` + the real `sam deploy` (local_aws.samstack);
    # False: the in-process creation of local_aws.stack, seconds faster.
    with_sam: bool = False
    deleted: bool = field(default=False, init=False)
    _own_endpoint: bool = field(default=False, init=False)
    stack: LocalStack = field(init=False)
    functions: _PublishingFunctions = field(init=False)
    bus: EventBus = field(init=False)
    alb: AlbEmulator = field(init=False)
    ecs: EcsSimulator = field(init=False)
    alarms: AlarmEvaluator = field(init=False)
    readiness: ReadinessWatchEmulator = field(init=False)

    def __enter__(self) -> Self:
        if self.endpoint is None:
            # Containers reach the host at the Docker bridge gateway; nothing else needs more than loopback.
            self.endpoint = LocalEndpoint(host=DOCKER_BRIDGE_GATEWAY if self.containers else LOOPBACK).start()
            self._own_endpoint = True
            # moto's state belongs to the process: an earlier local AWS of this process must not show.
            self.endpoint.reset()
        try:
            self._assemble(self.endpoint)
        except BaseException:
            self._stop_endpoint()
            raise
        return self

    def _assemble(self, endpoint: LocalEndpoint) -> None:
        create = deploy_stack_with_sam if self.with_sam else deploy
        self.stack = create(
            endpoint,
            template_path=self.template_path,
            stack_name=self.stack_name,
            overrides=self.overrides,
            network=self.network,
        )
        self.functions = _PublishingFunctions(
            functions_for(self.stack, self.containers, now=self.clock.now),
            endpoint,
            self.clock,
            log_groups=log_groups(self.stack),
        )
        self.bus = EventBus(self.stack, self.functions, self.clock, self.on_delivery)
        self.bus.start()
        self.alarms = AlarmEvaluator(endpoint, self.stack.alarm_names())
        app = self.app
        if app is None:
            task_definition = self.describe_service()["taskDefinition"]
            health_path = EcsSimulator.health_path_of_task_definition(self.stack, task_definition) or "/"
            display = next(
                (
                    f.environment["SERVICE_DISPLAY_NAME"]
                    for f in self.stack.functions.values()
                    if "SERVICE_DISPLAY_NAME" in f.environment
                ),
                "the application",
            )
            app = self.app = StandInApp(health_path, display)
        self._front_door(app)
        self.ecs = EcsSimulator(self.stack, self.bus, self.clock, app, first_ip=self.first_ip)
        self.readiness = ReadinessWatchEmulator(self.stack, self.bus, self.clock)
        self.functions.after_invoke.append(self.readiness.discover)
        self.clock.on_minute(self._minute)

    def _front_door(self, app: StandInApp) -> None:
        """What user traffic arrives at; the http-api mode (local_aws.httpapi_runtime) has its own."""
        self.alb = AlbEmulator(self.stack, self.functions, self.clock, app, listener=self.stack.listener_arn)

    @property
    def front_door(self) -> FrontDoor:
        return self.alb

    def _minute(self, minute: datetime) -> None:
        queues = [self.stack.physical_ids[q] for q in self.stack.resources_of_type("AWS::SQS::Queue")]
        publish_queue_depths(self.stack.endpoint, queues, minute - timedelta(seconds=30))
        # CloudWatch evaluates first; its transitions reach the controller before the minute's schedule.
        for evaluation in self.alarms.evaluate_all(minute):
            if self.on_alarm is not None:
                self.on_alarm(evaluation)
        self.bus.settle()
        self.bus.fire_schedules(minute)
        self.bus.settle()

    def _stop_endpoint(self) -> None:
        if self._own_endpoint and self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if hasattr(self, "bus") and not self.deleted:
                self.bus.close()
            if hasattr(self, "functions"):
                self.functions.close()
        finally:
            if hasattr(self, "stack") and self.stack.sam is not None:
                self.stack.sam.close()
            self._stop_endpoint()

    # ------------------------------------------------------------------ observing

    def delete_stack(self) -> None:
        """CloudFormation DeleteStack; the stack's EventBridge taps and minute ticks end with it.

        Its functions stay loaded until the local AWS closes: execution environments of several stacks
        share this process's modules, and are given back in the reverse order they were made."""
        self.bus.close()
        self.readiness.close()
        self.clock.off_minute(self._minute)
        cloudformation = self.stack.endpoint.client("cloudformation")
        cloudformation.delete_stack(StackName=self.stack.name)
        remaining = [
            s["StackStatus"]
            for s in cloudformation.list_stacks()["StackSummaries"]
            if s["StackName"] == self.stack.name and s["StackStatus"] != "DELETE_COMPLETE"
        ]
        if remaining:
            raise RuntimeError(f"the stack {self.stack.name} could not be deleted: {remaining}")
        self.deleted = True

    def describe_service(self) -> dict[str, Any]:
        ecs = self.stack.endpoint.client("ecs")
        answer = ecs.describe_services(cluster=self.stack.cluster_name, services=[self.stack.service_name])
        service: dict[str, Any] = answer["services"][0]
        return service

    def traffic_actions(self) -> list[dict[str, Any]]:
        """The actions that decide where the service's traffic goes: the stack's own weighted rule, or the
        listener's default action for a template that switches that instead."""
        elbv2 = self.stack.endpoint.client("elbv2")
        rule = self.stack.traffic_rule_arn()
        if rule is not None:
            actions: list[dict[str, Any]] = elbv2.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"]
            return actions
        listener = elbv2.describe_listeners(ListenerArns=[self.stack.listener_arn])["Listeners"][0]
        default: list[dict[str, Any]] = listener["DefaultActions"]
        return default

    def observe(self) -> Observed:
        endpoint = self.stack.endpoint
        service = self.describe_service()
        elbv2 = endpoint.client("elbv2")
        names = {self.stack.service_target_group_arn: "ecs", self.stack.waker_target_group_arn: "waker"}
        weights = {}
        for action in self.traffic_actions():
            for group in action.get("ForwardConfig", {}).get("TargetGroups", []):
                weights[names.get(group["TargetGroupArn"], group["TargetGroupArn"])] = int(group.get("Weight", 1))
        alarm_names = [self.stack.outputs["IdleAlarmName"], self.stack.outputs["WakeAlarmName"]]
        alarms = {
            a["AlarmName"]: a["StateValue"]
            for a in endpoint.client("cloudwatch").describe_alarms(AlarmNames=alarm_names)["MetricAlarms"]
        }
        raw = endpoint.client("ssm").get_parameter(Name=self.stack.outputs["StateParameterName"])["Parameter"]["Value"]
        health = elbv2.describe_target_health(TargetGroupArn=self.stack.service_target_group_arn)
        healthy = sum(1 for d in health["TargetHealthDescriptions"] if d["TargetHealth"]["State"] == "healthy")
        return Observed(
            desired_count=int(service["desiredCount"]),
            running_count=int(service["runningCount"]),
            weights=weights,
            alarms=alarms,
            state=json.loads(raw) if raw.strip() else {},
            healthy_targets=healthy,
            task_definition=service["taskDefinition"].rsplit("/", 1)[1],
        )

    def heartbeat_token(self) -> str:
        secret = self.stack.endpoint.client("secretsmanager").get_secret_value(
            SecretId=self.stack.outputs["HeartbeatTokenSecretArn"]
        )
        return str(secret["SecretString"])

    def deploy(self, overrides: Mapping[str, str]) -> tuple[int, list[str]]:
        """A deploy with new parameter values (an image tag...), made the way the stack was made: a second
        ``warmkeeper deploy`` (the real ``sam deploy``), or UpdateStack. Returns the exit status and what to
        show of it."""
        if self.stack.sam is not None:
            return redeploy_with_sam(self.stack, overrides)
        try:
            self.update_stack(overrides)
        except Exception as error:  # the status and the reason go to the caller's expectation
            return 1, [f"CloudFormation UpdateStack failed: {error}"]
        changed = " ".join(f"{k}={v}" for k, v in overrides.items())
        return 0, [f"CloudFormation UpdateStack with {changed} (the same translated template)"]

    def update_stack(self, overrides: Mapping[str, str]) -> None:
        """A deploy: the same translated template with new parameter values, through CloudFormation."""
        parameters = {**self.stack.parameters, **overrides}
        cloudformation = self.stack.endpoint.client("cloudformation")
        cloudformation.update_stack(
            StackName=self.stack.name,
            TemplateBody=json.dumps(self.stack.translated),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        status = cloudformation.describe_stacks(StackName=self.stack.name)["Stacks"][0]["StackStatus"]
        if status != "UPDATE_COMPLETE":
            raise RuntimeError(f"the stack update ended in {status}")
        self.stack.parameters = parameters
