"""`gateway.keys.rotate`: each key rotates, and what was stored before stays usable.

"Before" is the gateway as it ran until the rotation (`fresh_ctx`, which
keeps its keyring in memory, like a server not yet restarted); "after" is
a gateway started once the rotation wrote the keyring file (`_restarted`).
"""

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from gateway.audit import verify
from gateway.audit.checkpoints import (
    active_verifier_key,
    log_origin,
    open_checkpoint,
    sign_checkpoint,
)
from gateway.audit.note import NoteError, open_note
from gateway.bootstrap import build_context
from gateway.consent.service import decide_many
from gateway.context import GatewayContext
from gateway.crypto.envelope import unwrap_data_key
from gateway.crypto.keyring import KeyPurpose, load_keyring
from gateway.errors import ConflictError, DecryptionError, InvalidRequestError
from gateway.keys import KeyKind, RotationReport, rotate
from gateway.keys.rotation import keyring_lock
from gateway.main import create_app
from gateway.storage.bulk import insert_rows
from gateway.storage.db import transaction
from gateway.storage.models import (
    AuditEventRow,
    ConsentEventRow,
    PipelineRunRow,
    RecordRow,
    RunEntityKeyRow,
    SubjectKeyRow,
    VaultEntryRow,
)
from gateway.vault import open_entry, subject_ciphers
from tests.databases import BOTH
from tests.factories import (
    ApiClient,
    consent,
    customer,
    grant,
    make_client,
    send_consents,
    send_records,
)


def _rotate(ctx: GatewayContext, kind: KeyKind, **options: Any) -> RotationReport:
    return rotate(ctx, kind, ctx.settings.keyring_path, **options)


@contextmanager
def _restarted(ctx: GatewayContext) -> Iterator[GatewayContext]:
    """The gateway as a server started after the rotation sees it."""
    after = build_context(ctx.settings)
    try:
        yield after
    finally:
        after.dispose()


def _send(http: TestClient, partner: ApiClient, record: dict[str, Any]) -> Any:
    response = send_records(http, partner, [record])
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def _rows(ctx: GatewayContext, model: Any) -> list[Any]:
    with transaction(ctx.read_sessions) as session:
        return list(session.scalars(select(model)))


def _kid(pseudonym: str) -> str:
    return pseudonym.partition(".")[0]


def _rotation_events(ctx: GatewayContext) -> list[dict[str, Any]]:
    with transaction(ctx.read_sessions) as session:
        rows = session.scalars(
            select(AuditEventRow).where(AuditEventRow.action == "keys.rotated")
        )
        return [json.loads(row.details) for row in rows]


# --- master -------------------------------------------------------------------


@BOTH
def test_master_rotation_rewraps_every_data_key_and_no_ciphertext(
    fresh_ctx: GatewayContext,
) -> None:
    ctx = fresh_ctx
    partner = make_client(ctx)
    people = [customer() for _ in range(4)]
    with TestClient(create_app(ctx)) as http:
        for person in people:
            grant(http, partner, person)
        results = [_send(http, partner, person) for person in people]
    erased = results[3]["subject_id"]
    with transaction(ctx.sessions) as session:
        session.execute(
            update(SubjectKeyRow)
            .where(SubjectKeyRow.subject_id == erased)
            .values(wrapped_key=None, destroyed_at=datetime.now(UTC))
        )
    old_master = ctx.keyring.active(KeyPurpose.MASTER)
    vault_before = {v.record_id: bytes(v.ciphertext) for v in _rows(ctx, VaultEntryRow)}
    keys_before = {k.subject_id: k.wrapped_key for k in _rows(ctx, SubjectKeyRow)}

    report = _rotate(ctx, KeyKind.MASTER)

    assert report.counts == {"rewrapped": 3, "failed": 0}
    assert report.old_kid == old_master.kid != report.new_kid
    with _restarted(ctx) as after:
        assert after.keyring.active(KeyPurpose.MASTER).kid == report.new_kid
        keys = {k.subject_id: k for k in _rows(after, SubjectKeyRow)}
        for subject_id, row in keys.items():
            if subject_id == erased:
                assert row.wrapped_key is None  # a destroyed key stays destroyed
                continue
            assert row.master_kid == report.new_kid
            assert row.wrapped_key != keys_before[subject_id]
            with pytest.raises(DecryptionError):
                unwrap_data_key(old_master, row.wrapped_key, subject_id)
        vault = {v.record_id: v for v in _rows(after, VaultEntryRow)}
        assert {rid: bytes(v.ciphertext) for rid, v in vault.items()} == vault_before
        with transaction(after.read_sessions) as session:
            ciphers = subject_ciphers(session, after.keyring, set(keys))
        for person, result in zip(people[:3], results[:3], strict=True):
            entry = vault[result["record_id"]]
            fields = open_entry(
                ciphers[entry.subject_id], entry.record_id, entry.subject_id,
                entry.ciphertext,
            )  # fmt: skip
            assert fields["last_name"] == person["last_name"]

        again = _rotate(after, KeyKind.MASTER, resume=True)

        assert again.counts == {"rewrapped": 0, "failed": 0}
        assert again.new_kid == report.new_kid
        assert {k.subject_id: k.wrapped_key for k in _rows(after, SubjectKeyRow)} == {
            subject_id: row.wrapped_key for subject_id, row in keys.items()
        }
    events = _rotation_events(ctx)
    assert events[0] == {
        "kind": "master",
        "old_kid": old_master.kid,
        "new_kid": report.new_kid,
        "resumed": False,
        "rewrapped": 3,
        "failed": 0,
    }
    assert events[1]["resumed"] is True


