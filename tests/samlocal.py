"""Run the functions through ``sam local invoke`` on this machine, with no image pulled and no AWS reached.

The Lambda base image is the local one ``make lambda-image`` builds (``scripts/lambda-image/build.sh``). A
function container reaches the host at the Docker bridge gateway (172.17.0.1 by default), so a local AWS
endpoint meant for the functions is bound there; ``moto_bridge_endpoint`` below does that.

Use from any test folder by importing the fixtures into its ``conftest.py``::

    from tests.samlocal import docker_guard, moto_bridge_endpoint, moto_bridge_server, sam_local  # noqa: F401

    @pytest.mark.docker
    def test_wake(sam_local: SamLocal, moto_bridge_endpoint: str) -> None:
        env = stack_env(moto_bridge_endpoint)
        result = sam_local.invoke("WarmkeeperFunction", "warmkeeper/wake-requested.json", env=env)
        assert result.payload == {...}

``docker_guard`` (autouse once imported) skips a ``@pytest.mark.docker`` test with the reason when Docker
cannot run here, and fails it instead when the ``CI`` environment variable is set: CI must run them.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from samcli.yamlhelper import yaml_dump, yaml_parse

from warmkeeper_shared.clock import NOW_VARIABLE

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = REPO_ROOT / "template.yaml"
EVENTS_DIR = REPO_ROOT / "events"
BUILD_DIR = REPO_ROOT / "build"
LOCAL_IMAGE = os.environ.get("WARMKEEPER_LAMBDA_IMAGE") or "warmkeeper/lambda-python3.13:local"
DEFAULT_BRIDGE_GATEWAY = "172.17.0.1"
# A function given no endpoint gets this one: its AWS calls are refused at once on the container's own
# loopback instead of leaving for AWS (the template declares AWS_ENDPOINT_URL for every function).
NO_ENDPOINT = "http://127.0.0.1:1"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"

# What a stack named "warmkeeper" gives the functions (README, "Names"). Under `sam local invoke` a !Ref to
# a resource resolves to its logical id, so local runs pass these instead; SAM sets only the variables a
# function declares, so one mapping serves both functions.
STACK_ENV: dict[str, str] = {
    "POWERTOOLS_SERVICE_NAME": "warmkeeper",
    "STACK_NAME": "warmkeeper",
    "CLUSTER_NAME": "warmkeeper",
    "SERVICE_NAME": "warmkeeper",
    "STATE_PARAMETER_NAME": "/warmkeeper/warmkeeper/state",
    "ECS_TARGET_GROUP_ARN": (
        f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:targetgroup/warmkeeper-ecs/6d0ecf831eec9f09"
    ),
    "WAKER_TARGET_GROUP_ARN": (
        f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:targetgroup/warmkeeper-waker/73e2d6bc24d8a067"
    ),
    "ROUTE_RULE_ARN": (
        f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:listener-rule/app/warmkeeper-alb/"
        "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
    ),
    "IDLE_ALARM_NAME": "warmkeeper-idle",
    "WAKE_ALARM_NAME": "warmkeeper-wake",
    # GetSecretValue takes the name as well as the ARN, whose suffix only AWS (or moto) knows.
    "TOKEN_SECRET_ARN": "warmkeeper/warmkeeper/heartbeat-token",
    "EVENT_BUS_NAME": "default",
}

_REPORT = re.compile(r"^REPORT RequestId: \S+.*?\tDuration: (?P<ms>[0-9.]+) ms", re.MULTILINE)
# One lock for every sam build and invoke of this checkout: pytest-xdist workers build the same folders,
# and an invoke must not read a function folder that a build is rewriting.
_LOCK_FILE = BUILD_DIR / "sam.lock"
_process_lock = threading.Lock()


class DockerUnavailableError(RuntimeError):
    """Docker (or the local Lambda image) cannot be used here."""


class SamError(RuntimeError):
    """``sam build`` or ``sam local invoke`` failed; the message carries the end of its output."""


def stack_env(endpoint: str | None = None) -> dict[str, str]:
    """The environment of a deployed ``warmkeeper`` stack, pointed at ``endpoint`` when given."""
    env = dict(STACK_ENV)
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _run(command: list[str], timeout: float = 60, env: Mapping[str, str] | None = None) -> str:
    completed = subprocess.run(  # noqa: S603 - fixed commands, no shell
        command, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    if completed.returncode != 0:
        raise DockerUnavailableError(
            f"`{' '.join(command)}` failed ({completed.returncode}): {completed.stderr.strip()[-500:]}"
        )
    return completed.stdout


@functools.cache
def docker_unavailable_reason(image: str = LOCAL_IMAGE) -> str | None:
    """Why Docker tests cannot run here (``None`` when they can). Checked once per process."""
    if shutil.which("docker") is None:
        return "no docker command on PATH (`make docker` installs and starts the engine)"
    try:
        _run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=30)
    except (DockerUnavailableError, subprocess.TimeoutExpired) as error:
        return f"the Docker engine does not answer (`make docker` starts it): {error}"
    try:
        _run(["docker", "image", "inspect", "--format", "{{.Id}}", image], timeout=30)
    except (DockerUnavailableError, subprocess.TimeoutExpired):
        return f"the local Lambda image {image} is missing (`make lambda-image` builds it)"
    return None


def require_docker(image: str = LOCAL_IMAGE) -> None:
    """Skip the current test when Docker cannot run here; fail it instead in CI, where it must run."""
    reason = docker_unavailable_reason(image)
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI is set, so Docker tests must run, but {reason}", pytrace=False)
    pytest.skip(f"Docker cannot run here: {reason}")


@functools.cache
def bridge_gateway() -> str:
    """The host's address on Docker's default bridge network, where containers reach the host."""
    try:
        raw = _run(["docker", "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"])
    except subprocess.TimeoutExpired as error:
        raise DockerUnavailableError(f"docker network inspect bridge timed out: {error}") from error
    for config in json.loads(raw) or []:
        if config.get("Gateway"):
            return str(config["Gateway"])
        subnet = ipaddress.ip_network(config.get("Subnet", ""), strict=False)
        if subnet.version == 4:
            # Docker 20.10 omits the gateway when it picked the default: the subnet's first host.
            return str(next(subnet.hosts()))
    raise DockerUnavailableError(f"the bridge network has no IPv4 subnet: {raw.strip()}")


@dataclass(frozen=True)
class Invocation:
    """One ``sam local invoke``: the function's response (parsed JSON) and everything it logged."""

    function: str
    payload: Any
    stdout: str
    logs: str
    seconds: float

    @property
    def log_records(self) -> list[dict[str, Any]]:
        """The structured (JSON) log lines of the function, in order."""
        records: list[dict[str, Any]] = []
        for line in self.logs.splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    record = json.loads(line)
                    if isinstance(record, dict):
                        records.append(record)
        return records

    @property
    def error(self) -> str | None:
        """``errorType: errorMessage`` when the function raised, else ``None``."""
        if isinstance(self.payload, dict) and "errorType" in self.payload:
            return f"{self.payload['errorType']}: {self.payload.get('errorMessage', '')}"
        return None

    @property
    def duration_ms(self) -> float | None:
        """The handler's duration from the emulator's REPORT line."""
        match = _REPORT.search(self.logs)
        return float(match["ms"]) if match else None


