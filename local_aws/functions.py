"""Running the stack's Lambda functions: in this process (default) or through ``sam local invoke``.

Either way a function gets the environment its deployed configuration holds in the local endpoint (so
template.yaml decides it), with ``AWS_ENDPOINT_URL`` pointed at the local endpoint and fake credentials.
In process, the first invocation of each function is a cold start: its packages are imported afresh with
its environment in place, as a new Lambda execution environment would.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from local_aws.endpoint import scoped_environment
from local_aws.stack import LocalFunction, LocalStack
from warmkeeper_shared.clock import local_environment

# The scenario's time, read at each invocation and passed to the function through the clock seam.
ScenarioTime = Callable[[], datetime]


def _clock_environment(now: ScenarioTime | None) -> dict[str, str]:
    return local_environment(now()) if now is not None else {}


@dataclass(frozen=True)
class Invocation:
    """One invocation: the handler's answer or error, and what the function wrote (logs, EMF metrics)."""

    function: str
    event: dict[str, Any]
    payload: Any
    error: str | None
    records: list[dict[str, Any]]
    seconds: float

    @property
    def logs(self) -> list[dict[str, Any]]:
        return [r for r in self.records if "_aws" not in r]

    @property
    def emf(self) -> list[dict[str, Any]]:
        """Embedded-metric-format documents, which CloudWatch Logs turns into metrics."""
        return [r for r in self.records if isinstance(r.get("_aws"), dict) and "CloudWatchMetrics" in r["_aws"]]


class Functions(Protocol):
    @property
    def mode(self) -> str: ...

    def invoke(self, function: LocalFunction, event: Mapping[str, Any]) -> Invocation: ...

    def close(self) -> None: ...


def _json_lines(text: str) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                record = json.loads(stripped)
                if isinstance(record, dict):
                    records.append(record)
    return records


@dataclass
class _Context:
    """What Lambda's runtime passes as ``context``; Powertools reads these attributes."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class _Capture(io.StringIO):
    """Where in-process functions write. One for the whole process: Powertools' logger keeps the stdout it
    saw when it was first created, and both functions share one logger (it is named after the service)."""

    def take(self) -> str:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        return text


_CAPTURE = _Capture()


@contextlib.contextmanager
def _logger_streams(service: str | None, stream: io.StringIO) -> Iterator[None]:
    """Points the function's Powertools logger at ``stream`` for one invocation, then gives it back.

    The logger keeps the stdout of whoever created it first; in a test process that may be another test's
    capture, and the invocation's log lines would go there instead of into the local log groups."""
    handlers = (
        [h for h in logging.getLogger(service).handlers if isinstance(h, logging.StreamHandler)] if service else []
    )
    # Assigned, not setStream(): that flushes the old stream, which may be a test's capture closed since.
    saved = [h.stream for h in handlers]
    for handler in handlers:
        handler.stream = stream
    try:
        yield
    finally:
        for handler, previous in zip(handlers, saved, strict=True):
            handler.stream = previous


@dataclass
class InProcessFunctions:
    """Imports each handler in this process with the function's environment around every invocation."""

    stack: LocalStack
    mode: str = "in-process"
    now: ScenarioTime | None = None
    _handlers: dict[str, Any] = field(default_factory=dict, init=False)
    # What the cold starts took out of (and added to) the process, given back by close().
    _packages: set[str] = field(default_factory=set, init=False)
    _saved_modules: dict[str, Any] = field(default_factory=dict, init=False)
    _added_paths: list[str] = field(default_factory=list, init=False)

    def _environment(self, function: LocalFunction) -> dict[str, str]:
        environment = dict(function.environment)
        environment.update(self.stack.endpoint.function_environment())
        environment.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": function.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                # What `sam local invoke` sets too: Powertools' tracer stays quiet without an X-Ray daemon.
                "AWS_SAM_LOCAL": "true",
            }
        )
        environment.update(_clock_environment(self.now))
        return environment

    def _cold_start(self, function: LocalFunction) -> Any:
        module_name, _, attribute = function.handler.rpartition(".")
        packages = {module_name.split(".")[0], *(p.name for d in self.stack.layer_dirs for p in d.iterdir())}
        self._packages |= packages
        for name in list(sys.modules):
            if name.split(".")[0] in packages:
                module = sys.modules.pop(name)
                self._saved_modules.setdefault(name, module)
        for directory in (function.code_dir, *self.stack.layer_dirs):
            if str(directory) not in sys.path:
                sys.path.insert(0, str(directory))
                self._added_paths.append(str(directory))
        module = importlib.import_module(module_name)
        return getattr(module, attribute)

    def invoke(self, function: LocalFunction, event: Mapping[str, Any]) -> Invocation:
        stream = _CAPTURE
        stream.take()  # anything written between invocations is not this invocation's
        context = _Context(
            function_name=function.name,
            invoked_function_arn=function.arn,
            deadline=time.monotonic() + function.timeout,
        )
        started = time.monotonic()
        payload: Any = None
        error: str | None = None
        with (
            scoped_environment(self._environment(function)),
            contextlib.redirect_stdout(stream),
            _logger_streams(function.environment.get("POWERTOOLS_SERVICE_NAME"), stream),
        ):
            try:
                handler = self._handlers.get(function.logical_id)
                if handler is None:
                    handler = self._handlers[function.logical_id] = self._cold_start(function)
                payload = handler(json.loads(json.dumps(event)), context)
            except Exception as exception:
                error = f"{type(exception).__name__}: {exception}"
                stream.write(json.dumps({"level": "ERROR", "message": traceback.format_exc()}) + "\n")
        return Invocation(
            function.logical_id, dict(event), payload, error, _json_lines(stream.take()), time.monotonic() - started
        )

    def close(self) -> None:
        """Ends the execution environments: the process gets back the modules it had before."""
        self._handlers.clear()
        for name in list(sys.modules):
            if name.split(".")[0] in self._packages:
                del sys.modules[name]
        sys.modules.update(self._saved_modules)
        self._saved_modules.clear()
        for directory in self._added_paths:
            if directory in sys.path:
                sys.path.remove(directory)
        self._added_paths.clear()


@dataclass
class SamLocalFunctions:
    """Each invocation runs in a container of the local Lambda image (tests/samlocal.py's helper)."""

    stack: LocalStack
    mode: str = "sam local invoke"
    now: ScenarioTime | None = None
    _sam: Any = field(default=None, init=False)

    def __post_init__(self) -> None:
        samlocal = importlib.import_module("tests.samlocal")
        reason = samlocal.docker_unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"--containers needs Docker and the local Lambda image: {reason}")
        self._sam = samlocal.SamLocal(template=Path(self.stack.template_path))

    def invoke(self, function: LocalFunction, event: Mapping[str, Any]) -> Invocation:
        environment = {
            **function.environment,
            "AWS_ENDPOINT_URL": self.stack.endpoint.url,
            **_clock_environment(self.now),
        }
        started = time.monotonic()
        result = self._sam.invoke(function.logical_id, dict(event), env=environment)
        return Invocation(
            function.logical_id,
            dict(event),
            result.payload,
            result.error,
            _json_lines(result.logs),
            time.monotonic() - started,
        )

    def close(self) -> None:
        self._sam = None


def functions_for(stack: LocalStack, containers: bool, now: ScenarioTime | None = None) -> Functions:
    """``now``: the scenario's clock the functions read through their clock seam (None: the wall clock)."""
    return SamLocalFunctions(stack, now=now) if containers else InProcessFunctions(stack, now=now)


__all__ = ["Functions", "InProcessFunctions", "Invocation", "SamLocalFunctions", "functions_for"]
