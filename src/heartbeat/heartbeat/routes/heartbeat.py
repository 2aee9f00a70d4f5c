"""POST /_warmkeeper/heartbeat: an authenticated activity ping, counted for the idle alarm."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import ALBRouter

from heartbeat import wake
from heartbeat.adapters import aws
from heartbeat.domain.pings import MAX_PING_BYTES, PingVerdict, bearer_token, judge_ping, token_matches
from heartbeat.http import BadBody, body_bytes, header_values, json_response
from heartbeat.observability import count, logger, now
from heartbeat.routes import paths
from heartbeat.settings import get_settings

router = ALBRouter()  # type: ignore[no-untyped-call]  # Powertools declares no __init__ types


@router.post(paths.HEARTBEAT)
def heartbeat() -> Response[str]:
    settings = get_settings()
    event = router.current_event
    presented = bearer_token(header_values(event, "authorization"))
    authorized = False
    if presented is not None:
        # Only a request that presents a token costs a secret read (and then only on a cold cache).
        try:
            expected = aws.heartbeat_token(settings.token_secret_arn)
        except aws.AwsFault as error:
            logger.error("heartbeat token unavailable; ping not recorded", error=str(error))
            count("HeartbeatTokenUnavailable")
            return json_response(503, {"error": "heartbeat token unavailable; the ping was not recorded"})
        authorized = token_matches(presented, expected)
    try:
        body = body_bytes(event, MAX_PING_BYTES) if authorized else b""
    except BadBody as error:
        count("HeartbeatsRejected")
        return json_response(400, {"error": str(error)})
    decision = judge_ping(now(), authorized, body)
    if decision.verdict is not PingVerdict.ACCEPTED or decision.body is None:
        logger.warning("heartbeat rejected", verdict=decision.verdict.value, status_code=decision.status_code)
        count("HeartbeatsRejected")
        extra = {"WWW-Authenticate": 'Bearer realm="warmkeeper"'} if decision.status_code == 401 else {}
        return json_response(decision.status_code, {"error": decision.message}, extra)
    count("Heartbeats")
    wake_requested = False
    if decision.body.wake:
        count("PingWakeRequests")
        wake_requested = wake.send(settings, f"heartbeat:{decision.body.source}", "ping asked for a wake")
    payload: dict[str, Any] = {"accepted": True, "wakeRequested": wake_requested}
    if decision.body.wake and not wake_requested:
        payload["error"] = "the wake request could not be sent; the wake backstop alarm will catch it"
    return json_response(202, payload)