@contextlib.contextmanager
def sam_build_lock(exclusive: bool) -> Iterator[None]:
    _LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK_FILE.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sam_cli_dir() -> Path:
    """A SAM CLI settings folder whose last version check is now, so SAM does not call pypi.org."""
    folder = BUILD_DIR / "sam-cli"
    folder.mkdir(parents=True, exist_ok=True)
    metadata = folder / "metadata.json"
    settings: dict[str, Any] = {}
    with contextlib.suppress(OSError, json.JSONDecodeError):
        settings = json.loads(metadata.read_text())
    settings.update({"telemetryEnabled": False, "lastVersionCheck": time.time()})
    # Atomically: another pytest worker's sam may be reading it right now.
    scratch = folder / f"metadata.{os.getpid()}.{threading.get_ident()}.json"
    scratch.write_text(json.dumps(settings))
    scratch.replace(metadata)
    return folder


def sam_environment(endpoint: str | None = None) -> dict[str, str]:
    """The environment for the SAM CLI itself: never a real AWS call.

    ``sam local invoke`` asks STS for the account id when it finds credentials. With a local endpoint the
    question goes there (fake credentials); without one SAM gets no credentials, so it asks nobody.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    venv_bin = str(Path(sys.executable).parent)  # python3.13 for `sam build`, and the sam command
    env.update(
        {
            "PATH": f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
            "SAM_CLI_TELEMETRY": "0",
            "__SAM_CLI_APP_DIR": str(_sam_cli_dir()),
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if endpoint:
        env.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
            }
        )
    return env


def _sam_command() -> str:
    beside_python = Path(sys.executable).parent / "sam"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("sam")
    if found is None:
        raise SamError("no sam command: run `make venv` (the SAM CLI is a dev dependency)")
    return found


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class SamLocal:
    """A SAM project built once per process and invoked function by function in the local image."""

    template: Path = TEMPLATE
    image: str = LOCAL_IMAGE
    build_dir: Path | None = None
    # Local runs give every function at least this timeout: a cold container on a busy CI machine is slower
    # than AWS, and a timeout here says nothing about the function. The template's values stay as they are.
    local_timeout: int = 60
    build_seconds: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.template = self.template.resolve()
        if self.build_dir is None:
            # The project's own template builds where `make build` and a hand-typed `sam local invoke` look.
            if self.template == TEMPLATE:
                self.build_dir = REPO_ROOT / ".aws-sam" / "build"
            else:
                self.build_dir = BUILD_DIR / "sam" / self.template.parent.name / "build"

    @property
    def built_template(self) -> Path:
        """The template ``sam build`` wrote (code locations point into the build folder)."""
        assert self.build_dir is not None
        return self.build_dir / "template.yaml"

    @property
    def local_template(self) -> Path:
        """The built template with the local timeout, beside it so that its code locations still hold."""
        assert self.build_dir is not None
        return self.build_dir / "template.local.yaml"

    def _write_local_template(self) -> None:
        template = yaml_parse(self.built_template.read_text())
        functions = template.get("Globals", {}).get("Function", {})
        default = functions.get("Timeout", 3)
        # Declared here only, never in template.yaml: `--env-vars` sets declared variables, and the clock
        # seam's local time must be settable in local runs and nowhere else (warmkeeper_shared.clock).
        variables = functions.setdefault("Environment", {}).setdefault("Variables", {})
        variables.setdefault(NOW_VARIABLE, "")
        for resource in template.get("Resources", {}).values():
            if resource.get("Type") == "AWS::Serverless::Function":
                properties = resource.setdefault("Properties", {})
                timeout = properties.get("Timeout", default)
                if not isinstance(timeout, int) or timeout < self.local_timeout:
                    properties["Timeout"] = self.local_timeout
        self.local_template.write_text(yaml_dump(template))

    def build(self, force: bool = False) -> float:
        """``sam build --cached`` once per process; returns the seconds it took (0 when already built)."""
        assert self.build_dir is not None
        with _process_lock:
            # Another test of this checkout (the real sam deploy) may have rebuilt the folder since, which
            # removes the local template: build again then.
            if self.build_seconds is not None and not force and self.local_template.is_file():
                return 0.0
            command = [
                _sam_command(),
                "build",
                "--template",
                str(self.template),
                "--build-dir",
                str(self.build_dir),
                "--cache-dir",
                str(self.build_dir.parent / "cache"),
                "--cached",
                "--parallel",
            ]
            started = time.monotonic()
            with sam_build_lock(exclusive=True):
                completed = subprocess.run(  # noqa: S603 - fixed command, no shell
                    command,
                    capture_output=True,
                    text=True,
                    timeout=900,
                    check=False,
                    cwd=self.template.parent,
                    env=sam_environment(),
                )
                if completed.returncode != 0:
                    raise SamError(
                        f"sam build of {self.template} failed ({completed.returncode}):\n"
                        f"{_tail(completed.stdout + completed.stderr)}"
                    )
                self._write_local_template()
            self.build_seconds = time.monotonic() - started
            return self.build_seconds

    def invoke(
        self,
        function: str,
        event: str | Path | Mapping[str, Any],
        env: Mapping[str, str] | None = None,
        timeout: float = 180,
    ) -> Invocation:
        """Invoke ``function`` (logical id) with an event file (relative to events/, or a path) or a dict.

        ``env`` overrides the function's environment (only variables the template declares take effect);
        its ``AWS_ENDPOINT_URL``, when set, must be reachable from a container (see ``bridge_gateway``).
        Without one the function's AWS calls go to ``NO_ENDPOINT`` and fail at once: never to AWS.
        """
        endpoint = (env or {}).get("AWS_ENDPOINT_URL") or None
        function_env = {**(env or {}), "AWS_ENDPOINT_URL": endpoint or NO_ENDPOINT}
        self.build()
        with tempfile.TemporaryDirectory(prefix="samlocal-") as scratch:
            event_file = _event_file(event, Path(scratch))
            command = [
                _sam_command(),
                "local",
                "invoke",
                function,
                "--template",
                str(self.local_template),
                "--event",
                str(event_file),
                "--invoke-image",
                self.image,
                "--skip-pull-image",
            ]
            env_file = Path(scratch) / "env.json"
            env_file.write_text(json.dumps({function: function_env}))
            command += ["--env-vars", str(env_file)]
            started = time.monotonic()
            with sam_build_lock(exclusive=False):
                # Another test's `sam build` of this checkout (the real sam deploy) rewrites the folder and
                # drops the local template: the same build, so write it again from what is there.
                if not self.local_template.is_file():
                    self._write_local_template()
                completed = subprocess.run(  # noqa: S603 - fixed command, no shell
                    command,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=False,
                    cwd=self.template.parent,
                    env=sam_environment(endpoint),
                )
            seconds = time.monotonic() - started
        if completed.returncode != 0:
            raise SamError(f"sam local invoke {function} failed ({completed.returncode}):\n{_tail(completed.stderr)}")
        if not completed.stdout.strip():
            # A handler returning None still answers `null`: nothing at all means the emulator gave up.
            raise SamError(f"sam local invoke {function} got no response:\n{_tail(completed.stderr)}")
        try:
            payload = json.loads(completed.stdout)
        except json.JSONDecodeError as error:
            raise SamError(
                f"sam local invoke {function} answered something that is not JSON: {completed.stdout[:500]!r}"
                f"\n{_tail(completed.stderr)}"
            ) from error
        return Invocation(function, payload, completed.stdout, completed.stderr, seconds)


def _event_file(event: str | Path | Mapping[str, Any], scratch: Path) -> Path:
    if isinstance(event, Mapping):
        path = scratch / "event.json"
        path.write_text(json.dumps(event))
        return path
    path = Path(event)
    if not path.is_absolute():
        path = EVENTS_DIR / path
    if not path.is_file():
        raise FileNotFoundError(f"no event file {path} (events live under {EVENTS_DIR})")
    return path


class BridgeMotoServer(ThreadedMotoServer):
    """moto's threaded server on the Docker bridge gateway, on a port the kernel picks.

    moto's ``stop`` leaves the listening socket open and its ``start`` waits forever when the address cannot
    be bound; both are closed here.
    """

    def __init__(self, host: str) -> None:
        super().__init__(ip_address=host, port=0, verbose=False)
        self.error: BaseException | None = None

    def _server_entry(self) -> None:
        try:
            super()._server_entry()
        except BaseException as error:  # reported by start(), in the test's thread
            self.error = error
            self._server_ready_event.set()

    def start(self) -> None:
        super().start()
        if self.error is not None:
            raise DockerUnavailableError(f"cannot serve moto on {self._ip_address}: {self.error}") from self.error

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        super().stop()
        if self._server is not None:
            self._server.server_close()


@pytest.fixture(autouse=True)
def docker_guard(request: pytest.FixtureRequest) -> None:
    """``@pytest.mark.docker`` tests: skipped with the reason when Docker cannot run, failed in CI."""
    if request.node.get_closest_marker("docker") is not None:
        require_docker()


@pytest.fixture(scope="session")
def sam_local() -> SamLocal:
    """The project's template, built once per process (``sam build --cached``)."""
    require_docker()
    project = SamLocal()
    project.build()
    return project


