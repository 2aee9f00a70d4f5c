"""Monthly cost of Warmkeeper per deployment mode, computed from what template.yaml creates in that mode.

Each mode is the template with its conditions applied for the mode's parameter values (as CloudFormation
applies them); the table counts what that leaves (load balancer, public IPv4 addresses, alarms and their
metrics, secrets, dashboard, the reconcile schedule, the task size) and prices it with us-east-1 prices.
Where a price is an assumption, the row says so.

Run it with `python -m bench cost`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
HOURS_PER_MONTH = 730

# us-east-1 list prices (third-party copies of AWS's price lists).
ALB_PER_HOUR = 0.0225
PUBLIC_IPV4_PER_HOUR = 0.005  # each public IPv4 address, in use or not, since February 2024
FARGATE_VCPU_HOUR = 0.04048
FARGATE_GB_HOUR = 0.004445
LAMBDA_PER_MILLION_REQUESTS = 0.20
ALARM_PER_METRIC_MONTH = 0.10
SECRET_PER_MONTH = 0.40
LAMBDA_PER_GB_SECOND = 0.0000166667
DASHBOARD_PER_MONTH = 3.00  # beyond the account's first three, which are free
HTTP_API_PER_MILLION_REQUESTS = 1.00  # API Gateway HTTP API, first 300 million a month; no hourly price
HOSTED_ZONE_PER_MONTH = 0.50  # Route 53, each hosted zone (a Cloud Map private DNS namespace makes one)
CLOUD_MAP_INSTANCE_PER_MONTH = 0.10  # each registered instance, prorated by the hour it is registered
EVENTBRIDGE_PER_MILLION_CUSTOM_EVENTS = 1.00
# Step Functions Express workflows (the readiness watch): per execution, and per GB-second of duration with the
# memory billed in 64 MB steps (the watch's tiny state takes the first step).
EXPRESS_PER_MILLION_EXECUTIONS = 1.00
EXPRESS_PER_GB_SECOND = 0.00001667
EXPRESS_MEMORY_GB = 64 / 1024
# An internet-facing ALB takes a public address in each of its zones; the template asks for at least two.
ALB_MIN_ZONES = 2
# Assumed, not measured here: a reconcile run's billed duration (bench/controller.py counts its AWS calls).
RECONCILE_SECONDS = 0.15
# The extra-service target of the shared-ALB mode, and the whole http-api stack's.
EXTRA_SERVICE_TARGET = 1.50
HTTP_API_TARGET = 1.50
# Assumed per wake, not measured here: the readiness checks until a task is healthy (a 40-second start at one
# per 2 s), controller runs (those checks, the wake, the task events, the sleep) and HTTP face requests (a
# visitor's waiting page and its status polls, one a second).
WAKE_READINESS_CHECKS = 20
WAKE_CONTROLLER_RUNS = WAKE_READINESS_CHECKS + 5
WAKE_FACE_REQUESTS = 45

_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012"
# Example values: any valid ones give the same resources.
SHARED_ALB_SERVICE = {
    "ExistingClusterName": "shared",
    "ExistingServiceName": "shop",
    "ExistingTargetGroupArn": f"{_ARN}:targetgroup/shop-web/0123456789abcdef",
    "ExistingListenerArn": f"{_ARN}:listener/app/shared-alb/50dc6c495c0c9188/f2f7dc8efc522ab2",
    "HostNames": "shop.example.com",
    "RulePriority": "40",
}
MODES: dict[str, dict[str, str]] = {
    "full stack": {},
    # The account's first three dashboards are free: further services leave theirs out.
    "extra service on a shared ALB": SHARED_ALB_SERVICE | {"CreateDashboard": "false"},
    # Every parameter at its default but the front door (the dashboard is left out by the template).
    "http-api stack": {"FrontDoor": "http-api"},
}

Template = dict[str, Any]
_NO_VALUE = object()


class ModeResolver:
    """The template as CloudFormation instantiates it for given parameter values.

    Drops resources and outputs whose condition is false, takes the chosen branch of every Fn::If,
    removes AWS::NoValue, and computes Fn::Split, Fn::Select, Fn::Join, Fn::FindInMap and Fn::Sub whose inputs
    are literals or parameters; anything else (resource references, pseudo parameters) is left as written.
    """

    def __init__(self, template: Template, parameters: dict[str, str]) -> None:
        self.template = template
        declared = template["Parameters"]
        unknown = set(parameters) - set(declared)
        if unknown:
            raise ValueError(f"not parameters of the template: {sorted(unknown)}")
        self.parameters = {name: str(p.get("Default", "")) for name, p in declared.items()} | parameters
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = self._truth(self.template["Conditions"][name])
        return self.conditions[name]

    def _truth(self, node: Any) -> bool:
        (function, argument), *_ = node.items()
        match function:
            case "Condition":
                return self.condition(argument)
            case "Fn::Not":
                return not self._truth(argument[0])
            case "Fn::And":
                return all(self._truth(a) for a in argument)
            case "Fn::Or":
                return any(self._truth(a) for a in argument)
            case "Fn::Equals":
                left, right = (self.resolve(a) for a in argument)
                return str(left) == str(right)
        raise ValueError(f"condition function not handled: {function}")

    def resolve(self, node: Any) -> Any:  # noqa: PLR0911 - one return per intrinsic
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Fn::If":
                name, yes, no = value
                return self.resolve(yes if self.condition(name) else no)
            if key == "Ref" and value == "AWS::NoValue":
                return _NO_VALUE
            if key == "Ref" and value in self.parameters:
                kind = self.template["Parameters"][value]["Type"]
                text = self.parameters[value]
                return text.split(",") if kind.startswith(("List<", "CommaDelimitedList")) else text
            if key in ("Fn::Split", "Fn::Select", "Fn::Join", "Fn::FindInMap"):
                return self._function(key, self.resolve(value))
            if key == "Fn::Sub" and isinstance(value, str):
                names = re.findall(r"\$\{([^}!]+)\}", value)
                if names and all(n in self.parameters for n in names):
                    return re.sub(r"\$\{([^}!]+)\}", lambda m: self.parameters[m.group(1)], value)
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _function(self, key: str, value: Any) -> Any:
        if _refers(value):
            return {key: value}  # depends on a resource: left for CloudFormation
        match key:
            case "Fn::Split":
                return str(value[1]).split(value[0])
            case "Fn::Select":
                return value[1][int(value[0])]
            case "Fn::Join":
                return value[0].join(str(v) for v in value[1])
            case _:
                mapping, first, second = value
                return self.template["Mappings"][mapping][first][second]

    def template_for_mode(self) -> Template:
        result = {k: v for k, v in self.template.items() if k not in ("Resources", "Outputs", "Conditions")}
        for section in ("Resources", "Outputs"):
            kept = {
                name: {k: v for k, v in body.items() if k != "Condition"}
                for name, body in self.template[section].items()
                if "Condition" not in body or self.condition(body["Condition"])
            }
            result[section] = self.resolve(kept)
        result["Globals"] = self.resolve(self.template["Globals"])
        return result


def _refers(node: Any) -> bool:
    if isinstance(node, dict):
        return True
    return isinstance(node, list) and any(_refers(item) for item in node)


def apply_mode(template: Template, parameters: dict[str, str]) -> Template:
    """The template of one mode: its conditions applied for these parameter values."""
    return ModeResolver(template, parameters).template_for_mode()


@dataclass(frozen=True)
class Line:
    what: str
    monthly: float
    note: str


def _resources(template: Template, kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def idle_lines(template: Template, parameters: dict[str, str]) -> list[Line]:
    """What a mode costs per month while the service sleeps (``template`` already resolved for the mode)."""
    lines: list[Line] = []
    balancers = _resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    if balancers:
        lines.append(Line("Application Load Balancer", HOURS_PER_MONTH * ALB_PER_HOUR, "hourly charge, LCUs extra"))
    public = sum(ALB_MIN_ZONES for b in balancers if b["Properties"].get("Scheme") == "internet-facing")
    if public:
        lines.append(
            Line(
                f"Public IPv4 addresses ({public})",
                public * PUBLIC_IPV4_PER_HOUR * HOURS_PER_MONTH,
                "one per zone of the internet-facing ALB",
            )
        )
    apis = _resources(template, "AWS::ApiGatewayV2::Api")
    if apis:
        lines.append(Line("API Gateway HTTP API", 0.0, "no hourly price; $1.00 per million requests"))
        links = len(_resources(template, "AWS::ApiGatewayV2::VpcLink"))
        lines.append(Line(f"VPC link ({links})", 0.0, "no charge of its own"))
    elif not balancers:
        lines.append(Line("Shared ALB", 0.0, "paid once by its owner; three rules of this stack on its listener"))
    zones = len(_resources(template, "AWS::ServiceDiscovery::PrivateDnsNamespace"))
    if zones:
        lines.append(
            Line(
                f"Cloud Map private DNS namespace ({zones})",
                zones * HOSTED_ZONE_PER_MONTH,
                "its Route 53 private hosted zone; no instance registered while asleep",
            )
        )
    if _resources(template, "AWS::ECS::Service"):
        lines.append(Line("Fargate while asleep", 0.0, "zero tasks"))
    lines.append(
        Line(
            "Custom metrics (EMF) while asleep",
            0.0,
            "each is billed only for the hours it is published: wakes, sleeps, heartbeats",
        )
    )
    alarm_metrics = 0
    for alarm in _resources(template, "AWS::CloudWatch::Alarm"):
        metrics = alarm["Properties"].get("Metrics")
        alarm_metrics += sum(1 for m in metrics if "MetricStat" in m) if metrics else 1
    lines.append(Line(f"CloudWatch alarms ({alarm_metrics} metrics)", alarm_metrics * ALARM_PER_METRIC_MONTH, ""))
    secrets = len(_resources(template, "AWS::SecretsManager::Secret"))
    lines.append(Line(f"Secrets Manager ({secrets} secret)", secrets * SECRET_PER_MONTH, ""))
    dashboards = len(_resources(template, "AWS::CloudWatch::Dashboard"))
    if dashboards:
        lines.append(
            Line("CloudWatch dashboard", dashboards * DASHBOARD_PER_MONTH, "free if among the account's first three")
        )
    reconcile_every = int(ModeResolver(template, parameters).parameters["ReconcileMinutes"])
    runs = HOURS_PER_MONTH * 60 / reconcile_every
    memory_gb = int(template["Globals"]["Function"]["MemorySize"]) / 1024
    reconcile = runs / 1e6 * LAMBDA_PER_MILLION_REQUESTS + runs * RECONCILE_SECONDS * memory_gb * LAMBDA_PER_GB_SECOND
    lines.append(
        Line(
            f"Controller reconcile ({runs:,.0f} runs)",
            reconcile,
            f"{RECONCILE_SECONDS * 1000:.0f} ms assumed per run; free tier not deducted",
        )
    )
    return lines


def awake_per_hour(template: Template, parameters: dict[str, str]) -> float:
    """A running task of the service the full stack creates, with its public address if it gets one."""
    values = ModeResolver(template, parameters).parameters
    vcpu = int(values["TaskCpu"]) / 1024
    memory_gb = int(values["TaskMemory"]) / 1024
    address = PUBLIC_IPV4_PER_HOUR if values["AssignPublicIp"] == "ENABLED" else 0.0
    return vcpu * FARGATE_VCPU_HOUR + memory_gb * FARGATE_GB_HOUR + address


def awake_extra_per_hour(template: Template) -> float:
    """What a running task adds beyond itself: its Cloud Map registration (http-api front door)."""
    registries = [r for r in _resources(template, "AWS::ECS::Service") if r["Properties"].get("ServiceRegistries")]
    return CLOUD_MAP_INSTANCE_PER_MONTH / HOURS_PER_MONTH if registries else 0.0


def watch_interval_seconds(template: Template) -> float:
    """The readiness watch's wait between two checks, read as the local stack reads its definition."""
    from local_aws.readiness import WatchDefinition  # noqa: PLC0415 - the local stack's imports are heavy

    [machine] = _resources(template, "AWS::StepFunctions::StateMachine")
    body = machine["Properties"]["DefinitionString"]["Fn::Sub"]
    # Only the definition's shape matters here, not the stack's names it substitutes.
    definition = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    return WatchDefinition.parse(definition).interval.total_seconds()


