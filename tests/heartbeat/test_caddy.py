"""The shipped Caddyfile in a real Caddy (Debian's), in front of stand-in api and web containers, relaying
keepalive pings to the real heartbeat handler behind a loopback ALB adapter."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.heartbeat.caddy_stack import CADDY_DIR, OUTSIDE_ADDRESS, Stack, caddy_env, caddy_stack, free_port
from tests.heartbeat.conftest import FIXTURE_TOKEN, Account, ensure_debian_tool
from tests.heartbeat.servers import serve, stand_in_app


@pytest.fixture
def stack(account: Account, tmp_path: Path) -> Iterator[Stack]:
    with caddy_stack(tmp_path) as running:
        yield running


def _leaks_token(response: requests.Response) -> bool:
    headers = json.dumps(dict(response.headers))
    return FIXTURE_TOKEN in headers or FIXTURE_TOKEN.encode() in response.content


def test_api_and_web_are_routed_like_the_seeds(stack: Stack) -> None:
    api = requests.get(f"{stack.caddy}/api/guides?city=paris", timeout=5)
    assert api.json() == {"container": "api", "method": "GET", "path": "/api/guides", "ok": True}
    web = requests.get(f"{stack.caddy}/guides/paris", timeout=5)
    assert "Stand-in app" in web.text
    assert [seen.path for seen in stack.web.seen] == ["/guides/paris"]
    assert [seen.path for seen in stack.api.seen] == ["/api/guides?city=paris"]


def test_health_check_is_the_api_s_own_answer(stack: Stack) -> None:
    healthy = requests.get(f"{stack.caddy}/api/health", headers={"User-Agent": "ELB-HealthChecker/2.0"}, timeout=5)
    assert healthy.status_code == 200
    assert healthy.json()["container"] == "api"
    assert [seen.path for seen in stack.api.seen] == ["/api/health"]


def test_health_check_fails_while_the_api_is_down(account: Account, tmp_path: Path) -> None:
    ensure_debian_tool("caddy")
    with serve(stand_in_app("web")) as web, serve(stand_in_app("api")) as alb:
        port = free_port()
        dead_api = free_port()  # nothing listens there: the api container has not started yet
        env = caddy_env(tmp_path, port, alb, web, alb)
        env["API_UPSTREAM"] = f"127.0.0.1:{dead_api}"
        process = subprocess.Popen(  # noqa: S603
            [str(CADDY_DIR / "entrypoint.sh")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    response = requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline, "caddy did not start"
                    time.sleep(0.05)
            # Not 200: the ALB keeps the target unhealthy and visitors on the waiting page.
            assert response.status_code == 502
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_keepalive_is_relayed_with_the_token_which_never_reaches_the_client(stack: Stack) -> None:
    response = requests.post(
        f"{stack.caddy}/_keepalive",
        json={"source": "batch-job"},
        headers={"Authorization": "Bearer forged-by-the-client", "Cookie": "session=abc"},
        timeout=5,
    )
    assert response.status_code == 202
    assert response.json() == {"accepted": True, "wakeRequested": False}
    assert not _leaks_token(response)

    [relayed] = stack.alb.seen
    assert relayed.method == "POST"
    assert relayed.path == "/_warmkeeper/heartbeat"
    # Exactly the stack's token: Caddy replaced the client's header, and dropped the cookie.
    assert relayed.headers["authorization"] == [f"Bearer {FIXTURE_TOKEN}"]
    assert "cookie" not in relayed.headers
    assert json.loads(relayed.body) == {"source": "batch-job"}
    assert relayed.status == 202


def test_an_in_task_job_keeps_the_service_awake_with_an_empty_post(stack: Stack) -> None:
    response = requests.post(f"{stack.caddy}/_keepalive", timeout=5)
    assert response.status_code == 202
    assert stack.alb.seen[-1].headers["authorization"] == [f"Bearer {FIXTURE_TOKEN}"]


def test_a_job_can_ask_for_a_wake_through_the_relay(stack: Stack, account: Account) -> None:
    response = requests.post(f"{stack.caddy}/_keepalive", json={"wake": True, "source": "cron"}, timeout=5)
    assert response.json() == {"accepted": True, "wakeRequested": True}
    [event] = account.wake_events()
    assert event["detail"]["requestedBy"] == "heartbeat:cron"


def test_keepalive_takes_post_only_and_relays_nothing_else(stack: Stack) -> None:
    response = requests.get(f"{stack.caddy}/_keepalive", timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert stack.alb.seen == []


def test_oversized_keepalive_is_refused_before_the_relay_sends_it(stack: Stack) -> None:
    response = requests.post(f"{stack.caddy}/_keepalive", data=b"x" * 4096, timeout=5)
    assert response.status_code == 413
    assert not _leaks_token(response)
    assert stack.alb.seen == []


def test_keepalive_script_is_served_and_holds_no_secret(stack: Stack) -> None:
    response = requests.get(f"{stack.caddy}/_keepalive.js", timeout=5)
    assert response.status_code == 200
    assert "javascript" in response.headers["Content-Type"]
    assert 'fetch("/_keepalive"' in response.text
    assert not _leaks_token(response)


def test_the_token_is_in_no_answer_and_in_no_log_line(stack: Stack) -> None:
    answers = [
        requests.post(f"{stack.caddy}/_keepalive", json={}, timeout=5),
        requests.get(f"{stack.caddy}/_keepalive", timeout=5),
        requests.get(f"{stack.caddy}/_keepalive.js", timeout=5),
        requests.get(f"{stack.caddy}/", timeout=5),
        requests.get(f"{stack.caddy}/api/health", timeout=5),
    ]
    assert not any(_leaks_token(answer) for answer in answers)
    assert FIXTURE_TOKEN not in stack.log.read_text()


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("WARMKEEPER_TOKEN", "WARMKEEPER_TOKEN is not set"),
        ("WARMKEEPER_HEARTBEAT_URL", "WARMKEEPER_HEARTBEAT_URL is not set"),
    ],
)
def test_entrypoint_refuses_to_start_without_its_settings(tmp_path: Path, missing: str, message: str) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "WARMKEEPER_HEARTBEAT_URL": "http://127.0.0.1:9/_warmkeeper/heartbeat",
        "WARMKEEPER_TOKEN": FIXTURE_TOKEN,
    }
    del env[missing]
    result = subprocess.run(  # noqa: S603
        [str(CADDY_DIR / "entrypoint.sh")], env=env, capture_output=True, text=True, timeout=10, check=False
    )
    assert result.returncode == 64
    assert message in result.stderr


def test_entrypoint_rejects_a_url_without_a_path(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "WARMKEEPER_HEARTBEAT_URL": "example.com", "WARMKEEPER_TOKEN": "t"}
    result = subprocess.run(  # noqa: S603
        [str(CADDY_DIR / "entrypoint.sh")], env=env, capture_output=True, text=True, timeout=10, check=False
    )
    assert result.returncode == 64
    assert "must be http(s)://host[:port]/path" in result.stderr


def test_shipped_caddyfile_validates() -> None:
    caddy = ensure_debian_tool("caddy")
    result = subprocess.run(  # noqa: S603
        [caddy, "validate", "--config", str(CADDY_DIR / "Caddyfile"), "--adapter", "caddyfile"],
        env={
            "PATH": os.environ["PATH"],
            "HOME": "/tmp",  # noqa: S108
            "WARMKEEPER_HEARTBEAT_ORIGIN": "https://app.example.com",
            "WARMKEEPER_TOKEN": FIXTURE_TOKEN,
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def _post_from_outside(stack: Stack, body: bytes, *, count: int = 1) -> list[int]:
    """POST /_keepalive from an address outside the task (as every request through the ALB is)."""
    url = urlsplit(stack.caddy)
    statuses = []
    for _ in range(count):
        connection = http.client.HTTPConnection(
            url.hostname or "", url.port, timeout=5, source_address=(OUTSIDE_ADDRESS, 0)
        )
        try:
            connection.request("POST", "/_keepalive", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        finally:
            connection.close()
    return statuses


def test_pings_from_outside_the_task_are_never_relayed_and_cannot_wake(stack: Stack, account: Account) -> None:
    # A browser tab, or anyone on the internet, asking for a wake in a loop: answered by Caddy alone.
    assert _post_from_outside(stack, b'{"wake": true, "source": "browser-tab"}', count=50) == [204] * 50
    assert stack.alb.seen == []  # not one relayed: no heartbeat invocation, no token used
    assert account.wake_events() == []
    # The same request from a job inside the task is relayed with the token and asks for the wake.
    inside = requests.post(f"{stack.caddy}/_keepalive", json={"wake": True, "source": "cron"}, timeout=5)
    assert inside.json() == {"accepted": True, "wakeRequested": True}
    assert [seen.path for seen in stack.alb.seen] == ["/_warmkeeper/heartbeat"]
    assert len(account.wake_events()) == 1


def test_outside_pings_keep_the_method_and_size_checks(stack: Stack) -> None:
    assert _post_from_outside(stack, b"x" * 4096) == [413]
    url = urlsplit(stack.caddy)
    connection = http.client.HTTPConnection(
        url.hostname or "", url.port, timeout=5, source_address=(OUTSIDE_ADDRESS, 0)
    )
    connection.request("GET", "/_keepalive")
    assert connection.getresponse().status == 405
    connection.close()
    assert stack.alb.seen == []