@BOTH
def test_a_server_not_yet_restarted_after_a_master_rotation_corrupts_nothing(
    fresh_ctx: GatewayContext,
) -> None:
    stale = fresh_ctx
    partner = make_client(stale)
    known, newcomer = customer(), customer()
    with TestClient(create_app(stale)) as http:
        grant(http, partner, known)
        grant(http, partner, newcomer)
        first = _send(http, partner, known)

        report = _rotate(stale, KeyKind.MASTER)
        # Still on the old keyring: a new subject's key goes under the old
        # master key, which the keyring keeps; a rewrapped one cannot be read.
        late = _send(http, partner, newcomer)
        refused = send_records(http, partner, [customer(known)])

    assert late["status"] == "accepted"
    assert refused.status_code == 500
    assert len(_rows(stale, RecordRow)) == 2  # the refused record left nothing
    with _restarted(stale) as after:
        resumed = _rotate(after, KeyKind.MASTER, resume=True)
        assert resumed.counts == {"rewrapped": 1, "failed": 0}
        keys = _rows(after, SubjectKeyRow)
        assert {k.master_kid for k in keys} == {report.new_kid}
        with transaction(after.read_sessions) as session:
            ciphers = subject_ciphers(
                session, after.keyring, {k.subject_id for k in keys}
            )
        assert set(ciphers) == {first["subject_id"], late["subject_id"]}


# --- pseudonym ----------------------------------------------------------------


@BOTH
def test_consent_given_before_a_pseudonym_rotation_lets_a_record_in_after(
    fresh_ctx: GatewayContext,
) -> None:
    partner = make_client(fresh_ctx)
    by_customer, by_email = customer(), customer()
    with TestClient(create_app(fresh_ctx)) as http:
        grant(http, partner, by_customer)
        send_consents(http, partner, [consent("email", by_email["email"])])
    old_kid = fresh_ctx.keyring.active(KeyPurpose.PSEUDONYM).kid

    report = _rotate(fresh_ctx, KeyKind.PSEUDONYM)

    with _restarted(fresh_ctx) as after, TestClient(create_app(after)) as http:
        assert len(after.pseudonymizers) == 2
        first = _send(http, partner, by_customer)
        second = _send(http, partner, by_email)
    assert report.new_kid != old_kid
    assert (first["status"], second["status"]) == ("accepted", "accepted")
    # The customer number was known under the old key: it keeps that pseudonym.
    assert _kid(first["subject_id"]) == old_kid
    # This one was never seen before: new data gets the new key.
    assert _kid(second["subject_id"]) == report.new_kid


