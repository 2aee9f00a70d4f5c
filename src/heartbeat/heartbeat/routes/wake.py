"""POST /_warmkeeper/wake: the waiting page's "Try again" (also a plain form post without JavaScript)."""

from __future__ import annotations

from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import ALBRouter

from heartbeat import wake
from heartbeat.domain.visitors import decide_retry, safe_return_path
from heartbeat.http import BadBody, accepts_html, body_bytes, json_response
from heartbeat.observability import now
from heartbeat.routes import paths
from heartbeat.settings import get_settings

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
    # Anyone may post here at any time, the service awake included: only a sleeping or failed service gets
    # a wake, once per execution environment and controller record, so a stream of clicks (or a bot) sends
    # nothing more, while the first retry of a new failure always goes out (a failure is a new record).
    state = wake.read_state(settings)
    desired = wake.read_desired_count(settings)
    sent = False
    if decide_retry(now(), state, desired, wake.last_sent()):
        sent = wake.send(settings, state, "waiting-page retry", "a visitor asked to try again")
    return_values = parse_qs(form.decode("utf-8", errors="replace")).get("return", ["/"])
    path, _, query = return_values[-1].partition("?")
    target = safe_return_path(path, query)
    if accepts_html(event):
        return Response(status_code=303, body="", headers={"Location": target, "Cache-Control": "no-store"})
    return json_response(202, {"wakeRequested": sent})
