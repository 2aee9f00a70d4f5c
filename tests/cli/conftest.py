"""Fixtures of the CLI tests: the demo's local stack (built in process from template.yaml), and a way to run
``warmkeeper`` against it with a clock and HTTP client that drive the local stack instead of waiting."""

from __future__ import annotations

import io
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from local_aws.clock import Clock
from local_aws.endpoint import LocalEndpoint
from local_aws.runtime import LocalAws
from local_aws.scenario import LOCAL_OVERRIDES
from warmkeeper_cli.main import Runtime, main


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.filterwarnings("ignore::UserWarning:moto.cloudformation.parsing"))
        item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish"))


@pytest.fixture(scope="module")
def local() -> Iterator[LocalAws]:
    """The local stack, awake with one healthy task, as the demo starts it."""
    with LocalEndpoint() as endpoint:
        endpoint.reset()
        with LocalAws(overrides=dict(LOCAL_OVERRIDES), clock=Clock(speed=0), endpoint=endpoint) as running:
            running.ecs.task_comes_up()
            running.bus.settle()
            yield running


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """Runs ``warmkeeper ARGS`` in process. ``between_polls`` runs where the CLI would sleep: it settles the
    local EventBridge and plays what ECS would do meanwhile (None: nothing happens in ECS this time)."""

    local: LocalAws
    between_polls: list[Callable[[], Any] | None] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    run_command: Callable[[list[str]], int] | None = None

    def _sleep(self, _seconds: float) -> None:
        self.local.bus.settle()
        action = self.between_polls.pop(0) if self.between_polls else None
        if action is not None:
            action()
            self.local.bus.settle()

    def _http_status(self, url: str, _timeout: float) -> int:
        path = "/" + url.split("://", 1)[1].split("/", 1)[1] if url.count("/") > 2 else "/"
        return self.local.alb.request("GET", path, {"accept": "application/json"}).status

    def _run(self, command: list[str]) -> int:
        self.commands.append(command)
        assert self.run_command is not None, "this test runs no command"
        return self.run_command(command)

    def __call__(self, args: str, settle: bool = True) -> Result:
        out, err = io.StringIO(), io.StringIO()
        runtime = Runtime(out=out, err=err, sleep=self._sleep, http_status=self._http_status, run_command=self._run)
        code = main(shlex.split(args), runtime)
        if settle:
            self.local.bus.settle()
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(local: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("AWS_ENDPOINT_URL", local.stack.endpoint.url)
    return Cli(local)
