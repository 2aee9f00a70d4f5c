"""Rendering of the waiting page; everything interpolated is escaped for its context."""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

from heartbeat.domain.visitors import RETRY_AFTER_SECONDS
from warmkeeper_shared.state import Phase

STATUS_URL = "/_warmkeeper/status"
# Each poll is a warm invocation served from the face's record cache; a second between them is what keeps
# the wait after traffic is back short (bench/wake.py).
POLL_MILLISECONDS = 1000
TYPICAL_START_SECONDS = 45
_HERE = Path(__file__).parent


@dataclass(frozen=True)
class PageView:
    name: str
    phase: Phase
    return_url: str
    method: str
    failure_reason: str | None = None


@cache
def _template() -> Template:
    return Template((_HERE / "waiting.html").read_text(encoding="utf-8"))


@cache
def script() -> str:
    return (_HERE / "waiting.js").read_text(encoding="utf-8")


@cache
def content_security_policy() -> str:
    """Only the page's own inline script and style run; fetches go to this origin only."""
    digest = base64.b64encode(hashlib.sha256(script().encode()).digest()).decode()
    return (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def _json_for_script(value: object) -> str:
    # "<" escaped so no value can close the script element.
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_waiting_page(view: PageView) -> str:
    esc = html.escape
    failed = view.phase is Phase.FAILED
    if failed:
        message = f"{view.name} could not be started."
        detail = "Press Try again to start it once more."
    elif view.phase is Phase.WAKING:
        message = f"Starting {view.name}. You will be taken there when it is ready."
        detail = "This usually takes under a minute."
    else:
        message = f"{view.name} is asleep and is being woken up."
        detail = "Asking the service to start."
    # With JavaScript off, reload the original URL with a GET (a form is never re-sent). A failed start
    # waits for the visitor's retry instead of reloading forever.
    refresh = (
        ""
        if failed
        else f'<noscript><meta http-equiv="refresh" content="{RETRY_AFTER_SECONDS}; url={esc(view.return_url)}">'
        "</noscript>"
    )
    not_replayed = ""
    if view.method not in ("GET", "HEAD"):
        not_replayed = (
            f'<p class="muted">Your {esc(view.method)} request was not processed and will not be sent again. '
            f"When {esc(view.name)} is ready you will return to the page; please submit it again there.</p>"
        )
    config = {
        "name": view.name,
        "statusUrl": STATUS_URL,
        "returnUrl": view.return_url,
        "pollMs": POLL_MILLISECONDS,
        "typicalStartSeconds": TYPICAL_START_SECONDS,
    }
    return _template().substitute(
        state=esc(view.phase.value),
        title=esc(f"{view.name}: starting up" if not failed else f"{view.name}: start failed"),
        refresh=refresh,
        name=esc(view.name),
        message=esc(message),
        detail=esc(detail),
        progress_hidden=" hidden" if failed else "",
        failure_hidden="" if failed else " hidden",
        reason=esc(view.failure_reason or "No reason was recorded."),
        return_url=esc(view.return_url),
        not_replayed=not_replayed,
        refresh_seconds=str(RETRY_AFTER_SECONDS),
        config=_json_for_script(config),
        script=script(),
    )
