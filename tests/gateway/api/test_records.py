"""POST /v1/datasets/{dataset}/records over real HTTP, on SQLite and PostgreSQL."""

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gateway.context import GatewayContext
from gateway.crypto.envelope import FieldCipher, unwrap_data_key
from gateway.crypto.keyring import KeyPurpose
from gateway.errors import DecryptionError
from gateway.main import create_app
from gateway.storage.db import transaction
from gateway.storage.models import (
    AuditEventRow,
    RecordRow,
    SubjectKeyRow,
    VaultEntryRow,
)
from gateway.vault import open_entry
from tests.databases import Database
from tests.factories import (
    consent,
    customer,
    grant,
    make_client,
    send_consents,
    send_records,
)
from tests.pii_values import group, make_iban


def _only(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body["results"]) == 1
    return body["results"][0]


def _count_records(ctx: GatewayContext, source_id: str) -> int:
    with transaction(ctx.read_sessions) as session:
        stmt = select(func.count()).where(RecordRow.source_id == source_id)
        return session.scalar(stmt) or 0


def _vault_fields(ctx: GatewayContext, record_id: str) -> dict[str, Any]:
    """A stored record's vault entry, decrypted as an access request would."""
    with transaction(ctx.read_sessions) as session:
        row = session.get_one(RecordRow, record_id)
        vault = session.get_one(VaultEntryRow, row.id)
        key = session.get_one(SubjectKeyRow, row.subject_no)
    master = ctx.keyring.get(KeyPurpose.MASTER, key.master_kid)
    cipher = FieldCipher(unwrap_data_key(master, key.wrapped_key, row.subject_id))
    return open_entry(cipher, row.id, row.subject_id, vault.ciphertext)