@BOTH
def test_an_existing_subject_keeps_its_subject_id_and_data_key_after_rotation(
    fresh_ctx: GatewayContext,
) -> None:
    partner = make_client(fresh_ctx)
    person = customer()
    with TestClient(create_app(fresh_ctx)) as http:
        grant(http, partner, person)
        before = _send(http, partner, person)
    keys_before = _rows(fresh_ctx, SubjectKeyRow)

    _rotate(fresh_ctx, KeyKind.PSEUDONYM)

    with _restarted(fresh_ctx) as after, TestClient(create_app(after)) as http:
        updated = _send(http, partner, person | {"loyalty_tier": "silver"})
        other = _send(http, partner, customer(person, source_id="second-source"))
        again = _send(http, partner, person | {"loyalty_tier": "silver"})
        vault = _rows(after, VaultEntryRow)
        with transaction(after.read_sessions) as session:
            ciphers = subject_ciphers(session, after.keyring, {before["subject_id"]})
    assert (updated["status"], updated["record_id"]) == ("updated", before["record_id"])
    assert other["status"] == "accepted"
    assert updated["subject_id"] == other["subject_id"] == before["subject_id"]
    assert again["status"] == "duplicate"  # same content, whatever the key
    # One subject, one data key: the same row, unchanged.
    assert [(k.subject_id, k.wrapped_key) for k in _rows(fresh_ctx, SubjectKeyRow)] == [
        (k.subject_id, k.wrapped_key) for k in keys_before
    ]
    cipher = ciphers[before["subject_id"]]
    names = {
        open_entry(cipher, v.record_id, v.subject_id, v.ciphertext)["customer_id"]
        for v in vault
    }
    assert names == {person["customer_id"]}


@BOTH
def test_a_withdrawal_after_a_pseudonym_rotation_wins_over_a_grant_before(
    fresh_ctx: GatewayContext,
) -> None:
    partner = make_client(fresh_ctx)
    person = customer()
    with TestClient(create_app(fresh_ctx)) as http:
        grant(http, partner, person)
        assert _send(http, partner, person)["status"] == "accepted"

    _rotate(fresh_ctx, KeyKind.PSEUDONYM)

    with _restarted(fresh_ctx) as after, TestClient(create_app(after)) as http:
        body = send_consents(
            http,
            partner,
            [
                consent(
                    "customer_id",
                    person["customer_id"],
                    "withdrawn",
                    timestamp="2026-02-01T10:00:00Z",
                )
            ],
        )
        refused = _send(http, partner, customer(person))
    assert refused["reason"] == "consent_missing"
    # Recorded under the pseudonym the grant went by: the pipelines and the
    # pull-time checks, which see pseudonyms only, join them too.
    events = _rows(fresh_ctx, ConsentEventRow)
    assert {e.identifier_key for e in events} == {body["results"][0]["identifier_key"]}
    assert sorted(e.granted for e in events) == [False, True]


@BOTH
def test_record_identifiers_only_records_knew_move_to_the_new_key(
    fresh_ctx: GatewayContext,
) -> None:
    partner = make_client(fresh_ctx)
    person = customer()  # consent by customer number: its e-mail is in no event
    with TestClient(create_app(fresh_ctx)) as http:
        grant(http, partner, person)
        old = _send(http, partner, person)
    (old_row,) = _rows(fresh_ctx, RecordRow)
    old_email = old_row.identifiers["email"]
    _store_run_keys(fresh_ctx, old_row.subject_id, [old_email, old_row.subject_id])

    report = _rotate(fresh_ctx, KeyKind.PSEUDONYM)

    assert report.counts == {
        "records_rekeyed": 1,
        "entity_keys_rekeyed": 1,
        "without_key": 0,
    }
    (moved,) = _rows(fresh_ctx, RecordRow)
    new_email = moved.identifiers["email"]
    assert _kid(new_email) == report.new_kid
    assert moved.identifiers["customer_id"] == moved.subject_id == old["subject_id"]
    assert {k.identifier_key for k in _rows(fresh_ctx, RunEntityKeyRow)} == {
        new_email,
        old_row.subject_id,
    }
    with _restarted(fresh_ctx) as after, TestClient(create_app(after)) as http:
        # A partner's record of the same e-mail links to the old one exactly...
        other = make_client(after)
        send_consents(http, other, [consent("email", person["email"])])
        _send(http, other, customer(person, customer_id="OTHER-1"))
        # ...and a withdrawal by e-mail reaches the old record.
        send_consents(
            http,
            partner,
            [
                consent(
                    "email",
                    person["email"],
                    "withdrawn",
                    timestamp="2026-03-01T00:00:00Z",
                )
            ],
        )
        with transaction(after.read_sessions) as session:
            records = list(session.scalars(select(RecordRow)))
            decisions = decide_many(
                session,
                [list(moved.identifiers.values())],
                "segmentation",
                "consent",
            )
        assert (
            _rotate(after, KeyKind.PSEUDONYM, resume=True).counts["records_rekeyed"]
            == 0
        )
    assert {r.identifiers["email"] for r in records} == {new_email}
    assert not decisions[0].allowed


