"""The function's Powertools objects, created once and shared by the routes."""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from warmkeeper_shared import clock

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def now() -> datetime:
    """The function's time, through the shared clock seam (the local stack moves it; see warmkeeper_shared.clock)."""
    return clock.now()
