"""The stack of template.yaml made the way its users make it: ``sam build``, then ``warmkeeper deploy`` (which runs
the real ``sam deploy`` with samconfig.toml's environment), against the local endpoint.

The local network and the local settings (``MinAwakeMinutes=0``...) go in as ``--parameter-overrides`` on top of
samconfig's; a later deploy (a new image tag) is a second ``warmkeeper deploy`` with the same overrides. What the
local CloudFormation lacks for this path is bridged in :mod:`local_aws.samdeploy`; what moto does not create at
all is completed from the template's properties as for the in-process creation (:func:`local_aws.stack.complete`).

``sam build`` writes to a folder of its own (``--build-dir`` under build/sam-deploy, not the ``.aws-sam/build`` that
the ``sam local invoke`` tests build into), under a lock, and each run deploys from its own copy of it: parallel
runs (pytest -n) never rewrite each other's files, and a second build of unchanged code takes seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_aws.endpoint import LocalEndpoint, scoped_environment
from local_aws.stack import (
    ROOT,
    TEMPLATE,
    LocalStack,
    StackError,
    _functions,
    _stack_failure,
    complete,
    create_network,
    load_template,
    local_parameters,
)

# Where the runs' build folders and their shared cache live (ignored by git, like .aws-sam).
WORK_DIR = ROOT / "build" / "sam-deploy"
CONFIG_ENV = "default"
FIRST_TAG = "v1"
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def _sam_command() -> str:
    beside_python = Path(sys.executable).parent / "sam"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("sam")
    if found is None:
        raise StackError("no sam command: run `make venv` (the SAM CLI is a dev dependency)")
    return found


@contextlib.contextmanager
def _cache_lock(work_dir: Path) -> Iterator[None]:
    work_dir.mkdir(parents=True, exist_ok=True)
    with (work_dir / "cache.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sam_environment(work_dir: Path) -> dict[str, str]:
    """The SAM CLI's own settings: no telemetry, no version check, no profile or credentials of this machine."""
    app_dir = work_dir / "sam-cli"
    app_dir.mkdir(parents=True, exist_ok=True)
    metadata = {"telemetryEnabled": False, "lastVersionCheck": time.time()}
    scratch = app_dir / f"metadata.{os.getpid()}.json"
    scratch.write_text(json.dumps(metadata), encoding="utf-8")
    scratch.replace(app_dir / "metadata.json")  # atomically: another run's sam may be reading it
    return {
        "SAM_CLI_TELEMETRY": "0",
        "__SAM_CLI_APP_DIR": str(app_dir),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        # sam build runs the virtual environment's python3.13.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _run_logged(command: list[str], log: Path, cwd: Path, timeout: float = 900) -> int:
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"$ {' '.join(command)}\n")
        handle.flush()
        try:
            completed = subprocess.run(  # noqa: S603 - the SAM CLI, with arguments built here
                command, stdout=handle, stderr=subprocess.STDOUT, cwd=cwd, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            handle.write(f"\n(timed out after {timeout:.0f} s)\n")
            return 124
        return completed.returncode


def _short(argument: str) -> str:
    """A command-line argument as shown: paths inside the checkout relative to it."""
    if argument.startswith(str(ROOT) + os.sep):
        return os.path.relpath(argument, ROOT)
    return argument if " " not in argument else repr(argument)


def _tail(log: Path, lines: int = 25) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class SamDeployment:
    """How a stack was made with ``sam build`` + ``warmkeeper deploy``, so that a later deploy is made the same way."""

    template_path: Path
    config_file: Path
    config_env: str
    # The local network and settings, given as --parameter-overrides on top of samconfig's.
    overrides: dict[str, str]
    run_dir: Path
    build_seconds: float = 0.0
    # True when nothing changed since the checkout's last sam build, which was reused.
    build_reused: bool = False
    deploy_seconds: list[float] = field(default_factory=list)

    @property
    def build_dir(self) -> Path:
        return self.run_dir / "build"

    @property
    def log(self) -> Path:
        """Everything sam build and sam deploy printed (the demo keeps its own output short)."""
        return self.run_dir / "sam.log"

    def build(self) -> float:
        """``sam build --cached`` of the template into the checkout's shared build folder (under a lock), copied
        into this run's own; returns the seconds it took. SAM keeps what its cache needs (build.toml, the
        dependency folders) beside and below the shared folder, so a build of unchanged code takes seconds."""
        shared = self.run_dir.parent
        command = [
            _sam_command(),
            "build",
            "--template",
            str(self.template_path),
            "--build-dir",
            str(shared / "build"),
            "--cache-dir",
            str(shared / "cache"),
            "--cached",
            "--parallel",
        ]
        started = time.monotonic()
        with _cache_lock(shared), scoped_environment(sam_environment(shared)):
            stamp, fingerprint = shared / "build.fingerprint", _fingerprint(self.template_path)
            if (shared / "build" / "template.yaml").is_file() and _read(stamp) == fingerprint:
                # sam build --cached rebuilds a layer's dependencies every time (about 30 s): skip the whole
                # build when neither the template nor any code folder changed since the last one.
                self.build_reused = True
                status = 0
            else:
                stamp.unlink(missing_ok=True)
                status = _run_logged(command, self.log, cwd=shared)
                if status == 0:
                    stamp.write_text(fingerprint, encoding="utf-8")
            if status == 0:
                shutil.copytree(shared / "build", self.build_dir, symlinks=True)
        if status != 0:
            raise StackError(f"sam build failed ({status}); its output ({self.log}):\n{_tail(self.log)}")
        self.build_seconds = time.monotonic() - started
        return self.build_seconds

    def deploy_arguments(self, tag: str, more_overrides: Mapping[str, str] | None = None) -> list[str]:
        """The ``warmkeeper deploy`` command line (without the program name)."""
        overrides = {**self.overrides, **(more_overrides or {})}
        return [
            "deploy",
            "--config-env",
            self.config_env,
            "--config-file",
            str(self.config_file),
            "--tag",
            tag,
            "--no-confirm",
            "--sam",
            _sam_command(),
            "--template-file",
            str(self.build_dir / "template.yaml"),
            "--parameter-overrides",
            *(f"{k}={v}" for k, v in overrides.items()),
        ]

    def deploy(
        self, endpoint: LocalEndpoint, tag: str, more_overrides: Mapping[str, str] | None = None
    ) -> tuple[int, list[str]]:
        """``warmkeeper deploy --tag TAG`` against ``endpoint``: its exit status and what it printed (sam deploy's
        own output goes to :attr:`log`)."""
        # Imported here: the CLI is a separate package of the project, needed only by this path.
        from warmkeeper_cli.main import Runtime, main  # noqa: PLC0415

        arguments = self.deploy_arguments(tag, more_overrides)
        out, err = io.StringIO(), io.StringIO()
        runtime = Runtime(out=out, err=err, run_command=lambda command: _run_logged(command, self.log, ROOT))
        started = time.monotonic()
        environment = {**endpoint.function_environment(), **sam_environment(self.run_dir.parent)}
        with scoped_environment(environment):
            status = main(arguments, runtime)
        self.deploy_seconds.append(time.monotonic() - started)
        shown = [_short(a) for a in arguments]
        lines = [f"$ warmkeeper {' '.join(shown)}", *(out.getvalue() + err.getvalue()).splitlines()]
        if status != 0:
            lines += [f"sam's output ({self.log}):", *_tail(self.log).splitlines()]
        return status, lines

    def close(self) -> None:
        shutil.rmtree(self.run_dir, ignore_errors=True)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _fingerprint(template_path: Path) -> str:
    """A digest of what sam build reads: the template and every file of the code folders it names."""
    digest = hashlib.sha256(template_path.read_bytes())
    functions, layers = _source_code_dirs(template_path)
    for directory in sorted({*functions.values(), *layers}):
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not _SKIPPED_PARTS.intersection(path.parts) and path.suffix != ".pyc":
                digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _source_code_dirs(template_path: Path) -> tuple[dict[str, Path], list[Path]]:
    """The functions' and layers' source folders (what sam build packaged), by logical id; in-process functions
    import their code from there."""
    template = load_template(template_path)
    functions: dict[str, Path] = {}
    layers: list[Path] = []
    for logical_id, resource in template["Resources"].items():
        key = _CODE_PROPERTIES.get(resource.get("Type", ""))
        location = resource.get("Properties", {}).get(key) if key else None
        if isinstance(location, str):
            directory = (template_path.parent / location).resolve()
            if resource["Type"] == "AWS::Serverless::LayerVersion":
                layers.append(directory)
            else:
                functions[logical_id] = directory
    return functions, layers


def _config_file(template_path: Path) -> Path:
    beside = template_path.parent / "samconfig.toml"
    return beside if beside.is_file() else ROOT / "samconfig.toml"


def deploy_stack_with_sam(
    endpoint: LocalEndpoint,
    *,
    template_path: Path = TEMPLATE,
    stack_name: str,
    overrides: Mapping[str, str] | None = None,
    network: Mapping[str, Any] | None = None,
    config_env: str = CONFIG_ENV,
    work_dir: Path = WORK_DIR,
) -> LocalStack:
    """Creates the stack with ``sam build`` and ``warmkeeper deploy`` (the real ``sam deploy``); raises
    :class:`StackError` on any failure. The returned stack's ``sam`` redeploys it the same way."""
    template_path = template_path.resolve()
    network = dict(network) if network is not None else create_network(endpoint)
    work_dir.mkdir(parents=True, exist_ok=True)
    deployment = SamDeployment(
        template_path=template_path,
        config_file=_config_file(template_path),
        config_env=config_env,
        overrides=local_parameters(network, overrides),
        run_dir=Path(tempfile.mkdtemp(prefix="run-", dir=work_dir)),
    )
    try:
        deployment.build()
        status, lines = deployment.deploy(endpoint, FIRST_TAG)
        if status != 0:
            raise StackError("warmkeeper deploy (sam deploy) could not create the stack:\n" + "\n".join(lines))
        stack = _created_stack(endpoint, stack_name, template_path, network)
    except BaseException:
        deployment.close()
        raise
    stack.sam = deployment
    return stack


def _created_stack(
    endpoint: LocalEndpoint, stack_name: str, template_path: Path, network: dict[str, Any]
) -> LocalStack:
    """The :class:`LocalStack` of a stack that CloudFormation (sam deploy) created, read back from it."""
    cloudformation = endpoint.client("cloudformation")
    try:
        described = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except Exception as error:
        raise StackError(f"sam deploy made no stack {stack_name} (is it samconfig's stack_name?): {error}") from error
    if described["StackStatus"] not in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}:
        raise StackError(f"stack {stack_name} is {described['StackStatus']}: {_stack_failure(endpoint, stack_name)}")
    body = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    # The template CloudFormation holds: the Serverless transform's output (local_aws.samdeploy).
    translated: dict[str, Any] = body if isinstance(body, dict) else json.loads(body)
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    physical_ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r.get("PhysicalResourceId")}
    created_after_stack, not_modelled = complete(endpoint, stack_name, translated, physical_ids)
    code_dirs, layer_dirs = _source_code_dirs(template_path)
    return LocalStack(
        endpoint=endpoint,
        name=stack_name,
        template_path=template_path,
        parameters={p["ParameterKey"]: str(p["ParameterValue"]) for p in described.get("Parameters", [])},
        translated=translated,
        physical_ids=physical_ids,
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        functions=_functions(endpoint, translated, physical_ids, code_dirs),
        network=network,
        layer_dirs=layer_dirs,
        created_after_stack=created_after_stack,
        not_modelled=not_modelled,
    )


def redeploy_with_sam(stack: LocalStack, overrides: Mapping[str, str]) -> tuple[int, list[str]]:
    """A deploy of a stack made by :func:`deploy_stack_with_sam`: ``warmkeeper deploy`` with ``overrides``'
    ImageTag (the stack's own when absent) and the other overrides on top of the first deploy's."""
    deployment = stack.sam
    if deployment is None:
        raise StackError(f"the stack {stack.name} was not made with sam deploy")
    more = dict(overrides)
    tag = more.pop("ImageTag", None) or stack.parameters.get("ImageTag") or FIRST_TAG
    status, lines = deployment.deploy(stack.endpoint, tag, more)
    if status == 0:
        described = stack.endpoint.client("cloudformation").describe_stacks(StackName=stack.name)["Stacks"][0]
        stack.parameters = {p["ParameterKey"]: str(p["ParameterValue"]) for p in described.get("Parameters", [])}
        stack.outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return status, lines


__all__ = ["SamDeployment", "deploy_stack_with_sam", "redeploy_with_sam"]
