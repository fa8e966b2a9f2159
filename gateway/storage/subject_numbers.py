"""The subject registry: each subject id's number, given when first seen.

Records and audit events are indexed by these numbers rather than by the
subject's pseudonym (migration 0012): a keyed hash puts every insert on a
random page of its index, a number that grows puts a new subject's entries
at the index's right edge. The registry is `subject_keys`, whose one index
by pseudonym is the only random insert left per new subject.

A session remembers the numbers it has read or given, so that the records
and the audit events of one request look each subject up once; a rollback
forgets them, since the numbers it gave are gone with it.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.storage.lookup import key_batches, member_of, sqlite_rows
from gateway.storage.models import SubjectKeyRow

_KEYS = SubjectKeyRow.__table__
_REMEMBERED = "subject_numbers"
_SQLITE_NUMBERS = (
    "SELECT subject_id, number FROM subject_keys WHERE subject_id IN ({marks})"
)


# PostgreSQL: sent unprepared, so each lookup is planned with its own keys.
# A prepared statement falls back to a generic plan after five executions,
# and one planned while the registry was nearly empty (a fresh database
# taking its first consents) scans the whole table for every key once the
# registry has grown: a second per lookup at 40,000 subjects.
_POSTGRES_NUMBERS = (
    "SELECT subject_id, number FROM subject_keys WHERE subject_id = ANY(%s)"
)


def _remembered(session: Session) -> dict[str, int]:
    found: dict[str, int] = session.info.setdefault(_REMEMBERED, {})
    return found


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_REMEMBERED, None)


def remember(session: Session, numbers: dict[str, int]) -> None:
    """Note numbers read with other columns (a subject's key row)."""
    _remembered(session).update(numbers)


def lookup(session: Session, subject_ids: Iterable[str]) -> dict[str, int]:
    """The numbers of those of these subjects that are registered."""
    remembered = _remembered(session)
    found: dict[str, int] = {}
    wanted: list[str] = []
    for subject_id in subject_ids:
        if subject_id in remembered:
            found[subject_id] = remembered[subject_id]
        else:
            wanted.append(subject_id)
    sqlite_db = session.get_bind().dialect.name == "sqlite"
    for chunk in key_batches(session, wanted):
        if sqlite_db:
            rows: Iterable[Sequence[Any]] = sqlite_rows(
                session, _SQLITE_NUMBERS, (), chunk
            )
        else:
            driver = session.connection().connection.driver_connection
            rows = driver.execute(  # type: ignore[union-attr]
                _POSTGRES_NUMBERS, (chunk,), prepare=False
            ).fetchall()
        found.update((subject_id, number) for subject_id, number in rows)
    remembered.update(found)
    return found


def register(
    session: Session, subject_ids: Iterable[str], now: datetime
) -> dict[str, int]:
    """Every one of these subjects' numbers, numbering those first seen now.

    A subject first seen here gets a registry row without a data key. Rows
    go in in pseudonym order and a row another transaction is adding is
    waited for, then taken as it is: two requests registering the same
    subjects take their locks in the same order and never both insert.
    Call it before `gateway.audit.append_events` takes the log's head lock.
    """
    wanted = sorted(set(subject_ids))
    found = lookup(session, wanted)
    missing = [s for s in wanted if s not in found]
    if missing:
        rows = [{"subject_id": s, "created_at": now} for s in missing]
        dialect = (
            postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        )
        statement = dialect.insert(_KEYS).on_conflict_do_nothing(
            index_elements=[_KEYS.c.subject_id]
        )
        session.execute(statement, rows)
        found.update(lookup(session, missing))
    return found


def of_subjects(
    session: Session, column: Any, subject_ids: list[str]
) -> ColumnElement[bool]:
    """`column` (a subject number column) is the number of one of these subjects."""
    numbers = select(_KEYS.c.number).where(
        member_of(session, _KEYS.c.subject_id, subject_ids)
    )
    result: ColumnElement[bool] = column.in_(numbers)
    return result