@pytest.fixture(scope="session")
def moto_bridge_server() -> Iterator[str]:
    """A moto server the function containers can reach (on the bridge gateway); yields its URL."""
    require_docker()
    server = BridgeMotoServer(bridge_gateway())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def moto_bridge_endpoint(moto_bridge_server: str) -> str:
    """The session's moto server, emptied for this test; its URL is the functions' AWS_ENDPOINT_URL."""
    request = urllib.request.Request(f"{moto_bridge_server}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the local server
        if response.status != 200:
            raise RuntimeError(f"moto reset answered {response.status}")
    return moto_bridge_server


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.samlocal env-vars [ENDPOINT]`` prints an ``--env-vars`` file for hand-typed runs."""
    import argparse  # noqa: PLC0415 - only the command line needs it

    parser = argparse.ArgumentParser(prog="python -m tests.samlocal")
    commands = parser.add_subparsers(dest="command", required=True)
    env_vars = commands.add_parser("env-vars", help="the --env-vars JSON of a `warmkeeper` stack")
    env_vars.add_argument("endpoint", nargs="?", help="local AWS endpoint (default: http://<bridge gateway>:5000)")
    commands.add_parser("bridge-gateway", help="the address containers reach this host at")
    arguments = parser.parse_args(argv)
    if arguments.command == "bridge-gateway":
        sys.stdout.write(bridge_gateway() + "\n")
        return 0
    endpoint = arguments.endpoint or f"http://{bridge_gateway()}:5000"
    # "Parameters" applies to every function of the template.
    sys.stdout.write(json.dumps({"Parameters": stack_env(endpoint)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
