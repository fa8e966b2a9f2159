"""Data-subject requests over real HTTP: access, erasure and its receipt, reidentify."""

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.audit import merkle
from gateway.audit.checkpoints import open_checkpoint
from gateway.context import GatewayContext
from gateway.crypto.envelope import unwrap_data_key
from gateway.crypto.keyring import KeyPurpose
from gateway.errors import DecryptionError
from gateway.main import create_app
from gateway.storage.db import transaction
from gateway.storage.models import (
    AuditEventRow,
    ConsentEventRow,
    RecordRow,
    SubjectKeyRow,
    VaultEntryRow,
)
from pipelines.extract import extract
from tests.databases import BOTH, Database, gateway_context
from tests.factories import (
    ApiClient,
    consent,
    customer,
    grant,
    make_client,
    send_consents,
    send_records,
)
from tests.tcfkit import encode, valid_tc


@dataclass
class Desk:
    ctx: GatewayContext
    http: TestClient
    dpo: ApiClient
    partners: tuple[ApiClient, ApiClient]
    person: dict[str, Any]
    other: dict[str, Any]


@pytest.fixture
def desk(fresh_database: Database, tmp_path: Path) -> Iterator[Desk]:
    """One person known to two partners (same e-mail), and somebody else."""
    with (
        gateway_context(fresh_database, tmp_path / "home") as ctx,
        TestClient(create_app(ctx)) as http,
    ):
        first, second = make_client(ctx), make_client(ctx)
        person = customer()
        at_second = customer(
            {**person, "customer_id": person["customer_id"] + "-B"},
            comment="Livrer chez la gardienne",
        )
        other = customer()
        for partner, record in ((first, person), (second, at_second), (first, other)):
            grant(http, partner, record)
            assert send_records(http, partner, [record]).json()["accepted"] == 1
        send_consents(
            http, first, [consent("email", person["email"], purpose="analytics")]
        )
        yield Desk(ctx, http, make_client(ctx, "dpo"), (first, second), person, other)


def _post(desk: Desk, path: str, body: dict[str, Any], status: int = 200) -> Any:
    response = desk.http.post(
        f"/v1/subjects/{path}", json=body, headers=desk.dpo.headers
    )
    assert response.status_code == status, response.text
    return response.json()


def _by_email(desk: Desk, path: str, email: str) -> Any:
    return _post(desk, path, {"identifier_type": "email", "identifier": email})


@BOTH
def test_access_gathers_the_subject_across_partners(desk: Desk) -> None:
    document = _by_email(desk, "access", desk.person["email"].upper())
    assert document["found"] is True
    assert document["format"] == "consent-gateway/subject-access/1"
    records = document["records"]
    assert len(records) == 2  # one per partner, found through the global e-mail
    assert {r["partner"] for r in records} == {p.name for p in desk.partners}
    clear = {r["personal_data"]["last_name"] for r in records}
    assert clear == {desk.person["last_name"]}
    assert {r["personal_data"]["email"] for r in records} == {desk.person["email"]}
    assert len({r["subject_id"] for r in records}) == 2  # partner-scoped subjects
    consents = {(c["identifier_type"], c["purpose"]) for c in document["consents"]}
    assert consents == {("customer_id", "segmentation"), ("email", "analytics")}
    actions = [e["action"] for e in document["audit_events"]]
    assert actions.count("record.accepted") == 2
    # Nothing of anybody else.
    assert desk.other["last_name"] not in str(document)
    # The access itself is audited, once per subject, without the identifier.
    with transaction(desk.ctx.read_sessions) as session:
        accessed = session.scalars(
            select(AuditEventRow).where(AuditEventRow.action == "subject.accessed")
        ).all()
    assert {row.subject_id for row in accessed} == {r["subject_id"] for r in records}
    assert all(desk.person["email"] not in row.details for row in accessed)


@BOTH
def test_access_by_partner_scoped_identifier_and_unknown_person(desk: Desk) -> None:
    by_id = _post(
        desk,
        "access",
        {"identifier_type": "customer_id", "identifier": desk.person["customer_id"]},
    )
    assert [r["source_id"] for r in by_id["records"]] == [desk.person["source_id"]]
    nobody = _by_email(desk, "access", "nobody.at.all@example.org")
    assert nobody["found"] is False
    assert nobody["records"] == nobody["consents"] == []