def wake_price(template: Template, parameters: dict[str, str]) -> tuple[float, float]:
    """One wake for one visit: the task runs at least max(MinAwakeMinutes, IdleMinutes) minutes plus a
    minute to start; the requests and runs around it. Returns (price, minutes awake)."""
    values = ModeResolver(template, parameters).parameters
    minutes = max(int(values["MinAwakeMinutes"]), int(values["IdleMinutes"])) + 1
    task = (awake_per_hour(template, parameters) + awake_extra_per_hour(template)) * minutes / 60
    memory_gb = int(template["Globals"]["Function"]["MemorySize"]) / 1024
    runs = WAKE_CONTROLLER_RUNS + WAKE_FACE_REQUESTS
    lambdas = runs / 1e6 * LAMBDA_PER_MILLION_REQUESTS + runs * RECONCILE_SECONDS * memory_gb * LAMBDA_PER_GB_SECOND
    # The visitor's wake request and one Readiness Check per check; the watch runs about one interval per check.
    events = (1 + WAKE_READINESS_CHECKS) / 1e6 * EVENTBRIDGE_PER_MILLION_CUSTOM_EVENTS
    watch_seconds = WAKE_READINESS_CHECKS * watch_interval_seconds(template)
    watch = EXPRESS_PER_MILLION_EXECUTIONS / 1e6 + watch_seconds * EXPRESS_MEMORY_GB * EXPRESS_PER_GB_SECOND
    api = (
        WAKE_FACE_REQUESTS / 1e6 * HTTP_API_PER_MILLION_REQUESTS
        if _resources(template, "AWS::ApiGatewayV2::Api")
        else 0
    )
    return task + lambdas + events + watch + api, minutes


