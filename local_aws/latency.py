"""A latency model of the AWS parts a wake goes through, as data: one figure per step, each with its source.

Each :class:`Figure` is a lognormal distribution fixed by its median (p50) and its 99th percentile (p99), or a
constant, in seconds, with the page it comes from. Where no published source gives a number, ``source`` says
"assumption" and why that value. The local stack (a simulated task's start, local_aws/simulate.py) and the wake
benchmark (bench/wake.py) draw from the same :data:`MODEL`, with a seeded :class:`random.Random`, so runs repeat.

The ALB health-check interval and healthy threshold are not here: they are read from the target group the
template creates (``HealthCheckIntervalSeconds``, ``HealthyThresholdCount``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

# z of the 99th percentile of a standard normal distribution.
_Z99 = 2.3263478740408408


@dataclass(frozen=True)
class Figure:
    """A duration in seconds: lognormal with median ``p50`` and 99th percentile ``p99`` (equal: a constant)."""

    name: str
    p50: float
    p99: float
    source: str

    def __post_init__(self) -> None:
        if not 0 < self.p50 <= self.p99:
            raise ValueError(f"{self.name}: needs 0 < p50 <= p99, not p50={self.p50} p99={self.p99}")
        if not self.source.strip():
            raise ValueError(f"{self.name}: every figure needs a source (or says 'assumption')")

    @property
    def sigma(self) -> float:
        return (math.log(self.p99) - math.log(self.p50)) / _Z99

    def draw(self, rng: random.Random) -> float:
        if self.p50 == self.p99:
            return self.p50
        return math.exp(rng.gauss(math.log(self.p50), self.sigma))


@dataclass(frozen=True)
class LatencyModel:
    eventbridge_delivery: Figure
    lambda_cold_start: Figure
    lambda_warm_invoke: Figure
    controller_decision: Figure
    fargate_task_start: Figure
    application_boot: Figure
    health_check_response: Figure
    steady_state_on_time: Figure
    steady_state_late: Figure
    listener_change: Figure

    def figures(self) -> list[Figure]:
        return [getattr(self, name) for name in self.__dataclass_fields__]


MODEL = LatencyModel(
    eventbridge_delivery=Figure(
        "EventBridge PutEvents to a Lambda target",
        0.148,
        0.387,
        "Bite-Sized Serverless, 'Serverless Messaging: Latency Compared' (bitesizedserverless.com/bite/"
        "serverless-messaging-latency-compared/): EventBridge after its February 2023 update, async Lambda "
        "invocation, eu-west-1: p50 148 ms, p90 241 ms, p99 387 ms",
    ),
    lambda_cold_start=Figure(
        "Lambda cold start (init) of the HTTP face",
        0.6,
        2.0,
        "range from AWS Compute Blog, 'Operating Lambda: Performance optimization - Part 1' (aws.amazon.com/"
        "blogs/compute/operating-lambda-performance-optimization-part-1/): a cold start takes from under 100 ms "
        "to over 1 s; p50 0.6 s and p99 2 s are an assumption for a Python function importing boto3 and "
        "Powertools (`python -m bench heartbeat` prints its cold waiting page as a ratio to `import boto3`)",
    ),
    lambda_warm_invoke=Figure(
        "a warm Lambda invocation (HTTP face: status poll, page)",
        0.05,
        0.3,
        "assumption: a warm Python handler with two cached AWS reads; the 2014 Lambda PR/FAQ quotes 20-50 ms "
        "for a warm echo function (allthingsdistributed.com, 'The AWS Lambda PR/FAQ after 10 years')",
    ),
    controller_decision=Figure(
        "the controller's decision (warm: its reads and its one write)",
        0.3,
        1.0,
        "assumption: 4 to 6 AWS API calls of 30-150 ms each (bench/controller.py counts the calls per "
        "decision); the controller stays warm because the reconcile schedule invokes it every minute",
    ),
    fargate_task_start=Figure(
        "Fargate task start: UpdateService to RUNNING (placement, ENI, pull, start)",
        35.0,
        60.0,
        "Vlad Ionescu, 'Scaling containers on AWS in 2022' (vladionescu.me/posts/scaling-containers-on-aws-in-"
        "2022/): ECS on Fargate starts its first containers about 30 s after the request; the phases are "
        "listed in AWS's 'Best Practices - Speeding up task launch' (docs.aws.amazon.com/AmazonECS/latest/"
        "bestpracticesguide/task.html); p99 60 s is an assumption (small image, no image cache on Fargate)",
    ),
    application_boot=Figure(
        "the application answering its health check after RUNNING",
        2.0,
        8.0,
        "assumption: Caddy plus small web and API processes; the application's own time, part of the task's "
        "start-to-healthy time, not of Warmkeeper's overhead",
    ),
    health_check_response=Figure(
        "one ALB health check answered",
        0.01,
        0.1,
        "assumption: a static Caddy route; the check's schedule (interval, one passing check for a newly "
        "registered target) is from 'Health checks for Application Load Balancer target groups' "
        "(docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html): "
        "'After your target is registered, it must pass one health check to be considered healthy'",
    ),
    steady_state_on_time=Figure(
        "SERVICE_STEADY_STATE after the target is healthy (on time)",
        1.0,
        5.0,
        "assumption: the ECS service action events page (docs.aws.amazon.com/AmazonECS/latest/developerguide/"
        "ecs_service_events.html) gives no delay; 'on time' means within seconds of the target turning healthy",
    ),
    steady_state_late=Figure(
        "SERVICE_STEADY_STATE after the target is healthy (late)",
        60.0,
        300.0,
        "assumption: ECS 'reports the status periodically' (ECS service action events page); 'late' plays it "
        "one to five minutes after health. Early is before health (aws/amazon-ecs-agent#2143), never is not at "
        "all (several target groups, aws/containers-roadmap#582)",
    ),
    listener_change=Figure(
        "ModifyListener/ModifyRule taking effect on the load balancer's nodes",
        0.5,
        3.0,
        "assumption: the Elastic Load Balancing API reference documents no propagation time for listener and "
        "rule changes; a few seconds at most is assumed",
    ),
)
