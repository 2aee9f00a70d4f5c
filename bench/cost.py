"""Monthly cost of a stack built from template.yaml with its default parameters, asleep and awake.

Counts what the template really creates (alarms and their metrics, secrets, the reconcile schedule, the task
size) and prices it with DESIGN.md's us-east-1 prices. Where a price is not in DESIGN.md, the row says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
HOURS_PER_MONTH = 730

# DESIGN.md, "AWS facts that shape the template" (us-east-1, third-party copies of AWS's price lists).
ALB_PER_HOUR = 0.0225
FARGATE_VCPU_HOUR = 0.04048
FARGATE_GB_HOUR = 0.004445
LAMBDA_PER_MILLION_REQUESTS = 0.20
ALARM_PER_METRIC_MONTH = 0.10
# AWS list prices not in DESIGN.md.
SECRET_PER_MONTH = 0.40
LAMBDA_PER_GB_SECOND = 0.0000166667
# Assumed, not measured here: a reconcile run's billed duration (bench/controller.py counts its AWS calls).
RECONCILE_SECONDS = 0.15


@dataclass(frozen=True)
class Line:
    what: str
    monthly: float
    note: str


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def _default(template: dict[str, Any], name: str) -> Any:
    return template["Parameters"][name]["Default"]


def idle_lines(template: dict[str, Any]) -> list[Line]:
    alarm_metrics = 0
    for alarm in _resources(template, "AWS::CloudWatch::Alarm"):
        metrics = alarm["Properties"].get("Metrics")
        alarm_metrics += sum(1 for m in metrics if "MetricStat" in m) if metrics else 1
    secrets = len(_resources(template, "AWS::SecretsManager::Secret"))
    reconcile_every = int(_default(template, "ReconcileMinutes"))
    runs = HOURS_PER_MONTH * 60 / reconcile_every
    memory_gb = int(template["Globals"]["Function"]["MemorySize"]) / 1024
    reconcile = runs / 1e6 * LAMBDA_PER_MILLION_REQUESTS + runs * RECONCILE_SECONDS * memory_gb * LAMBDA_PER_GB_SECOND
    return [
        Line("Application Load Balancer", HOURS_PER_MONTH * ALB_PER_HOUR, "hourly charge, LCUs extra"),
        Line("Fargate while asleep", 0.0, "zero tasks"),
        Line(f"CloudWatch alarms ({alarm_metrics} metrics)", alarm_metrics * ALARM_PER_METRIC_MONTH, ""),
        Line(f"Secrets Manager ({secrets} secret)", secrets * SECRET_PER_MONTH, "AWS list price"),
        Line(
            f"Controller reconcile ({runs:,.0f} runs)",
            reconcile,
            f"{RECONCILE_SECONDS * 1000:.0f} ms assumed per run; free tier not deducted",
        ),
    ]


def awake_per_hour(template: dict[str, Any]) -> float:
    vcpu = int(_default(template, "TaskCpu")) / 1024
    memory_gb = int(_default(template, "TaskMemory")) / 1024
    return vcpu * FARGATE_VCPU_HOUR + memory_gb * FARGATE_GB_HOUR


def main() -> None:
    decoded, problems = decode(str(TEMPLATE))
    if problems:
        raise SystemExit(f"template.yaml does not decode: {problems}")
    template: dict[str, Any] = decoded
    lines = idle_lines(template)
    idle = sum(line.monthly for line in lines)
    print(f"{'what (idle, per month)':<40} {'USD':>8}  note")
    for line in lines:
        print(f"{line.what:<40} {line.monthly:>8.2f}  {line.note}")
    print(f"{'total while asleep':<40} {idle:>8.2f}")
    hourly = awake_per_hour(template)
    print()
    print(f"{'usage (task at the default size)':<40} {'USD':>8}  vs. always on")
    always_on = idle + HOURS_PER_MONTH * hourly
    for label, hours in (("asleep all month", 0), ("awake 2 h a day", 60), ("awake 8 h a day", 240)):
        total = idle + hours * hourly
        print(f"{label:<40} {total:>8.2f}  saves {always_on - total:.2f}")
    print(f"{'always on (no scale to zero)':<40} {always_on:>8.2f}")