def load_template() -> Template:
    decoded, problems = decode(str(TEMPLATE))
    if problems:
        raise SystemExit(f"template.yaml does not decode: {problems}")
    result: Template = decoded
    return result


def asleep_per_mode(template: Template) -> dict[str, list[Line]]:
    return {name: idle_lines(apply_mode(template, values), values) for name, values in MODES.items()}


def main() -> None:
    template = load_template()
    per_mode = asleep_per_mode(template)
    for name, lines in per_mode.items():
        print(f"{name + ' (asleep, per month)':<52} {'USD':>8}  note")
        for line in lines:
            print(f"{'  ' + line.what:<52} {line.monthly:>8.2f}  {line.note}")
        print()
    totals = {name: sum(line.monthly for line in lines) for name, lines in per_mode.items()}
    for name, total in totals.items():
        print(f"{name}, asleep: ${total:.2f}/month")
    extra = totals["extra service on a shared ALB"]
    verdict = "met" if extra <= EXTRA_SERVICE_TARGET else "NOT met"
    print(f"target for an extra service on a shared ALB: at most ${EXTRA_SERVICE_TARGET:.2f}/month ({verdict})")
    print(f"an extra service that keeps its own dashboard: +${DASHBOARD_PER_MONTH:.2f}/month beyond three")
    http_api = totals["http-api stack"]
    verdict = "met" if http_api <= HTTP_API_TARGET else "NOT met"
    print(f"target for the http-api stack: at most ${HTTP_API_TARGET:.2f}/month ({verdict})")

    hourly = awake_per_hour(template, MODES["full stack"])
    idle = totals["full stack"]
    print()
    print(f"{'full stack, usage (task at the default size)':<52} {'USD':>8}  vs. always on")
    always_on = idle + HOURS_PER_MONTH * hourly
    for label, hours in (("asleep all month", 0), ("awake 2 h a day", 60), ("awake 8 h a day", 240)):
        total = idle + hours * hourly
        print(f"{label:<52} {total:>8.2f}  saves {always_on - total:.2f}")
    print(f"{'always on (no scale to zero)':<52} {always_on:>8.2f}")

    api_template = apply_mode(template, MODES["http-api stack"])
    api_hourly = hourly + awake_extra_per_hour(api_template)
    wake, minutes = wake_price(api_template, MODES["http-api stack"])
    print()
    print(f"{'http-api stack, usage (task at the default size)':<52} {'USD':>8}  note")
    print(f"{'an hour awake':<52} {api_hourly:>8.4f}  task, its public IPv4, its Cloud Map instance")
    print(f"{'a wake for one visit':<52} {wake:>8.4f}  about {minutes} min awake, requests and runs")
    print(f"{'a million requests through the API':<52} {HTTP_API_PER_MILLION_REQUESTS:>8.2f}  ")
    for label, hours in (("asleep all month", 0), ("awake 2 h a day", 60), ("awake 8 h a day", 240)):
        print(f"{label:<52} {http_api + hours * api_hourly:>8.2f}")
