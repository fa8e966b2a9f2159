"""POST /v1/datasets/{dataset}/records over real HTTP, on SQLite and PostgreSQL."""

import json
import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gateway.context import GatewayContext
from gateway.crypto.envelope import FieldCipher, unwrap_data_key
from gateway.crypto.keyring import KeyPurpose
from gateway.errors import DecryptionError
from gateway.ingest.vault import open_entry
from gateway.storage.db import transaction
from gateway.storage.models import (
    AuditEventRow,
    RecordRow,
    SubjectKeyRow,
    VaultEntryRow,
)
from tests.factories import (
    consent,
    customer,
    grant,
    make_client,
    send_consents,
    send_records,
)


def _only(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body["results"]) == 1
    return body["results"][0]


def _count_records(ctx: GatewayContext, source_id: str) -> int:
    with transaction(ctx.read_sessions) as session:
        stmt = select(func.count()).where(RecordRow.source_id == source_id)
        return session.scalar(stmt) or 0


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
        key = session.get_one(SubjectKeyRow, row.subject_id)
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
