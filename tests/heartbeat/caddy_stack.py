"""A real Caddy (Debian's) running the shipped Caddyfile through the shipped entrypoint, in front of
stand-in api and web containers, relaying keepalive pings to the real heartbeat handler behind the
loopback ALB adapter."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from heartbeat.handler import lambda_handler
from tests.heartbeat.conftest import FIXTURE_TOKEN, ROOT, FakeContext, ensure_debian_tool
from tests.heartbeat.servers import AlbAdapter, Running, serve, stand_in_app

CADDY_DIR = ROOT / "caddy"
IN_TASK_ADDRESS = "127.0.0.1"
OUTSIDE_ADDRESS = "127.0.0.2"  # stands for the load balancer: a client address Caddy does not trust


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    caddy: str
    api: Running
    web: Running
    alb: Running
    adapter: AlbAdapter
    log: Path


def caddy_env(tmp: Path, port: int, api: Running, web: Running, alb: Running) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "CADDYFILE": str(CADDY_DIR / "Caddyfile"),
        "CADDY_PORT": str(port),
        "CADDY_BIND": "127.0.0.1",
        "API_UPSTREAM": f"127.0.0.1:{api.port}",
        "WEB_UPSTREAM": f"127.0.0.1:{web.port}",
        "HEALTH_CHECK_PATH": "/api/health",
        "WARMKEEPER_ASSETS": str(CADDY_DIR),
        "WARMKEEPER_HEARTBEAT_URL": f"{alb.url}/_warmkeeper/heartbeat",
        "WARMKEEPER_TOKEN": FIXTURE_TOKEN,
        # The tests' in-task jobs connect from 127.0.0.1; "outside the task" is another loopback address.
        "WARMKEEPER_LOCAL_CLIENTS": f"{IN_TASK_ADDRESS}/32",
    }


@contextmanager
def caddy_stack(tmp_path: Path, web_head: str = "") -> Iterator[Stack]:
    """Caddy on a free loopback port; needs a moto account (the heartbeat handler reads it)."""
    ensure_debian_tool("caddy")
    adapter = AlbAdapter(handler=lambda_handler, context=FakeContext())
    with (
        serve(stand_in_app("api")) as api,
        serve(stand_in_app("web", web_head)) as web,
        serve(adapter.respond) as alb,
    ):
        port = free_port()
        log = tmp_path / "caddy.log"
        with log.open("w") as sink:
            process = subprocess.Popen(  # noqa: S603 - our own entrypoint script
                [str(CADDY_DIR / "entrypoint.sh")],
                env=caddy_env(tmp_path, port, api, web, alb),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"caddy did not start:\n{log.read_text()}")
                    time.sleep(0.05)
            yield Stack(f"http://127.0.0.1:{port}", api, web, alb, adapter, log)
        finally:
            process.terminate()
            process.wait(timeout=10)
