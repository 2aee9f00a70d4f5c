"""POST /_warmkeeper/wake: the waiting page's "Try again" (also a plain form post without JavaScript)."""

from __future__ import annotations

from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import ALBRouter

from heartbeat import wake
from heartbeat.domain.visitors import phase_at_the_waker, recently_sent, safe_return_path
from heartbeat.http import BadBody, accepts_html, body_bytes, json_response
from heartbeat.observability import now
from heartbeat.routes import paths
from heartbeat.settings import get_settings
from warmkeeper_shared.state import Phase

router = ALBRouter()  # type: ignore[no-untyped-call]  # Powertools declares no __init__ types
MAX_FORM_BYTES = 2048


@router.post(paths.WAKE)
def retry_wake() -> Response[str]:
    settings = get_settings()
    event = router.current_event
    try:
        form = body_bytes(event, MAX_FORM_BYTES)
    except BadBody as error:
        return json_response(400, {"error": str(error)})
    if len(form) > MAX_FORM_BYTES:
        return json_response(413, {"error": f"the body is at most {MAX_FORM_BYTES} bytes"})
    # A retry is worth sending unless a wake is under way; the local grace keeps a stream of clicks
    # (or a bot) to one event per execution environment and grace period, but never swallows the first
    # retry of a failure that came after this environment's last request.
    state = wake.read_state(settings)
    phase = phase_at_the_waker(state)
    last = wake.last_sent()
    failed_since_last = state is not None and state.failure is not None and (last is None or state.failure.at > last)
    sent = False
    if phase is not Phase.WAKING and (failed_since_last or not recently_sent(now(), last)):
        sent = wake.send(settings, "waiting-page retry", "a visitor asked to try again")
    return_values = parse_qs(form.decode("utf-8", errors="replace")).get("return", ["/"])
    path, _, query = return_values[-1].partition("?")
    target = safe_return_path(path, query)
    if accepts_html(event):
        return Response(status_code=303, body="", headers={"Location": target, "Cache-Control": "no-store"})
    return json_response(202, {"wakeRequested": sent})
