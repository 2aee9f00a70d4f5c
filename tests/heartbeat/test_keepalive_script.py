"""caddy/keepalive.js in a real headless Chromium, on a page served through the real Caddy: the tab pings
through Caddy's relay while someone uses it, stops when nobody does, and never sees the token."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.heartbeat.browser import Chromium
from tests.heartbeat.caddy_stack import Stack, caddy_stack
from tests.heartbeat.conftest import FIXTURE_TOKEN, Account, ensure_debian_tool

# One ping a second and a 3-second idle window keep the test short; the defaults are 60 s and 5 minutes.
SCRIPT = '<script src="/_keepalive.js" data-interval-seconds="1" data-idle-minutes="0.05" defer></script>'


@pytest.fixture
def stack(account: Account, tmp_path: Path) -> Iterator[Stack]:
    with caddy_stack(tmp_path, web_head=SCRIPT) as running:
        yield running


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    browser = Chromium(ensure_debian_tool("chromium"), tmp_path / "profile")
    try:
        yield browser
    finally:
        browser.close()


def _pings(stack: Stack) -> int:
    return sum(1 for seen in stack.alb.seen if seen.path == "/_warmkeeper/heartbeat")


def _wait_for_pings(stack: Stack, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while _pings(stack) < count:
        assert time.monotonic() < deadline, f"only {_pings(stack)} pings arrived, expected {count}"
        time.sleep(0.1)


def test_a_used_tab_keeps_the_service_awake_and_an_idle_one_does_not(stack: Stack, chromium: Chromium) -> None:
    chromium.page("Page.navigate", {"url": f"{stack.caddy}/guides"})
    chromium.wait_for("document.title === 'Stand-in app'")
    # Loading the page is activity: pings start.
    _wait_for_pings(stack, 1)
    relayed = [seen for seen in stack.alb.seen if seen.path == "/_warmkeeper/heartbeat"]
    assert all(seen.headers["authorization"] == [f"Bearer {FIXTURE_TOKEN}"] for seen in relayed)
    assert all(json.loads(seen.body) == {"source": "browser-tab"} for seen in relayed)
    assert all(seen.status == 202 for seen in relayed)

    # Nobody touches the tab: after the idle window, no more pings.
    time.sleep(4.5)
    idle_count = _pings(stack)
    time.sleep(3)
    assert _pings(stack) == idle_count

    # Someone types: pings resume.
    chromium.page("Input.dispatchKeyEvent", {"type": "keyDown", "key": "a", "text": "a"})
    chromium.page("Input.dispatchKeyEvent", {"type": "keyUp", "key": "a"})
    _wait_for_pings(stack, idle_count + 1)

    # The page never held the token: not in its HTML, scripts or the answers its pings got.
    assert FIXTURE_TOKEN not in chromium.evaluate("document.documentElement.outerHTML")
    script = chromium.evaluate("fetch('/_keepalive.js').then(r => r.text())")
    assert "/_keepalive" in script
    assert FIXTURE_TOKEN not in script
    answer = chromium.evaluate(
        "fetch('/_keepalive', {method: 'POST', body: '{}'})"
        ".then(r => r.text().then(t => r.status + ' ' + [...r.headers].join(';') + ' ' + t))"
    )
    assert answer.startswith("202 ")
    assert FIXTURE_TOKEN not in answer
