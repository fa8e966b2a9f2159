"""POST /v1/consents with TC strings (TCF v2.3) and Global Privacy Control.

A TC string stands for the purposes it proves for the operator's vendor id;
one TCF v2.3 refuses is rejected with the rule it breaks; `Sec-GPC: 1` records
an objection to the purposes marked sale or sharing. Over real HTTP, on SQLite
and PostgreSQL.
"""

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.consent.tcf import PublisherRestriction
from gateway.context import GatewayContext
from gateway.main import create_app
from gateway.policy import load_policies
from gateway.storage import consent_repo
from gateway.storage.db import transaction
from gateway.storage.models import AuditEventRow, ConsentEventRow
from tests.databases import BOTH, POLICIES, Database, gateway_context
from tests.factories import (
    ApiClient,
    consent,
    customer,
    make_client,
    send_consents,
    send_records,
)
from tests.tcf_vectors import GPP_V23
from tests.tcfkit import encode, valid_tc

GPC = {"Sec-GPC": "1"}


def _vendor_id() -> int:
    tcf = load_policies(POLICIES).tcf
    assert tcf is not None
    return tcf.vendor_id


# The operator's vendor id in the project's policies (tcf.yaml).
VENDOR = _vendor_id()


def _tcf_event(record: dict[str, Any], tc: str, **over: Any) -> dict[str, Any]:
    event = consent("customer_id", record["customer_id"], tcf_string=tc)
    del event["purpose"]
    return event | over


def _status(
    http: TestClient,
    partner: Any,
    record: dict[str, Any],
    purpose: str = "segmentation",
) -> str:
    result = send_records(http, partner, [record], purpose=purpose).json()["results"][0]
    return str(result["status"] if result["status"] != "rejected" else result["reason"])


def _audits(ctx: GatewayContext, partner: ApiClient) -> list[AuditEventRow]:
    with transaction(ctx.read_sessions) as session:
        stmt = (
            select(AuditEventRow)
            .where(AuditEventRow.actor == partner.client_id)
            .order_by(AuditEventRow.seq)
        )
        return list(session.scalars(stmt))


def _history(ctx: GatewayContext, key: str) -> list[consent_repo.ConsentHistoryEntry]:
    with transaction(ctx.read_sessions) as session:
        return consent_repo.history_for(session, [key])


# --- TC strings that prove consent ---------------------------------------------