def test_accepts_record_with_consent_and_stores_no_clear_values(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    grant(client, partner, record)
    response = send_records(client, partner, [record])
    assert response.status_code == 200, response.text
    result = _only(response.json())
    assert result["status"] == "accepted"
    assert result["subject_id"]
    assert result["record_id"]
    with transaction(ctx.read_sessions) as session:
        row = session.get_one(RecordRow, result["record_id"])
        vault = session.get_one(VaultEntryRow, row.id)
        key = session.get_one(SubjectKeyRow, row.subject_no)
    assert row.data["birth_date"] == "1984"
    assert row.data["postal_code"] == "75"
    assert "city" not in row.data
    assert set(row.identifiers) == {"customer_id", "email", "phone"}
    stored = repr(row.data) + repr(row.identifiers)
    for value in (record["email"], record["last_name"], record["customer_id"]):
        assert value not in stored
    master = ctx.keyring.get(KeyPurpose.MASTER, key.master_kid)
    cipher = FieldCipher(unwrap_data_key(master, key.wrapped_key, row.subject_id))
    fields = open_entry(cipher, row.id, row.subject_id, vault.ciphertext)
    assert fields["last_name"] == record["last_name"]
    assert fields["email"] == record["email"]
    assert fields["birth_date"] == record["birth_date"]
    with pytest.raises(DecryptionError):
        open_entry(cipher, str(uuid.uuid4()), row.subject_id, vault.ciphertext)


def test_rejects_without_consent(client: TestClient, ctx: GatewayContext) -> None:
    partner = make_client(ctx)
    record = customer()
    result = _only(send_records(client, partner, [record]).json())
    assert result["status"] == "rejected"
    assert result["reason"] == "consent_missing"
    assert result["record_id"] is None
    assert _count_records(ctx, record["source_id"]) == 0


def test_consent_under_email_covers_the_record(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    send_consents(client, partner, [consent("email", record["email"].upper())])
    result = _only(send_records(client, partner, [record]).json())
    assert result["status"] == "accepted"


def test_withdrawal_under_another_identifier_wins(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    grant(client, partner, record, timestamp="2026-01-01T10:00:00Z")
    national = "0" + record["phone"][3:]  # the same phone, written the French way
    send_consents(
        client,
        partner,
        [consent("phone", national, "withdrawn", timestamp="2026-02-01T10:00:00Z")],
    )
    result = _only(send_records(client, partner, [record]).json())
    assert result["reason"] == "consent_missing"


def test_grant_after_withdrawal_restores_consent(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    send_consents(
        client,
        partner,
        [
            consent(
                "email", record["email"], "withdrawn", timestamp="2026-01-01T00:00:00Z"
            ),
            consent(
                "customer_id",
                record["customer_id"],
                timestamp="2026-03-01T00:00:00+02:00",
            ),
        ],
    )
    assert _only(send_records(client, partner, [record]).json())["status"] == "accepted"


def test_customer_id_is_scoped_to_its_partner(
    client: TestClient, ctx: GatewayContext
) -> None:
    first, second = make_client(ctx), make_client(ctx)
    record = customer()
    grant(client, first, record)
    result = _only(send_records(client, second, [record]).json())
    assert result["reason"] == "consent_missing"


def test_invalid_record_names_fields_without_values(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer(email="not-an-email-zqx", shoe_size=42, phone="12")
    grant(client, partner, record)
    result = _only(send_records(client, partner, [record]).json())
    assert result["reason"] == "invalid"
    fields = {e["field"]: e["reason"] for e in result["errors"]}
    assert fields["shoe_size"] == "unknown_field"
    assert "email" in fields
    assert "phone" in fields
    assert "not-an-email-zqx" not in str(result)


def test_missing_subject_key_is_invalid(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    del record["customer_id"]
    result = _only(send_records(client, partner, [record]).json())
    assert result["reason"] == "invalid"
    assert result["errors"][0]["field"] == "customer_id"


def test_purpose_not_allowed(client: TestClient, ctx: GatewayContext) -> None:
    partner = make_client(ctx, purposes=("analytics",))
    record = customer()
    result = _only(send_records(client, partner, [record]).json())
    assert result["reason"] == "purpose_not_allowed"


def test_special_category_needs_explicit_consent(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer(health_interest="diabetes")
    grant(client, partner, record)
    result = _only(send_records(client, partner, [record]).json())
    assert result["reason"] == "special_category"
    grant(client, partner, record, explicit=True, timestamp="2026-05-01T00:00:00Z")
    result = _only(send_records(client, partner, [record]).json())
    assert result["status"] == "accepted"


def test_duplicate_and_update(client: TestClient, ctx: GatewayContext) -> None:
    partner = make_client(ctx)
    record = customer()
    grant(client, partner, record)
    first = _only(send_records(client, partner, [record]).json())
    again = _only(send_records(client, partner, [record]).json())
    assert again["status"] == "duplicate"
    assert again["record_id"] == first["record_id"]
    changed = _only(
        send_records(client, partner, [record | {"loyalty_tier": "silver"}]).json()
    )
    assert changed["status"] == "updated"
    assert changed["record_id"] == first["record_id"]
    assert _count_records(ctx, record["source_id"]) == 1
    with transaction(ctx.read_sessions) as session:
        row = session.get_one(RecordRow, first["record_id"])
    assert row.data["loyalty_tier"] == "silver"
    assert row.version == 2


def test_idempotency_key_replays_and_refuses_other_body(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    grant(client, partner, record)
    key = {"Idempotency-Key": f"idem-{record['source_id']}"}
    first = send_records(client, partner, [record], headers=key)
    replay = send_records(client, partner, [record], headers=key)
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    other = send_records(client, partner, [customer()], headers=key)
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")


def test_an_idempotency_key_is_another_request_at_another_dataset(
    client: TestClient, ctx: GatewayContext
) -> None:
    # Replaying the customers receipt for the events dataset would say
    # records were accepted there while nothing was stored.
    partner = make_client(ctx)
    record = customer()
    grant(client, partner, record)
    key = {"Idempotency-Key": f"idem-ds-{record['source_id']}"}
    first = send_records(client, partner, [record], headers=key)
    assert _only(first.json())["status"] == "accepted"
    elsewhere = send_records(client, partner, [record], dataset="events", headers=key)
    assert elsewhere.status_code == 409
    assert "Idempotent-Replayed" not in elsewhere.headers


def test_concurrent_duplicates_store_one_record(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    records = [customer() for _ in range(20)]
    send_consents(
        client, partner, [consent("customer_id", r["customer_id"]) for r in records]
    )
    statuses: list[list[str]] = []
    lock = threading.Lock()

    def push() -> None:
        body = send_records(client, partner, records).json()
        with lock:
            statuses.append([r["status"] for r in body["results"]])

    threads = [threading.Thread(target=push) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for column in zip(*statuses, strict=True):
        assert sorted(column) == ["accepted", "duplicate", "duplicate", "duplicate"]
    for record in records:
        assert _count_records(ctx, record["source_id"]) == 1


def test_batch_is_explicit_per_record(client: TestClient, ctx: GatewayContext) -> None:
    partner = make_client(ctx)
    good, bad = customer(), customer(email="nope")
    grant(client, partner, good)
    grant(client, partner, bad)
    body = send_records(client, partner, [good, bad, customer()]).json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert [r["status"] for r in body["results"]] == [
        "accepted",
        "rejected",
        "rejected",
    ]


def test_events_dataset(client: TestClient, ctx: GatewayContext) -> None:
    partner = make_client(ctx)
    person = customer()
    grant(client, partner, person)
    event = {
        "source_id": f"evt-{person['source_id']}",
        "customer_id": person["customer_id"],
        "event_type": "purchase",
        "amount": 42.5,
        "currency": "eur",
        "occurred_at": "2026-03-01T12:00:00+01:00",
        "channel": "app",
        "device": "mobile",
        "category": "shoes",
    }
    result = _only(send_records(client, partner, [event], dataset="events").json())
    assert result["status"] == "accepted", result
    with transaction(ctx.read_sessions) as session:
        row = session.get_one(RecordRow, result["record_id"])
    assert row.data["occurred_at"].startswith("2026-03-01T11:00:00")
    assert row.data["currency"] == "EUR"


def test_metrics_count_records_by_reason(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    send_records(client, partner, [customer()])
    text = client.get("/metrics").text
    assert (
        'gateway_records_total{dataset="customers",reason="consent_missing",'
        'status="rejected"}' in text
    )


def test_national_numbers_are_read_in_the_partners_region(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx, region="GB")
    record = customer(phone="+44 20 7946 0958")
    send_consents(client, partner, [consent("phone", "020 7946 0958")])
    assert _only(send_records(client, partner, [record]).json())["status"] == "accepted"


def test_free_text_is_stored_redacted_and_its_types_audited(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer(
        comment="Bonjour, je suis Marie Dupont, rappelez-moi au 06 12 34 56 78."
    )
    grant(client, partner, record)
    result = _only(send_records(client, partner, [record]).json())
    assert result["status"] == "accepted", result
    assert result["warnings"] == [
        {
            "field": "comment",
            "reason": "pii_redacted",
            "message": "personal data found and redacted: PERSON, PHONE_NUMBER",
        }
    ]
    with transaction(ctx.read_sessions) as session:
        row = session.get_one(RecordRow, result["record_id"])
        event = session.scalars(
            select(AuditEventRow).where(
                AuditEventRow.record_id == row.id,
                AuditEventRow.action == "record.accepted",
            )
        ).one()
    assert row.data["comment"] == (
        "Bonjour, je suis <PERSON>, rappelez-moi au <PHONE_NUMBER>."
    )
    details = json.loads(event.details)
    assert details["pii_redacted"] == {"comment": ["PERSON", "PHONE_NUMBER"]}
    assert "Dupont" not in event.details


def test_ibans_of_several_countries_are_stored_encrypted_only(
    fresh_ctx: GatewayContext, fresh_database: Database
) -> None:
    # Unique, valid IBANs of five countries (lengths 18 to 27), sent as
    # people write them: grouped, lower case, with dashes.
    tag = uuid.uuid4().int
    ibans = [
        make_iban("DE", f"37040044{tag % 10**10:010d}"),
        make_iban("FR", f"3000600001{tag % 10**11:011d}89"),
        make_iban("NL", f"ABNA{tag % 10**10:010d}"),
        make_iban("IT", f"X0542811101{tag % 10**12:012d}"),
        make_iban("GB", f"WEST123456{tag % 10**8:08d}"),
    ]
    sent = [
        group(ibans[0]).lower(),
        group(ibans[1]),
        "-".join(group(ibans[2]).split()),
        ibans[3].lower(),
        ibans[4],
    ]
    records = [customer(iban=value) for value in sent]
    responses: list[bytes] = []
    with TestClient(create_app(fresh_ctx)) as http:
        partner = make_client(fresh_ctx)
        for record in records:
            grant(http, partner, record)
        response = send_records(http, partner, records)
        responses.append(response.content)
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * len(records), results
    for result, iban in zip(results, ibans, strict=True):
        with transaction(fresh_ctx.read_sessions) as session:
            row = session.get_one(RecordRow, result["record_id"])
        assert "iban" not in row.data
        assert "iban" not in row.identifiers
        assert _vault_fields(fresh_ctx, row.id)["iban"] == iban
    db_dir = Path(fresh_database.url.removeprefix("sqlite:///")).parent
    files = [p for root in (db_dir, fresh_ctx.settings.home) for p in root.rglob("*")]
    haystacks = [(str(p), p.read_bytes()) for p in files if p.is_file()]
    assert any(name.endswith("gateway.db") for name, _ in haystacks)
    haystacks += [("response", body) for body in responses]
    for iban, as_sent in zip(ibans, sent, strict=True):
        for needle in {iban, group(iban), as_sent}:
            for name, data in haystacks:
                assert needle.encode() not in data, f"{needle} found in {name}"


def test_mistyped_iban_is_rejected_without_its_value(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    valid = make_iban("FR", f"3000600001{uuid.uuid4().int % 10**11:011d}89")
    # One digit of the account number mistyped: the check digits catch it.
    digit = valid[10]
    mistyped = valid[:10] + ("1" if digit != "1" else "2") + valid[11:]
    record = customer(iban=group(mistyped))
    grant(client, partner, record)
    response = send_records(client, partner, [record])
    result = _only(response.json())
    assert result["status"] == "rejected"
    assert result["reason"] == "invalid"
    assert [(e["field"], e["reason"]) for e in result["errors"]] == [
        ("iban", "not_an_iban")
    ]
    for needle in (mistyped, group(mistyped), mistyped[4:]):
        assert needle not in response.text
    assert _count_records(ctx, record["source_id"]) == 0


def test_unusual_but_valid_email_and_phone_are_accepted(
    client: TestClient, ctx: GatewayContext
) -> None:
    # An apostrophe in the local part (RFC 5322) and a seven-digit Tokelau
    # mobile (phonenumbers' example): both normalize, and the recognizers that
    # confirm typed fields must take them whole, or real customers are lost.
    partner = make_client(ctx)
    email = f"o'brien.{uuid.uuid4().hex[:8]}@example.co.uk"
    tokelau = phonenumbers.format_number(
        phonenumbers.example_number_for_type("TK", phonenumbers.PhoneNumberType.MOBILE),
        phonenumbers.PhoneNumberFormat.E164,
    )
    record = customer(email=email, phone=tokelau)
    grant(client, partner, record)
    response = send_records(client, partner, [record])
    assert _only(response.json())["status"] == "accepted", response.text
    assert _count_records(ctx, record["source_id"]) == 1


# --- Global Privacy Control (Sec-GPC: 1) ------------------------------------------

GPC = {"Sec-GPC": "1"}


def test_gpc_on_records_withdraws_before_the_consent_decision(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    grant(client, partner, record)
    response = send_records(client, partner, [record], headers=GPC)
    assert response.status_code == 200, response.text
    body = response.json()
    result = _only(body)
    assert (result["status"], result["reason"]) == ("rejected", "consent_missing")
    assert result["errors"][0]["message"] == "consent withdrawn"
    assert set(body) == {"accepted", "rejected", "results"}
    assert _count_records(ctx, record["source_id"]) == 0
    # The objection stays: the same record without the header is refused too.
    later = _only(send_records(client, partner, [record]).json())
    assert later["reason"] == "consent_missing"
    with transaction(ctx.read_sessions) as session:
        withdrawn = session.scalars(
            select(AuditEventRow).where(
                AuditEventRow.actor == partner.client_id,
                AuditEventRow.action == "consent.withdrawn",
            )
        ).all()
    # One objection per identifier of the record (customer_id, email, phone).
    assert len(withdrawn) == 3
    assert {w.purpose for w in withdrawn} == {"segmentation"}
    assert all(json.loads(w.details)["gpc"] is True for w in withdrawn)
    assert all(record["email"] not in w.details for w in withdrawn)


def test_gpc_leaves_a_purpose_that_is_neither_sold_nor_shared(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    result = _only(
        send_records(client, partner, [record], purpose="analytics", headers=GPC).json()
    )
    assert result["status"] == "accepted"
    # ...but the objection to segmentation was recorded for its identifiers.
    send_consents(client, partner, [consent("email", record["email"])])
    again = customer(source_id=f"{record['source_id']}-2", email=record["email"])
    assert _only(send_records(client, partner, [again]).json())["reason"] == (
        "consent_missing"
    )


def test_gpc_makes_another_request_for_idempotency(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    record = customer()
    grant(client, partner, record)
    key = {"Idempotency-Key": f"idem-gpc-{record['source_id']}"}
    first = send_records(client, partner, [record], headers=key)
    assert _only(first.json())["status"] == "accepted"
    with_gpc = send_records(client, partner, [record], headers=key | GPC)
    assert with_gpc.status_code == 409
