"""POST /_warmkeeper/heartbeat: an authenticated activity ping, counted for the idle alarm."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import ALBRouter

from heartbeat import wake
from heartbeat.adapters import aws
from heartbeat.domain.pings import MAX_PING_BYTES, PingVerdict, bearer_token, judge_ping, token_matches
from heartbeat.domain.visitors import already_asked, phase_at_the_waker
from heartbeat.http import BadBody, body_bytes, header_values, json_response
from heartbeat.observability import count, logger, now
from heartbeat.routes import paths
from heartbeat.settings import get_settings
from warmkeeper_shared.state import Phase

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
            authorized = _matches(presented, aws.heartbeat_tokens(settings.token_secret_arn))
            if not authorized:
                # Perhaps rotated since the cache was filled: read again, at most once per refresh period.
                authorized = _matches(presented, aws.heartbeat_tokens(settings.token_secret_arn, stale_ok=False))
        except aws.AwsFault as error:
            logger.error("heartbeat token unavailable; ping not recorded", error=str(error))
            count("HeartbeatTokenUnavailable")
            return json_response(503, {"error": "heartbeat token unavailable; the ping was not recorded"})
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
    payload: dict[str, Any] = {"accepted": True}
    if decision.body.wake:
        count("PingWakeRequests")
        # Same rule as the waiting page: nothing while a wake is under way, once per record otherwise.
        state = wake.read_state(settings)
        if phase_at_the_waker(state) is Phase.WAKING or already_asked(now(), state, wake.last_sent()):
            payload["wakeSkipped"] = "a wake is already requested or under way"
        else:
            wake_requested = wake.send(settings, state, f"heartbeat:{decision.body.source}", "ping asked for a wake")
            if not wake_requested:
                payload["error"] = "the wake request could not be sent; the wake backstop alarm will catch it"
    payload["wakeRequested"] = wake_requested
    return json_response(202, payload)


def _matches(presented: str, accepted: tuple[str, ...]) -> bool:
    # Every value is compared (no early exit), so timing does not tell which one matched.
    results = [token_matches(presented, value) for value in accepted]
    return any(results)