def _store_run_keys(ctx: GatewayContext, subject_id: str, keys: list[str]) -> None:
    """A finished run whose one entity was built from these identifier keys."""
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        insert_rows(
            session,
            PipelineRunRow.__table__,
            [
                {
                    "id": "run-1",
                    "audience": "retail_default",
                    "policy_version": ctx.policies.version,
                    "seed": 1,
                    "started_at": now,
                    "finished_at": now,
                    "summary": {},
                }
            ],
        )
        insert_rows(
            session,
            RunEntityKeyRow.__table__,
            [
                {
                    "run_id": "run-1",
                    "identifier_key": key,
                    "entity_id": "entity-1",
                    "subject_id": subject_id,
                }
                for key in keys
            ],
        )


@BOTH
def test_a_request_replayed_across_a_pseudonym_rotation_is_still_a_replay(
    fresh_ctx: GatewayContext,
) -> None:
    partner = make_client(fresh_ctx)
    person = customer()
    headers = {"Idempotency-Key": "retry-1"}
    with TestClient(create_app(fresh_ctx)) as http:
        grant(http, partner, person)
        first = send_records(http, partner, [person], headers=headers)

    _rotate(fresh_ctx, KeyKind.PSEUDONYM)

    with _restarted(fresh_ctx) as after, TestClient(create_app(after)) as http:
        replay = send_records(http, partner, [person], headers=headers)
        reused = send_records(http, partner, [customer()], headers=headers)
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert reused.status_code == 409


# --- audit --------------------------------------------------------------------


def _signer_key_id(note: str) -> bytes:
    signature = note.rstrip("\n").rsplit("\n", 1)[-1].rsplit(" ", 1)[-1]
    return base64.b64decode(signature)[:4]


@BOTH
def test_audit_rotation_signs_new_checkpoints_with_the_new_key_and_old_ones_verify(
    fresh_ctx: GatewayContext,
) -> None:
    with transaction(fresh_ctx.sessions) as session:
        before = sign_checkpoint(
            session, fresh_ctx.checkpoint_signer, fresh_ctx.clock()
        )
    old_vkey = active_verifier_key(fresh_ctx.keyring)

    report = _rotate(fresh_ctx, KeyKind.AUDIT)

    with _restarted(fresh_ctx) as after:
        # The rotation's own event was appended with the new key's signer.
        with transaction(after.sessions) as session:
            latest = sign_checkpoint(session, after.checkpoint_signer, after.clock())
        new_vkey = active_verifier_key(after.keyring)
        assert after.keyring.active(KeyPurpose.AUDIT_SIGNING).kid == report.new_kid
        assert log_origin(after.keyring) == log_origin(fresh_ctx.keyring)
        assert latest.tree_size == before.tree_size + 1
        assert _signer_key_id(before.note) == old_vkey.key_id
        assert _signer_key_id(latest.note) == new_vkey.key_id != old_vkey.key_id
        with pytest.raises(NoteError):
            open_note(latest.note, [old_vkey])
        with transaction(after.read_sessions) as session:
            for signed in (before, latest):
                saved = open_checkpoint(signed.note, after.keyring)
                assert verify(session, after.read_sessions, saved).ok


# --- linkage ------------------------------------------------------------------


