"""The waiting page in a real headless Chromium (Debian's), served by the real handler behind the loopback
ALB adapter: it renders at phone width, polls the status endpoint, shows progress, and lands on the
original URL once the service is ready; a failed wake shows why and retries on request; with JavaScript
off, the meta refresh brings the visitor back. Screenshots go to artifacts/heartbeat/ (git-ignored)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heartbeat.handler import lambda_handler
from tests.heartbeat.browser import Chromium
from tests.heartbeat.conftest import ROOT, Account, FakeContext, ensure_debian_tool
from tests.heartbeat.servers import AlbAdapter, Running, serve

ARTIFACTS = ROOT / "artifacts" / "heartbeat"
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Site:
    adapter: AlbAdapter
    alb: Running

    def hits(self, method: str, path: str) -> int:
        return sum(1 for seen in self.alb.seen if seen.method == method and seen.path.split("?")[0] == path)


@pytest.fixture
def site(account: Account) -> Iterator[Site]:
    adapter = AlbAdapter(handler=lambda_handler, context=FakeContext())
    with serve(adapter.respond) as alb:
        yield Site(adapter, alb)


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    browser = Chromium(ensure_debian_tool("chromium"), tmp_path / "profile")
    try:
        browser.page("Emulation.setDeviceMetricsOverride", PHONE)
        yield browser
    finally:
        browser.close()


# WCAG 2 contrast ratio of each visible text element against its effective background.
CONTRAST = """
(() => {
  const rgb = (c) => c.match(/[0-9.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const out = {};
  for (const sel of ["h1", "#wk-message", "#wk-detail", "#wk-reason", ".failure strong", "button"]) {
    const el = document.querySelector(sel);
    if (!el || el.offsetParent === null) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    out[sel] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  return out;
})()
"""


def _wait(condition: str, check: object, timeout: float = 25) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        time.sleep(0.1)


def test_waiting_page_polls_status_and_lands_on_the_original_url(
    account: Account, site: Site, chromium: Chromium
) -> None:
    url = f"{site.alb.url}/guides/paris?lang=fr"
    chromium.page("Page.navigate", {"url": url})
    chromium.wait_for("document.getElementById('wk-message') !== null")

    assert chromium.evaluate("document.title") == "City Guided: starting up"
    assert chromium.evaluate("document.documentElement.lang") == "en"
    assert chromium.evaluate("document.querySelector('[role=status]').getAttribute('aria-live')") == "polite"
    assert chromium.evaluate("document.querySelector('h1').textContent") == "City Guided"
    # Fits a phone: no horizontal scrolling at 390 CSS pixels.
    assert chromium.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    [wake] = account.wake_events()
    assert wake["detail"]["requestedBy"] == "visitor"

    # The controller starts the wake; the page learns it from /_warmkeeper/status.
    account.set_desired(1)
    account.set_state({"wakeStartedAt": _iso(datetime.now(UTC) - timedelta(seconds=20))})
    chromium.wait_for("document.getElementById('wk-detail').textContent.includes('s so far')")
    assert chromium.evaluate("document.documentElement.dataset.state") == "waking"
    assert chromium.evaluate("document.getElementById('wk-progress').value") > 0
    assert "Starting City Guided" in chromium.evaluate("document.getElementById('wk-message').textContent")
    assert site.hits("GET", "/_warmkeeper/status") >= 1
    chromium.screenshot(ARTIFACTS / "waiting-page-waking.png")

    # Ready: a healthy target, traffic back on ECS (the listener now routes to the application).
    account.register_target()
    account.set_state({"awakeSince": _iso(datetime.now(UTC))})
    site.adapter.route_to_app = True
    chromium.wait_for("document.title === 'Stand-in app'", timeout=20)
    assert chromium.evaluate("location.href") == url
    assert chromium.evaluate("document.getElementById('app-path').textContent") == "/guides/paris"
    chromium.screenshot(ARTIFACTS / "landed-on-original-url.png")
    # The page itself never asked for a second wake.
    assert account.wake_events() == []


def test_failed_wake_shows_why_and_retries_on_request(account: Account, site: Site, chromium: Chromium) -> None:
    account.set_desired(1)
    account.set_state(
        {
            "failure": {
                "kind": "task-start-impaired",
                "reason": "CannotPullContainerError: pull access denied for city-guided-web",
                "at": _iso(datetime.now(UTC) - timedelta(minutes=2)),
            }
        }
    )
    chromium.page("Page.navigate", {"url": f"{site.alb.url}/guides"})
    chromium.wait_for("document.getElementById('wk-failure') && !document.getElementById('wk-failure').hidden")
    assert chromium.evaluate("document.title") == "City Guided: start failed"
    assert "CannotPullContainerError" in chromium.evaluate("document.getElementById('wk-reason').textContent")
    # The status poll keeps the failure on screen (no spinner pretending all is well).
    _wait("a status poll", lambda: site.hits("GET", "/_warmkeeper/status") >= 1)
    assert not chromium.evaluate("document.getElementById('wk-failure').hidden")
    assert chromium.evaluate("document.getElementById('wk-progress').hidden")
    chromium.screenshot(ARTIFACTS / "waiting-page-failed.png")
    assert account.wake_events() == []

    for scheme in ("light", "dark"):
        chromium.page("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
        ratios = chromium.evaluate(CONTRAST)
        assert set(ratios) == {"h1", "#wk-message", "#wk-detail", "#wk-reason", ".failure strong", "button"}
        low = {selector: round(ratio, 2) for selector, ratio in ratios.items() if ratio < 4.5}
        assert low == {}, f"{scheme}: contrast below WCAG AA 4.5:1 for {low}"
    chromium.screenshot(ARTIFACTS / "waiting-page-failed-dark.png")

    chromium.evaluate("document.querySelector('#wk-retry button').click()")
    _wait("the retry request", lambda: site.hits("POST", "/_warmkeeper/wake") == 1)
    chromium.wait_for("document.getElementById('wk-message').textContent.includes('Trying again')")
    [retry] = account.wake_events()
    assert retry["detail"]["requestedBy"] == "waiting-page retry"


def test_without_javascript_the_page_refreshes_back_to_the_original_url(
    account: Account, site: Site, chromium: Chromium
) -> None:
    chromium.page("Emulation.setScriptExecutionDisabled", {"value": True})
    chromium.page("Page.navigate", {"url": f"{site.alb.url}/guides/lyon?tour=1"})
    _wait("the first page load", lambda: site.hits("GET", "/guides/lyon") >= 1)
    assert site.hits("GET", "/_warmkeeper/status") == 0  # no script ran
    site.adapter.route_to_app = True
    # The noscript meta refresh (10 s) reloads the same URL with a GET, which now reaches the app.
    _wait("the meta refresh", lambda: site.hits("GET", "/guides/lyon") >= 2, timeout=25)
    last = [seen for seen in site.alb.seen if seen.path.startswith("/guides/lyon")][-1]
    assert last.path == "/guides/lyon?tour=1"
    assert last.status == 200
    assert b"Stand-in app" in last.response_body


# ---------------------------------------------------------------- hostile return paths (issue 12)

# Paths a visitor (or a link someone crafted) can arrive with: each must bring the browser back to this
# origin, with JavaScript (the page's own redirect once ready) and without (the retry form's 303).
HOSTILE_PATHS = [
    "/%EF%BC%8F%EF%BC%8Fevil.example/x",  # U+FF0F (fullwidth solidus) twice
    "//evil.example/x",
    "/%5Cevil.example",
    "/guides/%3Cscript%3Ealert(1)%3C/script%3E?q=%22%3E%3Cb%3E",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_return_paths_stay_on_this_origin_with_javascript(
    account: Account, site: Site, chromium: Chromium, path: str
) -> None:
    chromium.page("Page.navigate", {"url": f"{site.alb.url}{path}"})
    chromium.wait_for("document.getElementById('wk-message') !== null")
    # Nothing reflected became markup: no element from the path, no script but the page's own.
    assert chromium.evaluate("document.querySelector('b') === null")
    assert chromium.evaluate(
        "[...document.scripts].filter(s => s.type !== 'application/json').every(s => !s.textContent.includes('alert'))"
    )
    account.set_desired(1)
    account.register_target()
    account.set_state({"awakeSince": _iso(datetime.now(UTC))})
    site.adapter.route_to_app = True
    chromium.wait_for("document.title === 'Stand-in app'", timeout=20)
    assert chromium.evaluate("location.origin") == site.alb.url


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_return_paths_stay_on_this_origin_without_javascript(
    account: Account, site: Site, chromium: Chromium, path: str
) -> None:
    account.set_state({"failure": {"kind": "task-stopped", "reason": "x", "at": _iso(datetime.now(UTC))}})
    chromium.page("Emulation.setScriptExecutionDisabled", {"value": True})
    chromium.page("Page.navigate", {"url": f"{site.alb.url}{path}"})
    chromium.wait_for("document.getElementById('wk-retry') !== null")
    site.adapter.route_to_app = True
    # Submitting the form is the browser's own navigation (no page script runs): POST, 303, GET.
    chromium.evaluate("HTMLFormElement.prototype.submit.call(document.getElementById('wk-retry'))")
    _wait("the retry post", lambda: site.hits("POST", "/_warmkeeper/wake") == 1)
    chromium.wait_for("document.title === 'Stand-in app'", timeout=20)
    assert chromium.evaluate("location.origin") == site.alb.url
