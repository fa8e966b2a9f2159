"""Answer an access request (GDPR Art. 15), which is also the portable copy (Art. 20).

One JSON document: the subject's records decrypted, their consent history
with the proof each event rests on, the segments they were placed in, the
destinations their segments were sent to, and the audit events about them.
Reading it is itself audited.
"""

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, append_events
from gateway.context import GatewayContext
from gateway.crypto.envelope import FieldCipher
from gateway.errors import DecryptionError
from gateway.storage import subjects_repo
from gateway.storage.db import transaction
from gateway.storage.models import ConsentEventRow, RecordRow
from gateway.subjects.documents import (
    AccessDocument,
    ConsentProof,
    HeldConsent,
    HeldMembership,
    HeldRecord,
    Recipient,
    SubjectAuditEvent,
    SubjectKeyState,
)
from gateway.subjects.locate import Located, locate
from gateway.vault import open_entry, subject_ciphers

FORMAT = "consent-gateway/subject-access/1"


def iso_utc(moment: datetime | None) -> str | None:
    """A stored time as ISO 8601 UTC (None stays None)."""
    if moment is None:
        return None
    # SQLite hands back naive datetimes; the gateway only ever stores UTC.
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def ciphers_of(
    session: Session, ctx: GatewayContext, subjects: tuple[str, ...]
) -> dict[str, FieldCipher]:
    """A cipher under the data key of every subject whose key still exists.

    Raises:
        DecryptionError: A key that exists does not open: the document is
            never returned with someone's data silently missing.
    """
    ciphers = subject_ciphers(session, ctx.keyring, subjects)
    keys = subjects_repo.subject_key_rows(session, subjects)
    if any(row.wrapped_key is not None and s not in ciphers for s, row in keys.items()):
        raise DecryptionError("a subject's data key does not open under the keyring")
    return ciphers


def _record(
    row: RecordRow,
    names: dict[str, str],
    personal: dict[str, str] | None,
) -> HeldRecord:
    return {
        "record_id": row.id,
        "partner": names.get(row.client_id, row.client_id),
        "dataset": row.dataset,
        "source_id": row.source_id,
        "subject_id": row.subject_id,
        "purpose": row.purpose,
        "version": row.version,
        "created_at": iso_utc(row.created_at),
        "updated_at": iso_utc(row.updated_at),
        "personal_data": personal,
        "data": row.data,
        "identifier_pseudonyms": row.identifiers,
        "policy_version": row.policy_version,
    }


def _consent(row: ConsentEventRow, names: dict[str, str]) -> HeldConsent:
    return {
        "identifier_type": row.identifier_type,
        "identifier_pseudonym": row.identifier_key,
        "purpose": row.purpose,
        "status": "granted" if row.granted else "withdrawn",
        "explicit": row.explicit,
        "at": iso_utc(row.event_time),
        "recorded_at": iso_utc(row.recorded_at),
        "source": row.source,
        "partner": names.get(row.client_id, row.client_id),
        "proof": _consent_proof(row),
    }


def _consent_proof(row: ConsentEventRow) -> ConsentProof | None:
    """What a consent event rests on besides the partner's word: its TC string."""
    digest = row.tcf_sha256
    if digest is None:
        return None
    return {
        "kind": "tcf",
        "tc_string_sha256": digest,
        "cmp_id": row.tcf_cmp_id,
        "tc_last_updated": iso_utc(row.tcf_last_updated),
    }


def _records(
    session: Session, ctx: GatewayContext, found: Located, names: dict[str, str]
) -> list[HeldRecord]:
    ciphers = ciphers_of(session, ctx, found.subjects)
    vault = subjects_repo.vault_of(session, (r.id for r in found.records))
    shown: list[HeldRecord] = []
    for row in found.records:
        entry = vault.get(row.id)
        cipher = ciphers.get(row.subject_id)
        personal: dict[str, str] | None = None
        if entry is not None and cipher is not None:
            personal = open_entry(cipher, row.id, row.subject_id, entry.ciphertext)
        shown.append(_record(row, names, personal))
    return shown


def _key_states(session: Session, subjects: tuple[str, ...]) -> list[SubjectKeyState]:
    keys = subjects_repo.subject_key_rows(session, subjects)
    return [
        {
            "subject_id": subject_id,
            "data_key": (
                "none"
                if subject_id not in keys
                else "destroyed"
                if keys[subject_id].wrapped_key is None
                else "active"
            ),
        }
        for subject_id in subjects
    ]


def _memberships(session: Session, entities: set[str]) -> list[HeldMembership]:
    return [
        {
            "audience": m.audience,
            "run_id": m.run_id,
            "run_finished_at": iso_utc(m.run_finished_at),
            "segment_id": m.segment_id,
            "label": m.label,
            "level": m.level,
            "description": m.description,
        }
        for m in subjects_repo.memberships_of(session, entities)
    ]


def _recipients(
    session: Session, entities: set[str], names: dict[str, str]
) -> list[Recipient]:
    return [
        {
            "destination": names.get(destination, destination),
            "audience": audience,
            "first_sent_at": iso_utc(at),
        }
        for destination, audience, at in subjects_repo.recipients_of(session, entities)
    ]


def _audit_events(
    session: Session, found: Located, names: dict[str, str]
) -> list[SubjectAuditEvent]:
    return [
        {
            "seq": row.seq,
            "occurred_at": row.occurred_at,
            "actor": names.get(row.actor, row.actor),
            "action": row.action,
            "purpose": row.purpose,
            "dataset": row.dataset,
            "record_id": row.record_id,
            "reason": row.reason,
        }
        for row in subjects_repo.audit_events_of(session, found.pseudonyms)
    ]


def document(session: Session, ctx: GatewayContext, found: Located) -> AccessDocument:
    """The access document of a located subject (read only)."""
    names = subjects_repo.client_names(session)
    entities = subjects_repo.entities_of(session, found.subjects, found.identifier_keys)
    records = _records(session, ctx, found, names)
    consents = [
        _consent(row, names)
        for row in subjects_repo.consent_events_of(session, found.identifier_keys)
    ]
    return {
        "format": FORMAT,
        "generated_at": iso_utc(ctx.clock()),
        "identifier_type": found.identifier_type,
        # Held data, that is: after an erasure only the audit events remain,
        # and they record what was done, not who the subject is.
        "found": bool(records or consents),
        "subjects": _key_states(session, found.subjects),
        "records": records,
        "consents": consents,
        "segments": _memberships(session, entities),
        "recipients": _recipients(session, entities, names),
        "audit_events": _audit_events(session, found, names),
    }


def access(
    ctx: GatewayContext, actor: str, identifier_type: str, identifier: str
) -> AccessDocument:
    """Locate the subject, build its document and audit the access, in one unit.

    Raises:
        InvalidRequestError: Unknown identifier type or invalid identifier.
        DecryptionError, KeyringError: A data key or vault row does not open
            under the keyring (the document is never returned half-decrypted).
    """
    with transaction(ctx.sessions) as session:
        found = locate(session, ctx, identifier_type, identifier)
        doc = document(session, ctx, found)
        events = [
            AuditEvent(
                actor=actor,
                action="subject.accessed",
                subject_id=subject_id,
                policy_version=ctx.policies.version,
                details={"identifier_type": identifier_type},
            )
            for subject_id in found.subjects
        ] or [
            AuditEvent(
                actor=actor,
                action="subject.accessed",
                policy_version=ctx.policies.version,
                details={"identifier_type": identifier_type, "found": False},
            )
        ]
        append_events(session, events, ctx.clock(), ctx.checkpoint_signer)
    return doc
