"""A small Application Load Balancer in front of the local stack: what the listener says, request by request.

Every request reads the listener's rules and weights from the local endpoint (so the controller's
ModifyRule calls take effect on the next request) and picks an action the way the ALB does: the rules in
priority order, the first whose conditions all match (host-header and path-pattern with ``*`` and ``?``,
hosts case-insensitive, paths case-sensitive; http-request-method), else the default action. A forward
action chooses among its target groups by weight; a fixed-response action is the ALB's own answer. Then:

- a Lambda target group: the registered function gets an ALB event (multi-value headers when the target
  group's ``lambda.multi_value_headers.enabled`` attribute is on) and its answer becomes the response;
- an ip target group: the request goes to the stand-in application when a target is registered (the
  ALB fails open when none is healthy), or the ALB itself answers 503 when no target is registered.

One listener may carry several stacks' rules and the user's own target groups (attach mode, a shared
ALB): each ip target group can have its own stand-in application (``apps``), and the functions of every
stack on the listener are reachable (``neighbours``).

Like the ALB, it publishes ``RequestCount`` (per load balancer and per target group),
``HTTPCode_ELB_503_Count``, ``HTTPCode_ELB_502_Count`` and ``HTTP_Fixed_Response_Count`` to the local
CloudWatch, stamped with the scenario clock.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from local_aws.clock import Clock
from local_aws.functions import Functions, Invocation
from local_aws.stack import LocalFunction, LocalStack, StackError


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: dict[str, list[str]] = field(default_factory=dict)
    query: str = ""
    body: str = ""

    def header(self, name: str) -> str | None:
        for key, values in self.headers.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, list[str]]
    body: str
    # Which target group answered ("ecs", "waker", ...) or "alb" for the load balancer's own answer.
    served_by: str
    invocation: Invocation | None = None

    def header(self, name: str) -> str | None:
        for key, values in self.headers.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None

    def json(self) -> Any:
        return json.loads(self.body)


App = Callable[[HttpRequest], HttpResponse]


def _condition_matches(condition: dict[str, Any], request: HttpRequest) -> bool:
    field_name = condition["Field"]
    if field_name == "path-pattern":
        patterns = condition.get("PathPatternConfig", {}).get("Values") or condition.get("Values", [])
        # ALB path patterns: * and ? wildcards, case sensitive.
        return any(fnmatch.fnmatchcase(request.path, pattern) for pattern in patterns)
    if field_name == "host-header":
        patterns = condition.get("HostHeaderConfig", {}).get("Values") or condition.get("Values", [])
        host = (request.header("host") or "").lower()
        return any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in patterns)
    if field_name == "http-header":
        # ALB header conditions: the name is case insensitive, values are * and ? patterns, case insensitive.
        config = condition.get("HttpHeaderConfig", {})
        value = (request.header(config.get("HttpHeaderName", "")) or "").lower()
        return any(fnmatch.fnmatchcase(value, pattern.lower()) for pattern in config.get("Values", []))
    if field_name == "http-request-method":
        return request.method in condition.get("HttpRequestMethodConfig", {}).get("Values", [])
    raise ValueError(f"the local ALB does not evaluate {field_name} rule conditions")


def ordered_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The listener's rules in the order the ALB evaluates them: by priority, the default rule last."""
    numbered = sorted((r for r in rules if not r.get("IsDefault")), key=lambda r: int(r["Priority"]))
    return numbered + [r for r in rules if r.get("IsDefault")]


def matching_rule(rules: list[dict[str, Any]], request: HttpRequest) -> dict[str, Any] | None:
    """The first rule (by priority) whose conditions all hold for ``request``; the default rule has none."""
    for rule in ordered_rules(rules):
        if all(_condition_matches(c, request) for c in rule.get("Conditions", [])):
            return rule
    return None


