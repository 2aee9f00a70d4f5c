"""Two Warmkeeper stacks attached to a user's own services behind one shared ALB listener, with expectations.

The user's infrastructure (:mod:`local_aws.user_infra`) is made first through the local AWS APIs: a load
balancer whose listener answers a fixed 404 by default, a rule of the user's own, a cluster, two services
and their target groups and host rules. Then two stacks are created from template.yaml in attach mode, one
per service (``HostNames`` a.example and b.example, different ``RulePriority``), each with its own
functions, EventBridge taps (an event reaches a stack's functions only when that stack's deployed patterns
match it), alarms and simulated ECS; one local ALB routes the shared listener for both.

The scenario (:class:`SharedAlbScenario`) shows traffic to both, A sleeping while B keeps serving, a visitor
of A waking A with B untouched (B's desired count, rule weights, alarms, record and deliveries compared
before and after), and A's stack deleted, leaving B working and the user's default action and rules as
they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from local_aws import user_infra
from local_aws.alb import AlbEmulator, HttpResponse, ordered_rules
from local_aws.clock import Clock
from local_aws.cloudwatch import Evaluation
from local_aws.endpoint import LOOPBACK, LocalEndpoint
from local_aws.eventbus import Delivery
from local_aws.runtime import LocalAws, Observed
from local_aws.scenario import API_CLIENT, BROWSER, Scenario, awake_and_ready
from local_aws.simulate import StandInApp
from local_aws.stack import TEMPLATE

# service name -> (host name, display name, first rule priority of its Warmkeeper stack)
SERVICES: dict[str, tuple[str, str, int]] = {
    "service-a": ("a.example", "Shop A", 10),
    "service-b": ("b.example", "Blog B", 20),
}


@dataclass
class SharedAlb:
    """The user's infrastructure and one attached Warmkeeper stack per service, on one local endpoint."""

    template_path: Path = TEMPLATE
    overrides: Mapping[str, str] = field(default_factory=dict)
    clock: Clock = field(default_factory=Clock)
    on_delivery: Callable[[Delivery], None] | None = None
    on_alarm: Callable[[Evaluation], None] | None = None
    endpoint: LocalEndpoint | None = None
    infra: user_infra.UserInfra = field(init=False)
    stacks: dict[str, LocalAws] = field(default_factory=dict, init=False)
    alb: AlbEmulator = field(init=False)
    _exit: ExitStack = field(default_factory=ExitStack, init=False)
    _own_endpoint: bool = field(default=False, init=False)

    def __enter__(self) -> Self:
        if self.endpoint is None:
            self.endpoint = LocalEndpoint(host=LOOPBACK).start()
            self._own_endpoint = True
        try:
            self.endpoint.reset()
            self._assemble(self.endpoint)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _assemble(self, endpoint: LocalEndpoint) -> None:
        self.infra = user_infra.create(
            endpoint, {name: (host, display) for name, (host, display, _) in SERVICES.items()}
        )
        for index, (name, (_, display, priority)) in enumerate(SERVICES.items()):
            parameters = {
                **self.overrides,
                **self.infra.attach_parameters(name, priority),
                "ServiceDisplayName": display,
            }
            self.stacks[name] = self._exit.enter_context(
                LocalAws(
                    template_path=self.template_path,
                    overrides=parameters,
                    clock=self.clock,
                    on_delivery=self.on_delivery,
                    on_alarm=self.on_alarm,
                    endpoint=endpoint,
                    stack_name=f"warmkeeper-{name.removeprefix('service-')}",
                    network=self.infra.network,
                    app=StandInApp(user_infra.HEALTH_CHECK_PATH, display),
                    first_ip=10 + 50 * index,
                )
            )
        first, *others = self.stacks.values()
        self.alb = AlbEmulator(
            first.stack,
            first.functions,
            self.clock,
            first.ecs.app,
            listener=self.infra.listener_arn,
            apps={local.stack.service_target_group_arn: local.ecs.app for local in self.stacks.values()},
            neighbours=[(local.stack, local.functions) for local in others],
            extra_names={service.target_group_arn: name for name, service in self.infra.services.items()},
        )
        for local in self.stacks.values():
            local.alb = self.alb

    def live(self) -> list[LocalAws]:
        return [local for local in self.stacks.values() if not local.deleted]

    def settle(self) -> None:
        """Every stack's bus delivers until none has anything pending (one stack's step may feed another's)."""
        for _ in range(20):
            if not sum(len(local.bus.settle()) for local in self.live()):
                return
        raise RuntimeError("the stacks kept delivering events to each other")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._exit.close()
        finally:
            if self._own_endpoint and self.endpoint is not None:
                self.endpoint.stop()
                self.endpoint = None


