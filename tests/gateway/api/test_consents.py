"""POST /v1/consents with TC strings: a TC string stands for the purposes it proves."""

from typing import Any

from fastapi.testclient import TestClient

from gateway.context import GatewayContext
from tests.factories import consent, customer, make_client, send_consents, send_records
from tests.tcfkit import encode, make_tc


def _tcf_event(record: dict[str, Any], tc: str, **over: Any) -> dict[str, Any]:
    event = consent("customer_id", record["customer_id"], tcf_string=tc)
    del event["purpose"]
    return event | over


def _status(http: TestClient, partner: Any, record: dict[str, Any]) -> str:
    result = send_records(http, partner, [record]).json()["results"][0]
    return str(result["status"] if result["status"] != "rejected" else result["reason"])


def test_tc_string_granting_purposes_1_3_4_grants_segmentation(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    tc = encode(make_tc(purpose_consents=[1, 2, 3, 4, 7]))
    body = send_consents(client, partner, [_tcf_event(record, tc)])
    assert body["results"][0]["purposes"] == {"segmentation": "granted"}
    assert _status(client, partner, record) == "accepted"


def test_tc_string_missing_a_purpose_withdraws(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    send_consents(client, partner, [consent("customer_id", record["customer_id"])])
    tc = encode(make_tc(purpose_consents=[1, 3]))  # no purpose 4
    later = _tcf_event(record, tc, timestamp="2026-06-01T00:00:00Z")
    body = send_consents(client, partner, [later])
    assert body["results"][0]["purposes"] == {"segmentation": "withdrawn"}
    assert _status(client, partner, record) == "consent_missing"


def test_tc_string_with_a_named_purpose(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    tc = encode(make_tc(purpose_consents=[1, 3, 4]))
    event = consent("customer_id", record["customer_id"], tcf_string=tc)
    body = send_consents(client, partner, [event])
    assert body["results"][0]["purposes"] == {"segmentation": "granted"}


def test_broken_tc_string_is_rejected_without_echo(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    body = send_consents(client, partner, [_tcf_event(record, "Czqx!!not-a-tc")])
    result = body["results"][0]
    assert result["status"] == "rejected"
    assert result["errors"][0]["field"] == "tcf_string"
    assert "zqx" not in str(body)