@BOTH
def test_linkage_rotation_reencodes_every_record_and_keeps_destination_ids(
    fresh_ctx: GatewayContext,
) -> None:
    from gateway.export.service import destination_ids  # noqa: PLC0415
    from gateway.storage.models import ClientRow  # noqa: PLC0415

    partner = make_client(fresh_ctx)
    destination = make_client(fresh_ctx, "destination")
    people = [customer() for _ in range(3)]
    with TestClient(create_app(fresh_ctx)) as http:
        for person in people:
            grant(http, partner, person)
            _send(http, partner, person)
    before = {r.id: (r.link_fields, r.linkage_kid) for r in _rows(fresh_ctx, RecordRow)}
    with transaction(fresh_ctx.read_sessions) as session:
        client_row = session.get(ClientRow, destination.client_id)
        assert client_row is not None
        ids_before = destination_ids(fresh_ctx, client_row, ["entity-1", "entity-2"])

    report = _rotate(fresh_ctx, KeyKind.LINKAGE)

    assert report.counts == {"encoded": 3, "without_key": 0}
    after_rows = _rows(fresh_ctx, RecordRow)
    assert {r.linkage_kid for r in after_rows} == {report.new_kid}
    assert all(
        r.link_fields is not None and r.link_fields != before[r.id][0]
        for r in after_rows
    )
    with _restarted(fresh_ctx) as after:
        assert after.linkage.kid == report.new_kid
        assert (
            destination_ids(after, client_row, ["entity-1", "entity-2"]) == ids_before
        )


@BOTH
def test_pipelines_never_compare_encodings_made_under_another_linkage_key(
    fresh_ctx: GatewayContext,
) -> None:
    from pipelines.extract import read_raw  # noqa: PLC0415

    stale = fresh_ctx
    partner = make_client(stale)
    first, late = customer(), customer()
    with TestClient(create_app(stale)) as http:
        grant(http, partner, first)
        grant(http, partner, late)
        _send(http, partner, first)
        report = _rotate(stale, KeyKind.LINKAGE)
        # A server not restarted yet still encodes under the old key.
        stale_record = _send(http, partner, late)["record_id"]

    def clks(kid: str) -> dict[str, bytes | None]:
        frames = list(read_raw(stale.engine, "customers", "segmentation", 100, kid))
        return dict(zip(frames[0]["record_id"], frames[0]["link_fields"], strict=True))

    read = clks(report.new_kid)
    assert read[stale_record] is None
    assert all(clk is not None for rid, clk in read.items() if rid != stale_record)
    with _restarted(stale) as after:
        assert _rotate(after, KeyKind.LINKAGE, resume=True).counts["encoded"] == 1
    assert all(clk is not None for clk in clks(report.new_kid).values())


# --- the rotation itself ------------------------------------------------------


@BOTH
def test_resume_without_a_rotation_and_a_concurrent_rotation_are_refused(
    fresh_ctx: GatewayContext,
) -> None:
    path = fresh_ctx.settings.keyring_path
    with pytest.raises(InvalidRequestError, match="nothing to resume"):
        _rotate(fresh_ctx, KeyKind.MASTER, resume=True)
    with keyring_lock(path), pytest.raises(ConflictError):
        _rotate(fresh_ctx, KeyKind.AUDIT)
    assert load_keyring(path) == fresh_ctx.keyring  # nothing was written


@BOTH
def test_a_rotation_starts_from_the_keyring_file_not_a_stale_copy(
    fresh_ctx: GatewayContext,
) -> None:
    first = _rotate(fresh_ctx, KeyKind.MASTER)
    # `fresh_ctx` still holds the keyring of before: rotating from it would
    # drop the key the first rotation made and wrapped data keys under.
    second = _rotate(fresh_ctx, KeyKind.MASTER)

    keyring = load_keyring(fresh_ctx.settings.keyring_path)
    masters = {k.kid for k in keyring.keys if k.purpose == KeyPurpose.MASTER}
    assert masters == {first.old_kid, first.new_kid, second.new_kid}
    assert second.old_kid == first.new_kid
    logged = json.dumps(_rotation_events(fresh_ctx))
    for key in keyring.keys:  # key ids and counts only, never key material
        assert base64.b64encode(key.material).decode() not in logged
        assert key.material.hex() not in logged
