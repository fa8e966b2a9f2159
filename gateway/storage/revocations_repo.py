"""SQL for the Art. 19 feed: what destinations were sent, and what they must delete."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gateway.storage.lookup import key_batches, member_of
from gateway.storage.models import (
    ExportLedgerRow,
    PipelineRunRow,
    RevocationRow,
    RunEntityKeyRow,
)

ERASED = "erased"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Revoked:
    """One entry of a destination's feed: an entity it was sent, now revoked."""

    id: int
    entity_id: str
    reason: str
    at: datetime


def note_pulled(
    session: Session,
    destination_id: str,
    audience: str,
    entities: Sequence[str],
    now: datetime,
) -> None:
    """Remember that this destination received these entities (first time kept)."""
    if not entities:
        return
    rows = [
        {
            "destination_id": destination_id,
            "audience": audience,
            "entity_id": entity,
            "first_pulled_at": now,
        }
        for entity in dict.fromkeys(entities)
    ]
    dialect = session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = maker(ExportLedgerRow).on_conflict_do_nothing()
    session.execute(stmt, rows)


def revoke(
    session: Session,
    entities: Iterable[str],
    purpose: str | None,
    reason: str,
    at: datetime,
) -> int:
    """Record these entities as revoked (for one purpose, or all when None)."""
    rows = [
        {"entity_id": entity, "purpose": purpose, "reason": reason, "at": at}
        for entity in sorted(set(entities))
    ]
    if rows:
        session.execute(insert(RevocationRow), rows)
    return len(rows)


def revoke_withdrawn(
    session: Session, purpose: str, keys: Iterable[str], at: datetime
) -> int:
    """Revoke, for one purpose, the entities of any run built from these identifiers.

    Only identifiers that ever went into a run can have been sent anywhere:
    a withdrawal by anyone else costs one indexed lookup and no row.
    """
    runs = list(session.scalars(select(PipelineRunRow.id)))
    if not runs:
        return 0
    entities: set[str] = set()
    # Both lists in one statement: (run_id, identifier_key) leads the table's
    # primary key, so each pair is an index probe, not a scan (nor a query
    # per stored run on the consent path).
    for chunk in key_batches(session, keys):
        stmt = select(RunEntityKeyRow.entity_id).where(
            RunEntityKeyRow.run_id.in_(runs),
            member_of(session, RunEntityKeyRow.identifier_key, chunk),
        )
        entities.update(session.scalars(stmt))
    return revoke(session, entities, purpose, WITHDRAWN, at)


def feed(
    session: Session,
    destination_id: str,
    audience: str,
    purpose: str,
    after: int,
    limit: int,
) -> list[Revoked]:
    """Up to `limit` revocations after `after` of entities this destination was sent.

    Only revocations later than the destination's first pull of the entity
    count: what it received after a revocation was allowed again when sent.
    """
    stmt = (
        select(
            RevocationRow.id,
            RevocationRow.entity_id,
            RevocationRow.reason,
            RevocationRow.at,
        )
        .join(
            ExportLedgerRow,
            and_(
                ExportLedgerRow.entity_id == RevocationRow.entity_id,
                ExportLedgerRow.destination_id == destination_id,
                ExportLedgerRow.audience == audience,
                ExportLedgerRow.first_pulled_at <= RevocationRow.at,
            ),
        )
        .where(
            RevocationRow.id > after,
            or_(RevocationRow.purpose.is_(None), RevocationRow.purpose == purpose),
        )
        .order_by(RevocationRow.id)
        .limit(limit)
    )
    return [Revoked(*row) for row in session.execute(stmt)]


def revoked_entities(session: Session, purpose: str) -> set[str]:
    """Entities ever revoked for this purpose (withdrawn) or for all (erased)."""
    stmt = select(RevocationRow.entity_id).where(
        or_(RevocationRow.purpose.is_(None), RevocationRow.purpose == purpose)
    )
    return set(session.scalars(stmt.distinct()))
