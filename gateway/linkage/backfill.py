"""Give stored records the linkage encodings they lack, from the vault (audited).

Records stored before encodings existed, or under a linkage key since
rotated, are re-encoded from their vault entries: the clear fields are
decrypted under their subject's data key, encoded, and forgotten. A record
whose subject was erased has no key any more and stays without encodings,
so it can never be linked again. One audit event per dataset says how many
records were encoded and how many could not be.
"""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, append_events
from gateway.context import GatewayContext
from gateway.errors import DecryptionError, KeyringError
from gateway.linkage.encoder import linkage_fields, linkage_values
from gateway.storage import records_repo
from gateway.storage.db import transaction
from gateway.vault import open_entry, subject_ciphers

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class BackfillReport:
    """What a backfill did, per dataset; counts only."""

    dataset: str
    encoded: int
    without_key: int


def _backfill_chunk(
    session: Session, ctx: GatewayContext, dataset: str, roles: dict[str, str]
) -> tuple[int, int, bool]:
    """Encode one chunk; returns (encoded, without key, more to do)."""
    todo = records_repo.lacking_linkage(session, dataset, ctx.linkage.kid, CHUNK)
    if not todo:
        return 0, 0, False
    ciphers = subject_ciphers(session, ctx.keyring, {subject for _, subject, _ in todo})
    ready: list[tuple[str, dict[str, str | None]]] = []
    skipped: list[str] = []
    for record_id, subject_id, blob in todo:
        cipher = ciphers.get(subject_id)
        if cipher is None or blob is None:
            skipped.append(record_id)
            continue
        try:
            values = open_entry(cipher, record_id, subject_id, blob)
        except (DecryptionError, KeyringError):
            skipped.append(record_id)
            continue
        ready.append((record_id, linkage_values(roles, values)))
    packed = ctx.linkage.encode_many([fields for _, fields in ready])
    records_repo.set_linkage(
        session,
        [
            (rid, ctx.linkage.columns(rid, one))
            for (rid, _), one in zip(ready, packed, strict=True)
        ],
    )
    # Records that cannot be encoded are marked with the key id and no
    # encodings, so the next chunk moves on instead of finding them again.
    records_repo.set_linkage(
        session,
        [(rid, ctx.linkage.columns(rid, None)) for rid in skipped],
    )
    return len(ready), len(skipped), len(todo) == CHUNK


def backfill(ctx: GatewayContext, actor: str = "cli") -> list[BackfillReport]:
    """Encode every record of every dataset with linkage fields that lacks it."""
    reports: list[BackfillReport] = []
    for name, dataset in sorted(ctx.policies.datasets.items()):
        roles = linkage_fields(dataset)
        if not roles:
            continue
        encoded = without_key = 0
        more = True
        while more:
            with transaction(ctx.sessions) as session:
                done, skipped, more = _backfill_chunk(session, ctx, name, roles)
            encoded += done
            without_key += skipped
        with transaction(ctx.sessions) as session:
            append_events(
                session,
                [
                    AuditEvent(
                        actor=actor,
                        action="linkage.backfilled",
                        dataset=name,
                        policy_version=ctx.policies.version,
                        details={
                            "encoded": encoded,
                            "without_key": without_key,
                            "linkage_kid": ctx.linkage.kid,
                        },
                    )
                ],
                ctx.clock(),
                ctx.checkpoint_signer,
            )
        reports.append(BackfillReport(name, encoded, without_key))
    return reports