def test_v23_tc_string_granting_purposes_1_3_4_grants_segmentation(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    tc = encode(valid_tc(VENDOR))
    body = send_consents(client, partner, [_tcf_event(record, tc)])
    result = body["results"][0]
    assert result["purposes"] == {"segmentation": "granted"}
    assert result["warnings"] == []
    assert _status(client, partner, record) == "accepted"


def test_tc_string_with_a_named_purpose(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    tc = encode(valid_tc(VENDOR))
    event = consent("customer_id", record["customer_id"], tcf_string=tc)
    body = send_consents(client, partner, [event])
    assert body["results"][0]["purposes"] == {"segmentation": "granted"}


def test_tc_string_proof_is_kept_and_the_string_is_not(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    tc = encode(valid_tc(VENDOR, cmp_id=300))
    send_consents(client, partner, [consent("customer_id", record["customer_id"])])
    body = send_consents(client, partner, [_tcf_event(record, tc)])
    key = body["results"][0]["identifier_key"]
    plain, via_tcf = _history(ctx, key)
    assert (plain.tcf_sha256, plain.tcf_cmp_id, plain.tcf_last_updated) == (None,) * 3
    assert via_tcf.tcf_sha256 == hashlib.sha256(tc.encode()).hexdigest()
    assert via_tcf.tcf_cmp_id == 300
    assert via_tcf.tcf_last_updated is not None
    assert via_tcf.tcf_last_updated.isoformat().startswith("2024-05-01T09:30:15.7")
    with transaction(ctx.read_sessions) as session:
        rows = session.scalars(
            select(ConsentEventRow).where(ConsentEventRow.identifier_key == key)
        ).all()
        stored = [str(vars(row)) for row in rows]
    assert not any(tc in text or tc[:24] in text for text in stored)
    for event in _audits(ctx, partner):
        assert tc[:24].encode() not in event.canonical


# --- TC strings that prove no consent: recorded as withdrawn, with the reason ---


@pytest.mark.parametrize(
    ("over", "rule"),
    [
        ({"purpose_consents": [1, 3]}, "purpose_not_consented"),
        ({"disclosed_vendors": [2, 8]}, "vendor_not_disclosed"),
        ({"vendor_consents": [2, 10]}, "vendor_not_consented"),
        (  # purpose 3 flatly not allowed for the operator's vendor
            {"publisher_restrictions": [PublisherRestriction(3, 0, [VENDOR])]},
            "publisher_restriction",
        ),
        (  # purpose 4 restricted to legitimate interest for it
            {"publisher_restrictions": [PublisherRestriction(4, 2, [1, VENDOR])]},
            "publisher_restriction",
        ),
    ],
)
def test_tc_string_not_proving_consent_withdraws_and_says_why(
    client: TestClient, ctx: GatewayContext, over: dict[str, object], rule: str
) -> None:
    partner = make_client(ctx)
    record = customer()
    send_consents(client, partner, [consent("customer_id", record["customer_id"])])
    tc = encode(valid_tc(VENDOR, **over))
    later = _tcf_event(record, tc, timestamp="2026-06-01T00:00:00Z")
    result = send_consents(client, partner, [later])["results"][0]
    assert result["status"] == "recorded"
    assert result["purposes"] == {"segmentation": "withdrawn"}
    [warning] = result["warnings"]
    assert warning["reason"] == rule
    assert (warning["field"], warning["purpose"]) == ("tcf_string", "segmentation")
    assert _status(client, partner, record) == "consent_missing"
    withdrawn = [a for a in _audits(ctx, partner) if a.action == "consent.withdrawn"]
    assert json.loads(withdrawn[-1].details)["tcf_refusal"] == rule
    assert tc[:24].encode() not in withdrawn[-1].canonical


# --- TC strings TCF v2.3 refuses: rejected, naming the rule; nothing recorded ---


REFUSED = {
    "legitimate interest on purpose 1": (
        {"purpose_legitimate_interests": [1, 2]},
        "legitimate_interest_purpose_1",
    ),
    "legitimate interest on purpose 4": (
        {"purpose_legitimate_interests": [2, 4]},
        "legitimate_interest_purposes_3_6",
    ),
    "no DisclosedVendors segment (a TCF v2.2 string)": (
        {"disclosed_vendors": None, "policy_version": 4},
        "disclosed_vendors_missing",
    ),
    "policy version 3": ({"policy_version": 3}, "policy_version"),
    "global scope": ({"is_service_specific": False}, "not_service_specific"),
}


@pytest.mark.parametrize(("over", "rule"), REFUSED.values(), ids=REFUSED)
def test_tc_string_refused_by_v23_is_rejected_naming_the_rule(
    client: TestClient, ctx: GatewayContext, over: dict[str, object], rule: str
) -> None:
    partner = make_client(ctx)
    record = customer()
    send_consents(client, partner, [consent("customer_id", record["customer_id"])])
    tc = encode(valid_tc(VENDOR, **over))
    later = _tcf_event(record, tc, timestamp="2026-06-01T00:00:00Z")
    body = send_consents(client, partner, [later])
    result = body["results"][0]
    assert (result["status"], result["reason"]) == ("rejected", "tcf_invalid")
    [error] = result["errors"]
    assert (error["field"], error["rule"]) == ("tcf_string", rule)
    assert tc[:16] not in json.dumps(body)
    # A refused string proves nothing, not even a withdrawal: the grant stands.
    assert _status(client, partner, record) == "accepted"
    rejected = [a for a in _audits(ctx, partner) if a.action == "consent.rejected"]
    assert rejected[-1].reason == "tcf_invalid"
    assert json.loads(rejected[-1].details)["rule"] == rule
    assert tc[:16].encode() not in rejected[-1].canonical


def test_broken_tc_string_is_rejected_without_echo(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    body = send_consents(client, partner, [_tcf_event(record, "Czqx!!not-a-tc")])
    result = body["results"][0]
    assert (result["status"], result["reason"]) == ("rejected", "tcf_invalid")
    assert result["errors"][0]["field"] == "tcf_string"
    assert result["errors"][0]["rule"] == "malformed"
    assert "zqx" not in str(body)


def test_older_string_of_a_published_suite_is_refused(
    client: TestClient, ctx: GatewayContext
) -> None:
    # iabtcf-java TCStringV2Test: a TCF v2.0 string (policy version 2).
    partner = make_client(ctx)
    record = customer()
    old = "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA"
    result = send_consents(client, partner, [_tcf_event(record, old)])["results"][0]
    assert result["reason"] == "tcf_invalid"
    assert result["errors"][0]["rule"] == "policy_version"


# --- a published TCF v2.3 string, end to end -------------------------------------


@pytest.fixture
def vendor_11(fresh_database: Database, tmp_path: Path) -> Iterator[GatewayContext]:
    """A gateway whose operator is vendor 11 of the iabgpp-es v2.3 string."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    (policies / "tcf.yaml").write_text("tcf:\n  vendor_id: 11\n")
    with gateway_context(fresh_database, tmp_path / "home", policies=policies) as ctx:
        yield ctx


@BOTH
def test_published_v23_string_grants_to_its_consented_vendor(
    vendor_11: GatewayContext,
) -> None:
    # GPP_V23 (iabgpp-es TcfEuV2.test.ts): vendor 11 disclosed and consented,
    # purpose consents 1, 3, 4, 5, 6.
    with TestClient(create_app(vendor_11)) as http:
        partner = make_client(vendor_11)
        record = customer()
        result = send_consents(http, partner, [_tcf_event(record, GPP_V23)])
        assert result["results"][0]["purposes"] == {"segmentation": "granted"}
        assert _status(http, partner, record) == "accepted"
        key = result["results"][0]["identifier_key"]
    [event] = _history(vendor_11, key)
    assert event.tcf_sha256 == hashlib.sha256(GPP_V23.encode()).hexdigest()
    assert event.tcf_cmp_id == 0


# --- Global Privacy Control -------------------------------------------------------


def test_gpc_on_consents_withdraws_sale_or_sharing_purposes(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    event = consent("customer_id", record["customer_id"])
    response = client.post(
        "/v1/consents", json={"events": [event]}, headers=partner.headers | GPC
    )
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["purposes"] == {"segmentation": "granted"}
    assert result["gpc_withdrawn"] == ["segmentation"]
    # The objection is timed when received: after the grant it came with.
    assert _status(client, partner, record) == "consent_missing"
    # analytics is neither sale nor sharing: GPC leaves it alone.
    assert _status(client, partner, record, "analytics") == "accepted"
    [audit] = [a for a in _audits(ctx, partner) if a.action == "consent.withdrawn"]
    details = json.loads(audit.details)
    assert details["gpc"] is True
    assert details["source"] == "gpc"
    assert audit.purpose == "segmentation"
    assert audit.subject_id == result["identifier_key"]
    [_, gpc_row] = _history(ctx, result["identifier_key"])
    assert (gpc_row.source, gpc_row.granted) == ("gpc", False)


def test_gpc_objects_for_every_identifier_even_of_a_rejected_event(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    bad = consent("email", record["email"], status="maybe")
    body = client.post(
        "/v1/consents", json={"events": [bad]}, headers=partner.headers | GPC
    ).json()
    assert body["results"][0]["status"] == "rejected"
    assert body["results"][0]["gpc_withdrawn"] == ["segmentation"]
    send_consents(client, partner, [consent("customer_id", record["customer_id"])])
    # The email's objection, timed when received, is later than this grant
    # (2026-01-01), and the record carries both identifiers.
    assert _status(client, partner, record) == "consent_missing"


@pytest.mark.parametrize("value", ["0", "", "true", "11"])
def test_other_sec_gpc_values_are_no_signal(
    client: TestClient, ctx: GatewayContext, value: str
) -> None:
    partner = make_client(ctx)
    record = customer()
    event = consent("customer_id", record["customer_id"])
    body = client.post(
        "/v1/consents",
        json={"events": [event]},
        headers=partner.headers | {"Sec-GPC": value},
    ).json()
    assert body["results"][0]["gpc_withdrawn"] == []
    assert _status(client, partner, record) == "accepted"


def test_gpc_withdraws_only_purposes_the_partner_holds(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx, purposes=("analytics",))
    record = customer()
    event = consent("customer_id", record["customer_id"], purpose="analytics")
    body = client.post(
        "/v1/consents", json={"events": [event]}, headers=partner.headers | GPC
    ).json()
    assert body["results"][0]["gpc_withdrawn"] == []
    assert not [a for a in _audits(ctx, partner) if a.action == "consent.withdrawn"]
