"""Re-identify a subject pseudonym for the DPO, with a written justification.

The identifiers behind a pseudonym are read from the vault (an HMAC cannot be
reversed): only while the subject's data key exists, so never after an
erasure. The justification is kept in the audit log, with any personal data
it holds redacted first: the log must stay free of it.
"""

import re
from collections import defaultdict

from gateway.audit import AuditEvent, append_events
from gateway.context import GatewayContext
from gateway.errors import InvalidRequestError
from gateway.fields.normalize import FieldInvalid, normalize_string
from gateway.ingest.transform import known_fields, known_values
from gateway.storage import subjects_repo
from gateway.storage.db import transaction
from gateway.subjects.access import ciphers_of
from gateway.subjects.documents import RecordRef, Reidentification
from gateway.vault import open_entry

MIN_JUSTIFICATION = 10
MAX_JUSTIFICATION = 2000
# A subject pseudonym: the pseudonym key's id, a dot, 64 hex digits
# (gateway.crypto.pseudonym). Anything else names nobody, and would be
# written to the append-only audit log as sent.
SUBJECT_ID = re.compile(r"[0-9a-f]{8}\.[0-9a-f]{64}")


def check_justification(text: str) -> str:
    """The justification, stripped, within bounds.

    Raises:
        InvalidRequestError: Missing, too short to say anything, or too long.
    """
    try:
        stripped = normalize_string(text, MAX_JUSTIFICATION)
    except FieldInvalid as exc:
        if exc.reason == "control_character":
            raise InvalidRequestError("justification: no control characters") from None
        stripped = "" if exc.reason != "too_long" else text
    if len(stripped) < MIN_JUSTIFICATION:
        raise InvalidRequestError(
            f"justification: required, at least {MIN_JUSTIFICATION} characters"
        )
    if len(stripped) > MAX_JUSTIFICATION:
        raise InvalidRequestError(
            f"justification: at most {MAX_JUSTIFICATION} characters"
        )
    return stripped


def reidentify(
    ctx: GatewayContext, actor: str, subject_id: str, justification: str
) -> Reidentification:
    """The identifiers and records behind a subject pseudonym; audited.

    Raises:
        InvalidRequestError: No justification, or a malformed subject id.
    """
    reason = check_justification(justification)
    if not isinstance(subject_id, str) or not SUBJECT_ID.fullmatch(subject_id):
        raise InvalidRequestError("subject_id: a subject pseudonym")
    with transaction(ctx.read_sessions) as session:
        records = subjects_repo.records_of(session, [subject_id])
        ciphers = ciphers_of(session, ctx, (subject_id,))
        vault = subjects_repo.vault_of(session, (r.id for r in records))
        names = subjects_repo.client_names(session)
    identifiers: dict[str, set[str]] = defaultdict(set)
    held: set[tuple[str, str]] = set()
    shown: list[RecordRef] = []
    cipher = ciphers.get(subject_id)
    for record in records:
        entry = vault.get(record.id)
        if cipher is not None and entry is not None:
            plain = open_entry(cipher, record.id, subject_id, entry.ciphertext)
            dataset = ctx.policies.datasets.get(record.dataset)
            if dataset is not None:
                held.update(known_values(known_fields(dataset), plain))
            for name in record.identifiers:
                if name in plain:
                    identifiers[name].add(plain[name])
        shown.append(
            {
                "record_id": record.id,
                "partner": names.get(record.client_id, record.client_id),
                "dataset": record.dataset,
                "source_id": record.source_id,
            }
        )
    # The justification often names the person it is about, and detection
    # misses a name it has never seen: what the vault holds about the subject
    # is redacted wherever it occurs. Outside any transaction: detection may
    # load its models on first use.
    kept = ctx.pii.redact_batch([reason], known=[sorted(held)])[0].text
    with transaction(ctx.sessions) as session:
        append_events(
            session,
            [
                AuditEvent(
                    actor=actor,
                    action="subject.reidentified",
                    subject_id=subject_id,
                    policy_version=ctx.policies.version,
                    details={"justification": kept, "records": len(records)},
                )
            ],
            ctx.clock(),
            ctx.checkpoint_signer,
        )
    return {
        "subject_id": subject_id,
        "found": bool(identifiers),
        "identifiers": {name: sorted(values) for name, values in identifiers.items()},
        "records": shown,
    }
