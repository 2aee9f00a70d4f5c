"""The lifecycle of local_aws.scenario in the http-api front door mode: the same steps and expectations.

Requests go to the local HTTP API; "traffic on ECS" means the ``$default`` route targets the private
integration (VPC link to the Cloud Map service), "traffic on the waker" that it targets the HTTP face, and a
healthy target is a HEALTHY instance in Cloud Map (local_aws.httpapi_runtime). The first step reads
differently (the stack has no listener, it has an HTTP API), and one step is added for this mode's own limit:
a VPC link unused for 60 days is INACTIVE, and a sleeping service must still wake through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from local_aws.httpapi import VPC_LINK_PROVISIONING
from local_aws.httpapi_runtime import HttpApiLocalAws
from local_aws.scenario import API_CLIENT, BROWSER, Scenario


@dataclass
class HttpApiScenario(Scenario):
    local: HttpApiLocalAws

    def __post_init__(self) -> None:
        super().__post_init__()
        # This mode's own limit, played where the service is asleep: after the deploy, before the failed wake.
        after = next(i for i, (_, step) in enumerate(self.steps) if step == self.deploy_while_asleep) + 1
        self.steps.insert(
            after,
            ("two months asleep: the VPC link is INACTIVE when a visitor comes", self.inactive_link_wake),
        )

    def _link_status(self) -> str:
        link = self.local.vpc_link_id
        status: str = self.local.stack.endpoint.client("apigatewayv2").get_vpc_link(VpcLinkId=link)["VpcLinkStatus"]
        return status

    def inactive_link_wake(self) -> None:
        link = self.local.vpc_link_id
        self.timeline.simulated(self.local.httpapi.link_goes_inactive(link))
        page = self.request("GET / (browser)", "GET", "/", BROWSER)
        self.expect("the waiting page from the waker", page.served_by == "waker" and "<html" in page.body, page.status)
        observed = self.observe()
        if observed.desired_count == 0:
            # The function's 30 s local grace since its last wake request (a real-clock rule): the backstop.
            self.timeline.note("no wake event this time (the function's 30 s local grace): the wake alarm takes over")
            self.minutes(1, "waiting for the wake backstop alarm")
            observed = self.observe()
        self.expect("desiredCount 1", observed.desired_count == 1, observed.desired_count)
        self.timeline.simulated(self.local.ecs.task_comes_up())
        observed = self.observe()
        status = self._link_status()
        self.timeline.note(f"VPC link {link}: {status}")
        self.expect(
            "the controller's probe reached the INACTIVE link, now PENDING (provisioned again)",
            status == "PENDING",
            status,
        )
        self.expect(
            "traffic stays on the waker while the link is not AVAILABLE, healthy task or not",
            observed.weights == {"ecs": 0, "waker": 1},
            observed.weights,
        )
        # One minute more than the provisioning: the link's state changes on the clock's minute ticks, and the
        # probe went out when the task turned healthy, part-way through a minute.
        minutes = int(VPC_LINK_PROVISIONING.total_seconds() // 60) + 1
        for _ in range(minutes):
            poll = self.local.front_door.request("GET", "/_warmkeeper/status", API_CLIENT)
            self.timeline.http("GET /_warmkeeper/status (the waiting page polls)", poll)
            self.minutes(1, "the VPC link is provisioned again")
        status = self._link_status()
        self.timeline.note(f"VPC link {link}: {status}")
        observed = self.observe()
        self.expect("the VPC link AVAILABLE again", status == "AVAILABLE", status)
        self.expect_awake(observed)
        response = self.request("GET / (the waiting page reloads)", "GET", "/", BROWSER)
        self.expect("the application answers", response.served_by == "ecs" and response.status == 200, response)
        # Asleep again for the next step: past the minimum awake time, by the idle alarm or the next reconcile.
        minimum = int(self.local.stack.parameters.get("MinAwakeMinutes", "10"))
        reconcile = int(self.local.stack.parameters.get("ReconcileMinutes", "1"))
        self.local.clock.advance_until(
            lambda: self.local.observe().desired_count == 0,
            timedelta(minutes=max(self.idle_minutes, minimum) + reconcile + 1),
            "no requests",
        )
        observed = self.observe()
        self.expect_asleep(observed)
        self.timeline.simulated(self.local.ecs.tasks_stop_for_scale_in())
        self.expect_asleep(self.observe())

    def created(self) -> None:
        stack = self.local.stack
        gateway = stack.endpoint.client("apigatewayv2")
        routes = sorted(r["RouteKey"] for r in gateway.get_routes(ApiId=self.local.api_id)["Items"])
        self.timeline.note(
            f"stack {stack.name}: {len(stack.physical_ids)} resources from {stack.template_path.name} "
            f"(HTTP API {self.local.api_id} with routes {', '.join(routes)}; alarms "
            f"{stack.outputs['IdleAlarmName']} and {stack.outputs['WakeAlarmName']})"
        )
        if stack.created_after_stack:
            self.timeline.note("created after the stack from its properties: " + ", ".join(stack.created_after_stack))
        if stack.not_modelled:
            self.timeline.note(f"not reproduced locally: {stack.not_modelled}")
        self.timeline.note(f"functions run {self.local.functions.mode}; parameters {stack.parameters}")
        observed = self.local.observe()
        self.expect(
            "a new service starts at desiredCount 1 (no DesiredCount in the template)",
            observed.desired_count == 1,
            observed.desired_count,
        )
        self.expect(
            "the $default route starts on the service, as the ALB front door's weights do",
            observed.weights == {"ecs": 1, "waker": 0},
            observed.weights,
        )
        self.timeline.simulated(self.local.ecs.task_comes_up())
        observed = self.observe()
        self.expect("one HEALTHY instance in Cloud Map", observed.healthy_targets == 1, observed.healthy_targets)
        self.expect(
            "$default stays on the service once a task is HEALTHY",
            observed.weights == {"ecs": 1, "waker": 0},
            f"$default on the HTTP face: {observed.weights}",
        )
        self.expect_awake(observed)
