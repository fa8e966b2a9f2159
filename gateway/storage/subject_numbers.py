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

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, event, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from gateway.storage.bulk import bind_processor
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
            with driver.execute(  # type: ignore[union-attr]
                _POSTGRES_NUMBERS, (chunk,), prepare=False
            ) as cursor:
                rows = cursor.fetchall()
        found.update((subject_id, number) for subject_id, number in rows)
    remembered.update(found)
    return found


def register(
    session: Session, subject_ids: Iterable[str], now: datetime
) -> dict[str, int]:
    """Every one of these subjects' numbers, numbering those first seen now.

    A subject first seen here gets a registry row without a data key.
    Call it before `gateway.audit.append_events` takes the log's head lock.
    """
    wanted = sorted(set(subject_ids))
    remembered = _remembered(session)
    unknown = [s for s in wanted if s not in remembered]
    if unknown:
        if session.get_bind().dialect.name == "postgresql":
            _add_postgres(session, unknown, now)
        else:
            _add_sqlite(session, unknown, now)
    return {s: remembered[s] for s in wanted}


_SQLITE_TOP = "SELECT coalesce(max(number), 0) FROM subject_keys"
_SQLITE_ADD = (
    "INSERT INTO subject_keys (number, subject_id, created_at) VALUES (?, ?, ?)"
    " ON CONFLICT (subject_id) DO NOTHING"
)
_POSTGRES_ADD = (
    postgresql.insert(_KEYS)
    .on_conflict_do_nothing(index_elements=[_KEYS.c.subject_id])
    .returning(_KEYS.c.subject_id, _KEYS.c.number)
)


def _add_sqlite(session: Session, unknown: list[str], now: datetime) -> None:
    """Register these subjects unless they are; every one's number remembered.

    When every row went in (new subjects, the usual case) no number needs
    reading back; a subject registered already keeps its row, and then all
    are read.
    """
    connection = session.connection()
    numbers = _next_numbers(connection, unknown)
    stamp = _created_at(connection)(now)
    added = connection.exec_driver_sql(
        _SQLITE_ADD, [(n, s, stamp) for s, n in numbers.items()]
    ).rowcount
    if added == len(unknown):
        remember(session, numbers)
    else:
        lookup(session, unknown)


def _next_numbers(connection: Connection, subject_ids: list[str]) -> dict[str, int]:
    """SQLite: the numbers after the largest, in the given order.

    The transaction holds the database's write lock from its start (BEGIN
    IMMEDIATE): no one else numbers a subject meanwhile, and rows are never
    deleted, so none of these numbers is taken or was ever given.
    """
    top = int(connection.exec_driver_sql(_SQLITE_TOP).scalar_one())
    return {s: top + n for n, s in enumerate(subject_ids, start=1)}


def _created_at(connection: Connection) -> Callable[[datetime], Any]:
    """A time as SQLite stores `created_at` (SQLAlchemy's format for it)."""
    processor = bind_processor(_KEYS.c.created_at.type, connection.dialect)
    return processor or (lambda moment: moment)


def _add_postgres(session: Session, unknown: list[str], now: datetime) -> None:
    """Register these subjects unless they are; every one's number remembered.

    Rows go in in pseudonym order, and a row another transaction is adding
    is waited for, then taken as it is: two requests registering the same
    subjects take their locks in the same order and never both insert. The
    rows added here come back with their numbers; the others are read.
    """
    rows = [{"subject_id": s, "created_at": now} for s in unknown]
    added = {str(s): int(n) for s, n in session.execute(_POSTGRES_ADD, rows).all()}
    remember(session, added)
    if len(added) < len(unknown):
        lookup(session, [s for s in unknown if s not in added])


def add_keyed(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Register new subjects with their data keys; their numbers remembered.

    `rows` hold `subject_id`, `master_kid`, `wrapped_key` and `created_at`,
    for subjects the caller found unregistered in this transaction. One
    registered by a concurrent request meanwhile (PostgreSQL) makes the
    insert fail with an IntegrityError, and the caller's unit of work is
    retried whole (`gateway.ingest.service`): its key must not be replaced.
    """
    if not rows:
        return
    ordered = sorted(rows, key=lambda row: row["subject_id"])
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        added = session.execute(_POSTGRES_ADD_KEYED, ordered).all()
        remember(session, {str(s): int(n) for s, n in added})
        return
    numbers = _next_numbers(connection, [row["subject_id"] for row in ordered])
    stamp = _created_at(connection)
    values = [
        (
            numbers[row["subject_id"]],
            row["subject_id"],
            row["master_kid"],
            row["wrapped_key"],
            stamp(row["created_at"]),
        )
        for row in ordered
    ]
    connection.exec_driver_sql(_SQLITE_ADD_KEYED, values)
    remember(session, numbers)


_SQLITE_ADD_KEYED = (
    "INSERT INTO subject_keys"
    " (number, subject_id, master_kid, wrapped_key, created_at)"
    " VALUES (?, ?, ?, ?, ?)"
)
_POSTGRES_ADD_KEYED = postgresql.insert(_KEYS).returning(
    _KEYS.c.subject_id, _KEYS.c.number
)


def of_subjects(
    session: Session, column: Any, subject_ids: list[str]
) -> ColumnElement[bool]:
    """`column` (a subject number column) is the number of one of these subjects."""
    numbers = select(_KEYS.c.number).where(
        member_of(session, _KEYS.c.subject_id, subject_ids)
    )
    result: ColumnElement[bool] = column.in_(numbers)
    return result
