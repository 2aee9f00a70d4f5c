"""Heartbeat pings: who may send one and what a valid one says."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

# Pings are tiny; anything bigger is a misdirected upload, not a heartbeat.
MAX_PING_BYTES = 1024
# A ping carrying ``sentAt`` older than this is a replay or a backlog, not current activity.
MAX_PING_AGE = timedelta(minutes=2)
MAX_CLOCK_SKEW = timedelta(minutes=1)


class PingBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    # Pings only record activity; a sleeping service wakes for one only when it says so.
    wake: bool = Field(default=False, strict=True)
    source: str = Field(default="unspecified", min_length=1, max_length=64)
    sent_at: AwareDatetime | None = None


class PingVerdict(StrEnum):
    ACCEPTED = "accepted"
    UNAUTHORIZED = "unauthorized"
    TOO_LARGE = "too large"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class PingDecision:
    verdict: PingVerdict
    status_code: int
    message: str
    body: PingBody | None = None


def bearer_token(authorization: list[str]) -> str | None:
    """The token of a single ``Authorization: Bearer <token>`` header, else None."""
    if len(authorization) != 1:
        return None
    scheme, _, token = authorization[0].strip().partition(" ")
    token = token.strip()
    if scheme.casefold() != "bearer" or not token:
        return None
    return token


def token_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison, so response timing tells nothing about the secret."""
    if presented is None or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def _parse_body(body: bytes) -> PingBody | str:
    """The ping, or why the body is not one."""
    if not body.strip():
        return PingBody()
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "the body must be a JSON object or empty"
    if not isinstance(raw, dict):
        return "the body must be a JSON object or empty"
    try:
        return PingBody.model_validate(raw)
    except ValidationError as error:
        fields = ", ".join(".".join(str(part) for part in issue["loc"]) for issue in error.errors())
        return f"invalid field(s): {fields}"


def _freshness_problem(now: datetime, ping: PingBody) -> str | None:
    if ping.sent_at is None:
        return None
    if now - ping.sent_at > MAX_PING_AGE:
        return "sentAt is too old: a replayed or delayed ping is not current activity"
    if ping.sent_at - now > MAX_CLOCK_SKEW:
        return "sentAt is in the future"
    return None


def judge_ping(now: datetime, authorized: bool, body: bytes) -> PingDecision:
    """The answer to a POST to the heartbeat endpoint, given whether its token matched."""
    if not authorized:
        return PingDecision(PingVerdict.UNAUTHORIZED, 401, "missing or wrong bearer token")
    if len(body) > MAX_PING_BYTES:
        return PingDecision(PingVerdict.TOO_LARGE, 413, f"a ping body is at most {MAX_PING_BYTES} bytes")
    parsed = _parse_body(body)
    if isinstance(parsed, str):
        return PingDecision(PingVerdict.MALFORMED, 400, parsed)
    problem = _freshness_problem(now, parsed)
    if problem is not None:
        return PingDecision(PingVerdict.MALFORMED, 400, problem)
    return PingDecision(PingVerdict.ACCEPTED, 202, "heartbeat recorded", parsed)
