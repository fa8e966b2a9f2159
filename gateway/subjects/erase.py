"""Erase a data subject (GDPR Art. 17) and hand back a receipt anyone can check.

Crypto-shredding first: the subject's data keys are destroyed, so no copy of
its vault rows (a backup, a replica) opens again. Then its records, vault
rows, linkage encodings, consent events, memberships and the identifier
pseudonyms runs kept for it are deleted, and every destination that was sent
one of its entities finds it in its revocations feed (Art. 19). Audit events
stay: they hold pseudonyms and actions, never values.

The receipt carries the audit event's exact bytes, its RFC 6962 inclusion
proof and the checkpoint signed over the log that holds it: with the log's
public key, anyone can check that the erasure was recorded, and later that
the log was not rewritten to hide it.
"""

from gateway.audit import AuditEvent, append_events, inclusion_proof
from gateway.audit.proofs import AuditLogError
from gateway.context import GatewayContext
from gateway.storage import audit_repo, revocations_repo, subjects_repo
from gateway.storage.db import transaction
from gateway.subjects.access import iso_utc
from gateway.subjects.documents import ErasureCounts, ErasureReceipt
from gateway.subjects.locate import locate

RECEIPT_FORMAT = "consent-gateway/erasure-receipt/1"


def erase(
    ctx: GatewayContext, actor: str, identifier_type: str, identifier: str
) -> ErasureReceipt:
    """Erase everything held about the subject, in one transaction; the receipt.

    Raises:
        InvalidRequestError: Unknown identifier type or invalid identifier.
    """
    now = ctx.clock()
    with transaction(ctx.sessions) as session:
        found = locate(session, ctx, identifier_type, identifier)
        entities = sorted(
            subjects_repo.entities_of(session, found.subjects, found.identifier_keys)
        )
        revoked = revocations_repo.revoke(
            session, entities, None, revocations_repo.ERASED, now
        )
        deleted = subjects_repo.erase(
            session,
            found.subjects,
            found.identifier_keys,
            [record.id for record in found.records],
            entities,
            now,
        )
        counts: ErasureCounts = {
            "records": deleted.records,
            "vault_entries": deleted.vault_entries,
            "consent_events": deleted.consent_events,
            "memberships": deleted.memberships,
            "deliveries": deleted.deliveries,
            "entity_keys": deleted.entity_keys,
            "keys_destroyed": deleted.keys_destroyed,
            "revocations": revoked,
        }
        per_subject = [
            AuditEvent(
                actor=actor,
                action="subject.erased",
                subject_id=subject_id,
                policy_version=ctx.policies.version,
                details={"identifier_type": identifier_type},
            )
            for subject_id in found.subjects
        ]
        summary = AuditEvent(
            actor=actor,
            action="subject.erasure",
            policy_version=ctx.policies.version,
            details={
                "identifier_type": identifier_type,
                "subjects": list(found.subjects),
                **counts,
            },
        )
        sealed = append_events(
            session, [*per_subject, summary], now, ctx.checkpoint_signer
        )[-1]
        checkpoint = audit_repo.last_checkpoint(session)
        if checkpoint is None or checkpoint.tree_size <= sealed.seq:
            raise AuditLogError("the erasure batch was not checkpointed")
        proof = inclusion_proof(session, sealed.seq, checkpoint.tree_size)
    return {
        "receipt": RECEIPT_FORMAT,
        "erased_at": iso_utc(now),
        "identifier_type": identifier_type,
        "found": bool(found.subjects or deleted.consent_events),
        "subjects": list(found.subjects),
        "deleted": counts,
        "audit_event": {
            "seq": sealed.seq,
            "event_id": sealed.event_id,
            "leaf_hash": sealed.leaf_hash.hex(),
            "canonical": sealed.canonical.decode("utf-8"),
        },
        "inclusion_proof": {
            "leaf_index": proof.leaf_index,
            "tree_size": proof.tree_size,
            "leaf_hash": proof.leaf_hash.hex(),
            "audit_path": [step.hex() for step in proof.audit_path],
        },
        "checkpoint": checkpoint.note,
    }
