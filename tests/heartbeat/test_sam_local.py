"""The events/heartbeat/ fixtures through ``sam local invoke`` of the built function, against a moto server
shaped like the template: proof that the fixtures and the packaged function (code, pages, layer) work
the way the ALB will call them."""

from __future__ import annotations

import json

import pytest

from tests.heartbeat.conftest import SECRET_NAME, _build_account
from tests.samlocal import SamLocal, stack_env

FUNCTION = "HeartbeatFunction"


@pytest.mark.docker
@pytest.mark.slow
def test_fixtures_through_sam_local_invoke(
    sam_local: SamLocal, moto_bridge_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_bridge_endpoint)
    account = _build_account()
    env = {
        **stack_env(moto_bridge_endpoint),
        "ECS_TARGET_GROUP_ARN": account.target_group_arn,
        "TOKEN_SECRET_ARN": SECRET_NAME,
        "SERVICE_DISPLAY_NAME": "City Guided",
    }

    ping = sam_local.invoke(FUNCTION, "heartbeat/ping.json", env=env)
    assert ping.error is None, ping.logs[-2000:]
    assert ping.payload["statusCode"] == 202
    assert json.loads(ping.payload["body"]) == {"accepted": True, "wakeRequested": False}
    emf = [record for record in ping.log_records if "_aws" in record]
    assert any(record.get("Heartbeats") == [1.0] for record in emf)

    rejected = sam_local.invoke(FUNCTION, "heartbeat/ping-no-token.json", env=env)
    assert rejected.payload["statusCode"] == 401

    page = sam_local.invoke(FUNCTION, "heartbeat/waiting-page.json", env=env)
    assert page.payload["statusCode"] == 503
    assert page.payload["multiValueHeaders"]["Content-Type"] == ["text/html; charset=utf-8"]
    assert page.payload["multiValueHeaders"]["X-Warmkeeper-State"] == ["waking"]
    assert "City Guided" in page.payload["body"]
    [wake] = account.wake_events()
    assert wake["detail-type"] == "Wake Requested"
    assert wake["detail"]["stack"] == "warmkeeper"

    status = sam_local.invoke(FUNCTION, "heartbeat/status-detailed.json", env=env)
    assert status.payload["statusCode"] == 200
    body = json.loads(status.payload["body"])
    assert (body["state"], body["ready"], body["desiredCount"]) == ("sleeping", False, 0)