@dataclass
class AlbEmulator:
    stack: LocalStack
    functions: Functions
    clock: Clock
    app: App
    # The listener user traffic arrives on; None: the stack's own ListenerArn output.
    listener: str | None = None
    # ip target group ARN -> the application behind it; the others get ``app``.
    apps: dict[str, App] = field(default_factory=dict)
    # Other stacks on the same listener, with what runs their functions.
    neighbours: list[tuple[LocalStack, Functions]] = field(default_factory=list)
    # Names for target groups no stack's logical id names (the user's own).
    extra_names: dict[str, str] = field(default_factory=dict)
    _round_robin: int = field(default=0, init=False)

    @property
    def listener_arn(self) -> str:
        if self.listener is not None:
            return self.listener
        # The template's own output names the listener user traffic arrives on (HTTP or HTTPS).
        return self.stack.outputs["ListenerArn"]

    @property
    def load_balancer_full_name(self) -> str:
        listener = self.stack.endpoint.client("elbv2").describe_listeners(ListenerArns=[self.listener_arn])
        return str(listener["Listeners"][0]["LoadBalancerArn"].split(":loadbalancer/", 1)[1])

    def _names(self) -> dict[str, str]:
        """Target group ARN -> the logical id's short name ("ecs" for EcsTargetGroup...), prefixed with the
        stack's name when several stacks share the listener; the user's own target groups by ``extra_names``."""
        stacks = [self.stack, *(stack for stack, _ in self.neighbours)]
        names: dict[str, str] = {}
        for stack in stacks:
            prefix = f"{stack.name}:" if len(stacks) > 1 else ""
            for logical_id in stack.resources_of_type("AWS::ElasticLoadBalancingV2::TargetGroup"):
                names[stack.physical_ids[logical_id]] = prefix + logical_id.removesuffix("TargetGroup").lower()
        return {**names, **self.extra_names}

    def _choose(self, actions: list[dict[str, Any]]) -> str | None:
        for action in actions:
            if action.get("Type") != "forward":
                continue
            groups = action.get("ForwardConfig", {}).get("TargetGroups") or [
                {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}
            ]
            weighted = [(g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups if int(g.get("Weight", 1)) > 0]
            if not weighted:
                return None
            # Deterministic weighted rotation stands in for the ALB's random choice.
            total = sum(weight for _, weight in weighted)
            slot = self._round_robin % total
            self._round_robin += 1
            for arn, weight in weighted:
                if slot < weight:
                    return str(arn)
                slot -= weight
        return None

    def _actions(self, request: HttpRequest) -> list[dict[str, Any]]:
        """The actions of the rule that takes ``request``, read from the local endpoint now."""
        rules = self.stack.endpoint.client("elbv2").describe_rules(ListenerArn=self.listener_arn)["Rules"]
        rule = matching_rule(rules, request)
        if rule is None:
            raise ValueError(f"listener {self.listener_arn} has no default rule")
        return sorted(rule["Actions"], key=lambda a: int(a.get("Order", 1)))

    def route(self, request: HttpRequest) -> str | None:
        """The target group the listener sends ``request`` to (None: no forward with weight)."""
        return self._choose(self._actions(request))

    def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str | list[str]] | None = None,
        body: str = "",
    ) -> HttpResponse:
        path, _, query = path.partition("?")
        normalized = {k.lower(): ([v] if isinstance(v, str) else list(v)) for k, v in (headers or {}).items()}
        normalized.setdefault("host", [self.stack.outputs.get("LoadBalancerDnsName", "localhost")])
        request = HttpRequest(method.upper(), path, normalized, query, body)
        actions = self._actions(request)
        fixed = next((a for a in actions if a.get("Type") == "fixed-response"), None)
        if fixed is not None and not any(a.get("Type") == "forward" for a in actions):
            return self._fixed_response(fixed["FixedResponseConfig"])
        target_group = self._choose(actions)
        names = self._names()
        if target_group is None:
            return self._elb_answer(503, "no target group with weight")
        elbv2 = self.stack.endpoint.client("elbv2")
        group = elbv2.describe_target_groups(TargetGroupArns=[target_group])["TargetGroups"][0]
        targets = elbv2.describe_target_health(TargetGroupArn=target_group)["TargetHealthDescriptions"]
        if not targets:
            return self._elb_answer(503, f"target group {names.get(target_group)} has no registered target")
        self._count("RequestCount", target_group)
        name = names.get(target_group, target_group)
        if group["TargetType"] == "lambda":
            return self._invoke_lambda(targets[0]["Target"]["Id"], target_group, request, name)
        response = self.apps.get(target_group, self.app)(request)
        return HttpResponse(response.status, response.headers, response.body, name)

    def _fixed_response(self, config: dict[str, Any]) -> HttpResponse:
        self._count("HTTP_Fixed_Response_Count", None)
        content_type = config.get("ContentType", "text/plain")
        body = config.get("MessageBody", "")
        return HttpResponse(int(config["StatusCode"]), {"content-type": [content_type]}, body, "alb")

    def _function(self, function_arn: str) -> tuple[LocalFunction, Functions]:
        """The function behind a Lambda target, in whichever stack on the listener holds it."""
        for stack, functions in [(self.stack, self.functions), *self.neighbours]:
            try:
                return stack.function_by_arn(function_arn), functions
            except StackError:
                continue
        raise StackError(f"no stack on listener {self.listener_arn} has the function {function_arn}")

    def _invoke_lambda(self, function_arn: str, target_group: str, request: HttpRequest, name: str) -> HttpResponse:
        attributes = self.stack.endpoint.client("elbv2").describe_target_group_attributes(TargetGroupArn=target_group)[
            "Attributes"
        ]
        multi = any(a["Key"] == "lambda.multi_value_headers.enabled" and a["Value"] == "true" for a in attributes)
        pairs = parse_qsl(request.query, keep_blank_values=True)
        event: dict[str, Any] = {
            "requestContext": {"elb": {"targetGroupArn": target_group}},
            "httpMethod": request.method,
            "path": request.path,
            "body": request.body,
            "isBase64Encoded": False,
        }
        forwarded = {
            **request.headers,
            "x-forwarded-for": ["127.0.0.1"],
            "x-forwarded-proto": ["http"],
            "x-forwarded-port": ["80"],
        }
        if multi:
            queries: dict[str, list[str]] = {}
            for key, value in pairs:
                queries.setdefault(key, []).append(value)
            event["multiValueHeaders"] = forwarded
            event["multiValueQueryStringParameters"] = queries
        else:
            event["headers"] = {k: v[-1] for k, v in forwarded.items()}
            event["queryStringParameters"] = dict(pairs)
        function, functions = self._function(function_arn)
        invocation = functions.invoke(function, event)
        if invocation.error is not None or not isinstance(invocation.payload, dict):
            # The ALB answers 502 when the function fails or returns something it cannot read.
            self._count("HTTPCode_ELB_502_Count", None)
            return HttpResponse(502, {}, "502 Bad Gateway", name, invocation)
        payload = invocation.payload
        if multi:
            headers = {k: list(v) for k, v in (payload.get("multiValueHeaders") or {}).items()}
        else:
            headers = {k: [v] for k, v in (payload.get("headers") or {}).items()}
        return HttpResponse(int(payload.get("statusCode", 502)), headers, payload.get("body") or "", name, invocation)

    def _elb_answer(self, status: int, why: str) -> HttpResponse:
        """The load balancer's own answer; ``why`` goes into the body, as the ALB says nothing useful."""
        if status == 503:
            self._count("HTTPCode_ELB_503_Count", None)
        body = f"{status} Service Temporarily Unavailable ({why})"
        return HttpResponse(status, {"content-type": ["text/html"]}, body, "alb")

    def _count(self, metric: str, target_group: str | None) -> None:
        data = [{"Name": "LoadBalancer", "Value": self.load_balancer_full_name}]
        entries = [data]
        if target_group is not None:
            entries.append([*data, {"Name": "TargetGroup", "Value": target_group.split(":", 5)[5]}])
        self.stack.endpoint.client("cloudwatch").put_metric_data(
            Namespace="AWS/ApplicationELB",
            MetricData=[
                {"MetricName": metric, "Dimensions": dims, "Timestamp": self.clock.now(), "Value": 1.0, "Unit": "Count"}
                for dims in entries
            ],
        )
