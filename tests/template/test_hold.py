"""template.yaml and held requests: the HoldSeconds parameter, the function's timeout, the slot table."""

from __future__ import annotations

from heartbeat.adapters.aws import _BOTO_CONFIG, STATE_MAX_AGE_SECONDS
from heartbeat.domain.hold import POLL_SECONDS, TIMEOUT_MARGIN_SECONDS, hold_slots
from heartbeat.settings import Settings
from tests.template.conftest import Template
from tests.template.test_security import SSM_SHARED_PER_SECOND

# An API Gateway HTTP API gives up on an integration after 30 s; an ALB's idle timeout defaults to 60 s.
HTTP_API_INTEGRATION_LIMIT = 30
ALB_IDLE_TIMEOUT = 60
# The waiting-page hit's own AWS calls, each bounded by the boto config (attempts x (connect + read)).
CALL_SECONDS = 2 * (0.5 + 1)


def test_hold_seconds_parameter_fits_the_front_doors(raw: Template) -> None:
    parameter = raw["Parameters"]["HoldSeconds"]
    assert parameter["Type"] == "Number"
    assert parameter["MinValue"] == 0  # 0 turns holding off
    maximum = int(parameter["MaxValue"])
    assert 0 < int(parameter["Default"]) <= maximum
    # The longest hold (from the request's arrival), one last read of the record and the freeing of the slot
    # still answer inside the HTTP API's limit.
    assert maximum + 2 * CALL_SECONDS < HTTP_API_INTEGRATION_LIMIT < ALB_IDLE_TIMEOUT
    assert Settings.model_fields["hold_seconds"].metadata[1].le == maximum
    # AWS calls still fail fast: the CALL_SECONDS above.
    assert (_BOTO_CONFIG.read_timeout, _BOTO_CONFIG.connect_timeout) == (1, 0.5)  # type: ignore[attr-defined]
    assert _BOTO_CONFIG.retries == {"mode": "standard", "total_max_attempts": 2}  # type: ignore[attr-defined]


def test_the_function_timeout_covers_the_longest_hold(raw: Template) -> None:
    function = raw["Resources"]["HeartbeatFunction"]["Properties"]
    assert function["Timeout"]["Fn::If"][0] == "HoldsRequests"
    holding, not_holding = function["Timeout"]["Fn::If"][1:]
    assert raw["Conditions"]["HoldsRequests"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "HoldSeconds"}, 0]}]}
    maximum = int(raw["Parameters"]["HoldSeconds"]["MaxValue"])
    # The hold runs from the request's arrival (the record read and the wake fall inside it); then one last
    # read and the slot freed; then the margin the hold keeps free of the time left.
    # Behind an HTTP API the function must end within the API's 30 s: there the hold is cut to fit (it keeps
    # the margin free of the time left), so the longest hold is shorter (docs/front-doors.md).
    assert holding["Fn::If"][0] == "UsesHttpApi"
    behind_http_api, behind_alb = holding["Fn::If"][1:]
    assert behind_alb >= maximum + 2 * CALL_SECONDS + TIMEOUT_MARGIN_SECONDS
    assert behind_http_api < 30
    assert not_holding == 10


def test_the_function_gets_the_hold_settings(raw: Template) -> None:
    variables = raw["Resources"]["HeartbeatFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["HOLD_SECONDS"] == {"Ref": "HoldSeconds"}
    assert variables["HOLD_TABLE_NAME"] == {"Ref": "HoldTable"}
    assert variables["HTTP_FACE_CONCURRENCY"] == {"Ref": "HttpFaceConcurrency"}


def test_held_requests_take_at_most_half_of_the_reserved_concurrency(raw: Template) -> None:
    default = int(raw["Parameters"]["HttpFaceConcurrency"]["Default"])
    assert hold_slots(default) == default // 2
    for reserved in range(1, int(raw["Parameters"]["HttpFaceConcurrency"]["MaxValue"]) + 1):
        assert 1 <= hold_slots(reserved) <= max(1, reserved // 2)
        # With two or more environments, at least one always stays free for browsers and the status endpoint.
        assert reserved == 1 or hold_slots(reserved) < reserved


def test_the_slot_table_is_on_demand_and_writable_only_by_the_http_face(raw: Template) -> None:
    table = raw["Resources"]["HoldTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "slot", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    statements = raw["Resources"]["HeartbeatRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    [slots] = [s for s in statements if s.get("Sid") == "CountHeldRequests"]
    assert slots["Action"] == ["dynamodb:PutItem", "dynamodb:DeleteItem"]
    assert slots["Resource"] == {"Fn::GetAtt": ["HoldTable", "Arn"]}


def test_held_requests_keep_ssm_reads_far_below_the_account_quota(raw: Template) -> None:
    """On top of the cached reads (tests/template/test_security.py), each held request reads the record
    fresh once per poll: still under a quarter of SSM's shared 40 requests/s at the default cap."""
    cap = int(raw["Parameters"]["HttpFaceConcurrency"]["Default"])
    reads = cap / STATE_MAX_AGE_SECONDS + hold_slots(cap) / POLL_SECONDS
    assert reads <= SSM_SHARED_PER_SECOND / 4
