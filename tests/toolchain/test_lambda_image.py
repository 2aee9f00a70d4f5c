"""The local Lambda base image (scripts/lambda-image/build.sh): what it holds, and when it is rebuilt."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.samlocal import LOCAL_IMAGE, REPO_ROOT, in_ci

pytestmark = pytest.mark.docker

SCRIPTS = REPO_ROOT / "scripts"
BUILD_SCRIPT = SCRIPTS / "lambda-image" / "build.sh"


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO_ROOT / "requirements-dev.txt").read_text().splitlines():
        match = re.fullmatch(r"(awslambdaric|boto3|botocore)==(\S+)", line.strip())
        if match:
            pins[match[1]] = match[2]
    return pins


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=check)  # noqa: S603, S607


def _image_id(image: str) -> str:
    return _docker("image", "inspect", "--format", "{{.Id}}", image).stdout.strip()


def _build(script: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(  # noqa: S603 - the project's own script
        ["/bin/bash", str(script)], capture_output=True, text=True, timeout=600, check=False, env=env
    )
    assert completed.returncode == 0, completed.stderr
    return completed


def test_image_runs_python_313_with_the_pinned_runtime_packages() -> None:
    probe = (
        "import json, sys, importlib.metadata as m, awslambdaric, boto3, ssl, sqlite3, ctypes;"
        "print(json.dumps({'python': sys.version.split()[0], 'executable': sys.executable,"
        " **{name: m.version(name) for name in ('awslambdaric', 'boto3', 'botocore')}}))"
    )
    completed = _docker(
        "run", "--rm", "--entrypoint", "/var/lang/bin/python3", "--env", "PYTHONPATH=/var/runtime",
        LOCAL_IMAGE, "-c", probe,
    )  # fmt: skip

    found = json.loads(completed.stdout)
    assert found["python"].startswith("3.13.")
    assert found["executable"] == "/var/lang/bin/python3"
    assert {name: found[name] for name in ("awslambdaric", "boto3", "botocore")} == _pins()


def test_image_has_the_lambda_layout() -> None:
    config = json.loads(_docker("image", "inspect", "--format", "{{json .Config}}", LOCAL_IMAGE).stdout)
    env = dict(item.split("=", 1) for item in config["Env"])

    assert config["Entrypoint"] == ["/lambda-entrypoint.sh"]
    assert config["WorkingDir"] == "/var/task"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"
    assert env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
    assert env["PATH"].split(":")[0] == "/var/lang/bin"
    assert env["LD_LIBRARY_PATH"].split(":")[0] == "/var/lang/lib"
    assert re.fullmatch(r"[0-9a-f]{16}", config["Labels"]["warmkeeper.inputs"])


def test_bootstrap_without_a_handler_fails_with_a_clear_message() -> None:
    completed = _docker("run", "--rm", "--entrypoint", "/var/runtime/bootstrap", LOCAL_IMAGE, check=False)

    assert completed.returncode == 64
    assert "no handler" in completed.stderr


def test_entry_point_outside_an_emulator_says_how_to_run_a_function() -> None:
    completed = _docker("run", "--rm", LOCAL_IMAGE, "app.handler", check=False)

    assert completed.returncode == 64
    assert "sam local invoke" in completed.stderr


def test_build_is_skipped_when_its_inputs_are_unchanged() -> None:
    before = _image_id(LOCAL_IMAGE)

    completed = _build(BUILD_SCRIPT)

    assert "is up to date" in completed.stderr
    assert _image_id(LOCAL_IMAGE) == before


def _download_cache() -> Path:
    """Where build.sh keeps its downloads (busybox-static, wheels); see its header."""
    if os.environ.get("WARMKEEPER_CACHE_DIR"):
        return Path(os.environ["WARMKEEPER_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "warmkeeper" / "lambda-image"


@pytest.fixture
def copied_builder(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The build scripts in a scratch checkout with their own image tag and work folder.

    They share this machine's download cache, so the scratch builds need no network access.
    """
    cache = _download_cache()
    if not (cache / "wheels" / ".pins").is_file() or not list(cache.glob("busybox-static_*.deb")):
        message = f"no download cache in {cache}: run `make lambda-image` first"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    checkout = tmp_path / "checkout"
    shutil.copytree(SCRIPTS, checkout / "scripts")
    shutil.copy(REPO_ROOT / "requirements-dev.txt", checkout)
    (checkout / ".venv").symlink_to(REPO_ROOT / ".venv")
    image = f"warmkeeper/lambda-python3.13:test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "WARMKEEPER_LAMBDA_IMAGE": image, "WARMKEEPER_BUILD_DIR": str(tmp_path / "build")}
    try:
        yield checkout, env
    finally:
        _docker("image", "rm", "--force", image, check=False)


@pytest.mark.slow
def test_build_follows_its_inputs(copied_builder: tuple[Path, dict[str, str]]) -> None:
    checkout, env = copied_builder
    script = checkout / "scripts" / "lambda-image" / "build.sh"
    image = env["WARMKEEPER_LAMBDA_IMAGE"]
    # The copy has the same inputs as this checkout, so the project's image stands for its first build.
    _docker("tag", LOCAL_IMAGE, image)
    built = _image_id(image)

    again = _build(script, env)
    assert "is up to date" in again.stderr
    assert _image_id(image) == built

    with (checkout / "scripts" / "lambda-image" / "bootstrap").open("a") as bootstrap:
        bootstrap.write("# an edit\n")
    changed = _build(script, env)
    assert "inputs changed" in changed.stderr
    rebuilt = _image_id(image)
    assert rebuilt != built
    assert _image_id(LOCAL_IMAGE) == built  # the project's own image is untouched