@BOTH
def test_bad_requests_are_refused_without_echo(desk: Desk) -> None:
    value = "not-an-email-zq81"
    for body in (
        {"identifier_type": "email", "identifier": value},
        {"identifier_type": "shoe_size", "identifier": "42"},
        {"identifier_type": "email"},
        {"identifier_type": "email", "identifier": "a@b.fr", "extra": 1},
    ):
        response = desk.http.post(
            "/v1/subjects/access", json=body, headers=desk.dpo.headers
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert value not in response.text


def _vault_of(desk: Desk, subject_ids: set[str]) -> list[tuple[str, str, bytes]]:
    with transaction(desk.ctx.read_sessions) as session:
        rows = session.execute(
            select(
                VaultEntryRow.record_id,
                VaultEntryRow.subject_id,
                VaultEntryRow.ciphertext,
            ).where(VaultEntryRow.subject_id.in_(subject_ids))
        ).all()
    return [(r, s, bytes(c)) for r, s, c in rows]


def _check_receipt(desk: Desk, receipt: dict[str, Any]) -> None:
    """What anyone holding the log's public key can check about an erasure."""
    event = receipt["audit_event"]
    leaf = merkle.leaf_hash(event["canonical"].encode("utf-8"))
    assert leaf.hex() == event["leaf_hash"]
    signed = open_checkpoint(receipt["checkpoint"], desk.ctx.keyring)
    proof = receipt["inclusion_proof"]
    assert proof["leaf_index"] == event["seq"]
    assert proof["tree_size"] == signed.tree_size
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    assert merkle.verify_inclusion(
        event["seq"], signed.tree_size, leaf, path, signed.root_hash
    )
    flipped = bytes([leaf[0] ^ 1]) + leaf[1:]
    assert not merkle.verify_inclusion(
        event["seq"], signed.tree_size, flipped, path, signed.root_hash
    )


@BOTH
def test_erasure_shreds_deletes_and_proves(desk: Desk) -> None:
    before = _by_email(desk, "access", desk.person["email"])
    subjects = {r["subject_id"] for r in before["records"]}
    backup = _vault_of(desk, subjects)  # a copy an attacker kept, say
    assert len(backup) == 2

    receipt = _by_email(desk, "erase", desk.person["email"])
    assert set(receipt["subjects"]) == subjects
    deleted = receipt["deleted"]
    assert deleted["records"] == deleted["vault_entries"] == 2
    assert deleted["keys_destroyed"] == 2
    assert deleted["consent_events"] == 3
    assert desk.person["email"] not in str(receipt)
    _check_receipt(desk, receipt)

    with transaction(desk.ctx.read_sessions) as session:
        assert not session.scalars(
            select(RecordRow).where(RecordRow.subject_id.in_(subjects))
        ).all()
        keys = session.scalars(
            select(SubjectKeyRow).where(SubjectKeyRow.subject_id.in_(subjects))
        ).all()
        assert keys
        assert all(k.wrapped_key is None and k.destroyed_at for k in keys)
        wrapped = (
            session.execute(
                select(SubjectKeyRow.wrapped_key).where(
                    SubjectKeyRow.wrapped_key.is_not(None)
                )
            )
            .scalars()
            .all()
        )
        consents = session.scalars(select(ConsentEventRow)).all()
    # No stored data key, under any master key of the keyring, opens the
    # copied ciphertexts' subjects: the data keys are gone for good.
    masters = [k for k in desk.ctx.keyring.keys if k.purpose == KeyPurpose.MASTER]
    for _record_id, subject_id, _blob in backup:
        for master in masters:
            for blob in wrapped:
                with pytest.raises(DecryptionError):
                    unwrap_data_key(master, bytes(blob), subject_id)
    assert all(desk.person["customer_id"] not in str(c.source) for c in consents)

    after = _by_email(desk, "access", desk.person["email"])
    assert after["found"] is False
    assert after["records"] == after["consents"] == after["segments"] == []
    assert after["subjects"] == []  # no record links the e-mail to anyone now
    # By its own key, the subject's data key is seen destroyed, and the
    # erasure is in its audit trail; the other person is intact.
    by_key = _post(
        desk,
        "access",
        {"identifier_type": "customer_id", "identifier": desk.person["customer_id"]},
    )
    assert by_key["found"] is False
    assert [s["data_key"] for s in by_key["subjects"]] == ["destroyed"]
    assert "subject.erased" in {e["action"] for e in by_key["audit_events"]}
    assert _by_email(desk, "access", desk.other["email"])["found"] is True

    # A pipeline run reads what is stored: none of the erased records.
    audience = desk.ctx.policies.audiences["retail_default"]
    frames = extract(desk.ctx.engine, desk.ctx.policies, audience).frames
    seen = {s for frame in frames.values() for s in frame.get_column("subject_id")}
    assert seen
    assert seen.isdisjoint(subjects)

    verified = desk.http.get("/v1/audit/verify", headers=desk.dpo.headers).json()
    assert verified["ok"] is True


@BOTH
def test_erasure_of_nobody_still_gives_a_receipt(desk: Desk) -> None:
    receipt = _by_email(desk, "erase", "nobody.at.all@example.org")
    assert receipt["found"] is False
    assert receipt["subjects"] == []
    assert set(receipt["deleted"].values()) == {0}
    _check_receipt(desk, receipt)


@BOTH
def test_reidentify_needs_a_justification_and_audits_it(desk: Desk) -> None:
    subject_id = _by_email(desk, "access", desk.other["email"])["records"][0][
        "subject_id"
    ]
    refused = desk.http.post(
        "/v1/subjects/reidentify",
        json={"subject_id": subject_id, "justification": "  "},
        headers=desk.dpo.headers,
    )
    assert refused.status_code == 422
    why = f"Fraud case 2026-114 raised by {desk.person['email']}"
    found = _post(desk, "reidentify", {"subject_id": subject_id, "justification": why})
    assert found["identifiers"]["customer_id"] == [desk.other["customer_id"]]
    assert found["identifiers"]["email"] == [desk.other["email"]]
    with transaction(desk.ctx.read_sessions) as session:
        event = session.scalars(
            select(AuditEventRow).where(AuditEventRow.action == "subject.reidentified")
        ).one()
    assert event.subject_id == subject_id
    kept = json.loads(event.details)["justification"]
    # Kept, with the personal data in it redacted first (what else the NER
    # tags varies with the text; the e-mail is found by its pattern).
    assert "raised by <EMAIL_ADDRESS>" in kept
    assert desk.person["email"] not in event.details


@BOTH
def test_a_justification_naming_the_subject_keeps_no_name(desk: Desk) -> None:
    # Detection does not know these made-up names; the vault does.
    person = desk.other
    subject_id = _by_email(desk, "access", person["email"])["records"][0]["subject_id"]
    why = f"Complaint by {person['first_name']} {person['last_name']}, case 7"
    _post(desk, "reidentify", {"subject_id": subject_id, "justification": why})
    with transaction(desk.ctx.read_sessions) as session:
        details = session.scalars(
            select(AuditEventRow.details).where(
                AuditEventRow.action == "subject.reidentified"
            )
        ).all()
    assert details
    for text in details:
        assert person["first_name"] not in text
        assert person["last_name"] not in text


@BOTH
def test_audit_events_by_identifier_action_and_time(desk: Desk) -> None:
    headers = desk.dpo.headers
    page = desk.http.get(
        "/v1/audit/events",
        params={"identifier_type": "email", "identifier": desk.person["email"]},
        headers=headers,
    )
    assert page.status_code == 200, page.text
    actions = [e["action"] for e in page.json()["events"]]
    assert actions.count("record.accepted") == 2
    assert "consent.granted" in actions
    seqs = [e["seq"] for e in page.json()["events"]]
    assert seqs == sorted(seqs)

    first = desk.http.get(
        "/v1/audit/events",
        params={"action": "record.accepted", "limit": 2},
        headers=headers,
    ).json()
    assert [e["action"] for e in first["events"]] == ["record.accepted"] * 2
    rest = desk.http.get(
        "/v1/audit/events",
        params={"action": "record.accepted", "cursor": first["next_cursor"]},
        headers=headers,
    ).json()
    assert len(rest["events"]) == 1
    assert rest["next_cursor"] is None
    future = desk.http.get(
        "/v1/audit/events", params={"since": "2999-01-01T00:00:00Z"}, headers=headers
    ).json()
    assert future["events"] == []
    bad = desk.http.get(
        "/v1/audit/events", params={"since": "yesterday"}, headers=headers
    )
    assert bad.status_code == 422


def test_erased_bytes_leave_the_sqlite_file(desk: Desk) -> None:
    """The vault rows and the wrapped data key are zeroed, not just unlinked."""
    subjects = {
        r["subject_id"]
        for r in _by_email(desk, "access", desk.person["email"])["records"]
    }
    blobs = [blob for _, _, blob in _vault_of(desk, subjects)]
    with transaction(desk.ctx.read_sessions) as session:
        wrapped = session.scalars(
            select(SubjectKeyRow.wrapped_key).where(
                SubjectKeyRow.subject_id.in_(subjects)
            )
        ).all()
    secrets = [*blobs, *(bytes(w) for w in wrapped)]
    assert len(secrets) == 4
    _by_email(desk, "erase", desk.person["email"])
    path = desk.ctx.engine.url.database
    assert path is not None
    with closing(sqlite3.connect(path)) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0
    raw = Path(path).read_bytes()
    assert all(secret not in raw for secret in secrets)


@BOTH
def test_access_shows_the_tc_string_proof_never_the_string(desk: Desk) -> None:
    tcf = desk.ctx.policies.tcf
    assert tcf is not None
    tc = encode(valid_tc(tcf.vendor_id, cmp_id=300))
    event = consent("email", desk.other["email"], tcf_string=tc)
    del event["purpose"]
    assert send_consents(desk.http, desk.partners[0], [event])["recorded"] == 1
    document = _by_email(desk, "access", desk.other["email"])
    [proved] = [c for c in document["consents"] if c["proof"] is not None]
    assert proved["proof"]["kind"] == "tcf"
    assert (
        proved["proof"]["tc_string_sha256"] == hashlib.sha256(tc.encode()).hexdigest()
    )
    assert proved["proof"]["cmp_id"] == 300
    assert proved["status"] == "granted"
    assert tc not in json.dumps(document)