def _listener_picture(shared: SharedAlb) -> dict[str, Any]:
    """The user's part of the listener: its default action and the rules the user made, as AWS lists them."""
    elbv2 = shared.alb.stack.endpoint.client("elbv2")
    rules = elbv2.describe_rules(ListenerArn=shared.infra.listener_arn)["Rules"]
    users = {
        shared.infra.users_rule_arn,
        shared.infra.parked_rule_arn,
        *(s.users_rule_arn for s in shared.infra.services.values()),
    }
    return {
        "default": next(r["Actions"] for r in rules if r.get("IsDefault")),
        "users_rules": sorted(
            (json.dumps({k: r[k] for k in ("Priority", "Conditions", "Actions")}, sort_keys=True))
            for r in rules
            if r["RuleArn"] in users
        ),
    }


def _priorities(shared: SharedAlb) -> list[str]:
    elbv2 = shared.alb.stack.endpoint.client("elbv2")
    rules = elbv2.describe_rules(ListenerArn=shared.infra.listener_arn)["Rules"]
    return [r["Priority"] for r in ordered_rules(rules)]


@dataclass
class SharedAlbScenario(Scenario):
    """The shared-ALB story; ``local`` is service A's stack, ``shared.stacks`` holds both."""

    shared: SharedAlb = field(kw_only=True)
    _listener_at_start: dict[str, Any] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.steps = [
            ("the user's ALB, cluster and two services exist; two Warmkeeper stacks attach by host", self.attached),
            ("visitors use both sites", self.both_used),
            (f"nobody visits A for {self.idle_minutes} minutes while B keeps serving", self.a_sleeps),
            ("a browser visits A: A wakes, B is untouched", self.a_wakes),
            ("A's Warmkeeper stack is deleted", self.a_deleted),
        ]

    # ------------------------------------------------------------------ helpers

    @property
    def a(self) -> LocalAws:
        return self.shared.stacks["service-a"]

    @property
    def b(self) -> LocalAws:
        return self.shared.stacks["service-b"]

    @staticmethod
    def host(local: LocalAws) -> str:
        return local.stack.parameters["HostNames"]

    def observe_both(self) -> tuple[Observed, Observed]:
        self.shared.settle()
        a, b = self.a.observe(), self.b.observe()
        self.timeline.note(f"A: {a.line()}")
        self.timeline.note(f"B: {b.line()}")
        return a, b

    def observe(self) -> Observed:
        return self.observe_both()[0]

    def visit(self, label: str, local_or_host: LocalAws | str, path: str, headers: dict[str, str]) -> HttpResponse:
        host = local_or_host if isinstance(local_or_host, str) else self.host(local_or_host)
        response = self.shared.alb.request("GET", path, {**headers, "host": host})
        self.timeline.http(f"GET {host}{path} ({label})", response)
        self.shared.settle()
        return response

    def status_of(self, local: LocalAws, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for _ in range(6):
            response = self.shared.alb.request("GET", "/_warmkeeper/status", {**API_CLIENT, "host": self.host(local)})
            self.expect("the status endpoint answers 200 with JSON", response.status == 200, response.status)
            body = response.json()
            if wanted(body):
                break
            self.pause_real(1, "the status endpoint's cache")
        self.timeline.note(
            f"GET {self.host(local)}/_warmkeeper/status -> {body.get('state')} ready={body.get('ready')}"
        )
        return body

    def expect_served_by(self, response: HttpResponse, service: str) -> None:
        self.expect(f"200 from {service}", (response.status, response.served_by) == (200, service), response)

    # ------------------------------------------------------------------ the steps

    def attached(self) -> None:
        infra = self.shared.infra
        self.timeline.note(
            f"user's listener {infra.listener_arn.rsplit('/', 3)[-3]}: default fixed 404, own rule "
            f"{user_infra.USERS_RULE_PATH} at 1, {user_infra.PARKED_HOST} (no target) at "
            f"{user_infra.PARKED_RULE_PRIORITY}, host rules at "
            + ", ".join(f"{s.host} -> {s.name} at {s.users_rule_priority}" for s in infra.services.values())
        )
        for local in self.shared.stacks.values():
            stack = local.stack
            self.timeline.note(
                f"stack {stack.name}: attached to {stack.service_name} for {self.host(local)}, rule priorities "
                f"{stack.outputs.get('RulePriorities', '?')}; {len(stack.physical_ids)} resources"
            )
            self.expect(
                f"{stack.name} created no cluster, service, load balancer or listener",
                not stack.resources_of_type("AWS::ECS::Service")
                and not stack.resources_of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
                and not stack.resources_of_type("AWS::ElasticLoadBalancingV2::Listener"),
                sorted(stack.physical_ids),
            )
        self._listener_at_start = _listener_picture(self.shared)
        self.timeline.note("listener rule priorities: " + ", ".join(_priorities(self.shared)))
        for local in self.shared.stacks.values():
            self.timeline.simulated(local.ecs.task_comes_up())
        a, b = self.observe_both()
        self.expect_awake(a)
        self.expect_awake(b)

    def both_used(self) -> None:
        for minute in range(3):
            self.expect_served_by(self.visit("browser", self.a, f"/shop/{minute}", BROWSER), "service-a")
            self.expect_served_by(self.visit("browser", self.b, f"/post/{minute}", BROWSER), "service-b")
            self.minutes(1, "visitors on both sites")
        other = self.visit("browser", "c.example", "/", BROWSER)
        self.expect(
            "the user's default action answers another host",
            (other.status, other.served_by, other.body) == (404, "alb", user_infra.NOT_FOUND_BODY),
            other,
        )
        own = self.visit("load balancer check", "a.example", user_infra.USERS_RULE_PATH, API_CLIENT)
        self.expect(
            "the user's own rule still answers first", (own.status, own.body) == (200, user_infra.USERS_RULE_BODY), own
        )
        a, b = self.observe_both()
        for local, observed in ((self.a, a), (self.b, b)):
            idle = local.stack.outputs["IdleAlarmName"]
            self.expect(f"{idle} OK", observed.alarms[idle] == "OK", observed.alarms)
            self.expect_awake(observed)

    def a_sleeps(self) -> None:
        for _ in range(self.idle_minutes + 1):
            self.expect_served_by(self.visit("browser", self.b, "/post/latest", BROWSER), "service-b")
            self.minutes(1, "only B has visitors")
        a, b = self.observe_both()
        idle_a, idle_b = self.a.stack.outputs["IdleAlarmName"], self.b.stack.outputs["IdleAlarmName"]
        self.expect(f"{idle_a} ALARM", a.alarms[idle_a] == "ALARM", a.alarms)
        self.expect_asleep(a)
        self.expect(f"{idle_b} OK", b.alarms[idle_b] == "OK", b.alarms)
        self.expect_awake(b)
        self.timeline.simulated(self.a.ecs.tasks_stop_for_scale_in())
        a, b = self.observe_both()
        self.expect_asleep(a)
        self.expect_awake(b)
        self.expect_served_by(self.visit("browser", self.b, "/post/while-a-sleeps", BROWSER), "service-b")
        # Load-balancer-wide traffic nobody sent to A (other hosts, the user's own rule, the load balancer's
        # own 503s, which its metrics count for the whole load balancer) must not wake it.
        for path in ("/", "/wp-login.php"):
            self.visit("a crawler on another host", "c.example", path, BROWSER)
        self.visit("load balancer check", "a.example", user_infra.USERS_RULE_PATH, API_CLIENT)
        parked = self.visit("browser", user_infra.PARKED_HOST, "/", BROWSER)
        self.expect(
            "the load balancer's own 503 for the parked host", (parked.status, parked.served_by) == (503, "alb"), parked
        )
        self.minutes(1, "A asleep, other traffic on the load balancer")
        a, _ = self.observe_both()
        wake_a = self.a.stack.outputs["WakeAlarmName"]
        self.expect(f"{wake_a} not in ALARM", a.alarms[wake_a] != "ALARM", a.alarms)
        self.expect_asleep(a)

    def a_wakes(self) -> None:
        self.shared.settle()
        b_before = self.b.observe()
        b_deliveries = len(self.b.bus.deliveries)
        page = self.visit("browser", self.a, "/shop/cart", BROWSER)
        display = self.a.ecs.app.display_name
        self.expect(
            "A's waiting page (HTML naming A) from A's waker",
            page.served_by.endswith("waker") and "<html" in page.body and display in page.body,
            f"{page.status} from {page.served_by}: {page.body[:120]!r}",
        )
        a, b = self.observe_both()
        self.expect("A's desiredCount back to 1", a.desired_count == 1, a.desired_count)
        self.expect("B's desired count, weights, alarms and record unchanged", b == b_before, f"{b_before} -> {b}")
        self.expect(
            "no event delivered to B's functions",
            len(self.b.bus.deliveries) == b_deliveries,
            [d.event.get("detail-type") for d in self.b.bus.deliveries[b_deliveries:]],
        )
        status_b = self.status_of(self.b, awake_and_ready)
        self.expect("b.example's status says awake and ready", awake_and_ready(status_b), status_b)
        status_a = self.status_of(self.a, lambda s: s.get("state") == "waking")
        self.expect("a.example's status says waking", status_a.get("state") == "waking", status_a)
        self.timeline.simulated(self.a.ecs.task_comes_up())
        a, b = self.observe_both()
        self.expect_awake(a)
        self.expect("B still unchanged", b == b_before, f"{b_before} -> {b}")
        self.expect_served_by(self.visit("the waiting page reloads", self.a, "/shop/cart", BROWSER), "service-a")

    def a_deleted(self) -> None:
        a_rules = {self.a.stack.outputs["RouteRuleArn"], self.a.stack.outputs.get("WarmkeeperPathRuleArn", "")}
        a_waker = self.a.stack.waker_target_group_arn
        self.a.delete_stack()
        self.timeline.note(f"CloudFormation DeleteStack {self.a.stack.name}: DELETE_COMPLETE")
        self.timeline.note("listener rule priorities: " + ", ".join(_priorities(self.shared)))
        elbv2 = self.b.stack.endpoint.client("elbv2")
        left = {r["RuleArn"] for r in elbv2.describe_rules(ListenerArn=self.shared.infra.listener_arn)["Rules"]}
        self.expect("A's rules gone from the listener", not (a_rules & left), sorted(a_rules & left))
        groups = {g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]}
        self.expect("A's waker target group gone", a_waker not in groups, a_waker)
        picture = _listener_picture(self.shared)
        self.expect(
            "the user's default action and own rules exactly as before",
            picture == self._listener_at_start,
            f"{self._listener_at_start} -> {picture}",
        )
        self.expect_served_by(self.visit("browser", self.b, "/post/after", BROWSER), "service-b")
        # A's host falls back to the user's own rule, which forwards to A's service (still running).
        self.expect_served_by(self.visit("browser", self.a, "/shop/after", BROWSER), "service-a")
        self.minutes(1, "after the delete")
        b = self.b.observe()
        self.timeline.note(f"B: {b.line()}")
        self.expect_awake(b)
        status_b = self.status_of(self.b, awake_and_ready)
        self.expect("b.example's status says awake and ready", awake_and_ready(status_b), status_b)


__all__ = ["SERVICES", "SharedAlb", "SharedAlbScenario"]
