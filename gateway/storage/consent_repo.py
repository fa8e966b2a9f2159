"""SQL for the consent ledger (append-only)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gateway.storage.lookup import key_batches, member_of
from gateway.storage.models import ConsentEventRow


@dataclass(frozen=True, slots=True)
class ConsentFact:
    """One stored consent event, as the decision rules need it."""

    identifier_key: str
    granted: bool
    explicit: bool
    event_time: datetime


def add_many(session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Append consent events."""
    if rows:
        session.execute(insert(ConsentEventRow.__table__), list(rows))


def facts_for(
    session: Session, identifier_keys: Iterable[str], purpose: str
) -> dict[str, list[ConsentFact]]:
    """Every event for these identifiers and this purpose, grouped by identifier."""
    found: dict[str, list[ConsentFact]] = {}
    for chunk in key_batches(session, identifier_keys):
        stmt = select(
            ConsentEventRow.identifier_key,
            ConsentEventRow.granted,
            ConsentEventRow.explicit,
            ConsentEventRow.event_time,
        ).where(
            member_of(session, ConsentEventRow.identifier_key, chunk),
            ConsentEventRow.purpose == purpose,
        )
        for key, granted, explicit, event_time in session.execute(stmt):
            found.setdefault(key, []).append(
                ConsentFact(key, granted, explicit, event_time)
            )
    return found
