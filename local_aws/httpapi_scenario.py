"""The lifecycle of local_aws.scenario in the http-api front door mode: the same steps and expectations.

Requests go to the local HTTP API; "traffic on ECS" means the ``$default`` route targets the private
integration (VPC link to the Cloud Map service), "traffic on the waker" that it targets the HTTP face, and a
healthy target is a HEALTHY instance in Cloud Map (local_aws.httpapi_runtime). Only the first step reads
differently: the stack has no listener, it has an HTTP API.
"""

from __future__ import annotations

from dataclasses import dataclass

from local_aws.httpapi_runtime import HttpApiLocalAws
from local_aws.scenario import Scenario


@dataclass
class HttpApiScenario(Scenario):
    local: HttpApiLocalAws

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
            "the $default route starts on the HTTP face (no task is healthy yet)",
            observed.weights == {"ecs": 0, "waker": 1},
            observed.weights,
        )
        self.timeline.simulated(self.local.ecs.task_comes_up())
        observed = self.observe()
        self.expect("one HEALTHY instance in Cloud Map", observed.healthy_targets == 1, observed.healthy_targets)
        # The ALB mode's listener starts with the service's weight; here the controller must hand the route
        # over once a task is healthy, from the events ECS sends (not a reconcile minutes later).
        self.expect(
            "the controller routes $default to the service once a task is HEALTHY (the ECS events above)",
            observed.weights == {"ecs": 1, "waker": 0},
            f"$default still on the HTTP face: {observed.weights}",
        )
        self.expect_awake(observed)
