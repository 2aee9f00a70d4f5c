"""Helpers of the held-request tests: a fake clock whose waits take no real time, and the hold table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3

HOLD_TABLE = "warmkeeper-holds"


@dataclass
class FakeClock:
    """The HTTP face's waits (``heartbeat.clock``): ``sleep`` moves the time forward at once and then runs
    ``on_sleep`` (the world changing while a request is held). ``now()`` is the same time as a date, for the
    test to stamp records with; the function's own "now" still comes from the shared seam."""

    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    on_sleep: Callable[[FakeClock], None] | None = None
    sleeps: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    def monotonic(self) -> float:
        return self.elapsed

    def epoch(self) -> float:
        return self.start.timestamp() + self.elapsed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += seconds
        if self.on_sleep is not None:
            self.on_sleep(self)

    @property
    def slept(self) -> float:
        return sum(self.sleeps)


@contextmanager
def installed(clock: FakeClock) -> Iterator[FakeClock]:
    from heartbeat import clock as seam  # noqa: PLC0415 - after the test environment is set

    previous = seam.use(clock)
    try:
        yield clock
    finally:
        seam.use(previous)


def create_hold_table() -> str:
    boto3.client("dynamodb").create_table(
        TableName=HOLD_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "slot", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "slot", "KeyType": "HASH"}],
    )
    return HOLD_TABLE


def hold_env(seconds: int = 20, concurrency: int = 10) -> dict[str, str]:
    return {"HOLD_SECONDS": str(seconds), "HOLD_TABLE_NAME": HOLD_TABLE, "HTTP_FACE_CONCURRENCY": str(concurrency)}
