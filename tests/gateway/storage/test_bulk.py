"""Bulk writes: values round-trip on both drivers (COPY on PostgreSQL), a taken
key fails as SQLAlchemy's IntegrityError, and the larger SQLite page cache holds
only while the write runs."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from gateway.context import GatewayContext
from gateway.storage.bulk import (
    _binary_types,
    bulk_cache,
    insert_rows,
    insert_tuples,
)
from gateway.storage.db import transaction
from gateway.storage.models import ClientRow, SubjectKeyRow


def test_bulk_cache_grows_the_sqlite_cache_only_inside(ctx: GatewayContext) -> None:
    with transaction(ctx.sessions) as session:
        sqlite = session.connection().dialect.name == "sqlite"
        before = session.execute(text("PRAGMA cache_size")).scalar() if sqlite else None
        with bulk_cache(session, mib=256):
            if sqlite:
                inside = session.execute(text("PRAGMA cache_size")).scalar()
                assert inside == -256 * 1024
            # The transaction goes on as usual inside.
            assert session.execute(text("SELECT 1")).scalar() == 1
        if sqlite:
            assert session.execute(text("PRAGMA cache_size")).scalar() == before


def test_bulk_cache_passes_a_failure_on_and_restores_the_cache(
    ctx: GatewayContext,
) -> None:
    with transaction(ctx.sessions) as session:
        sqlite = session.connection().dialect.name == "sqlite"
        before = session.execute(text("PRAGMA cache_size")).scalar() if sqlite else None
        with (
            pytest.raises(RuntimeError, match="the write failed"),
            bulk_cache(session, mib=128),
        ):
            raise RuntimeError("the write failed")
        if sqlite:
            assert session.execute(text("PRAGMA cache_size")).scalar() == before


# Values a COPY's text format must escape (tab, newline, backslash, NUL in
# bytes) and a JSON value that is a JSON null, not an SQL NULL.
AWKWARD_TEXT = "tab\there, new\nline, back\\slash, 'quote', é"
AWKWARD_BYTES = bytes(range(256)) + b"\\N\t\n"


def _client_row(n: int, at: datetime) -> dict[str, object]:
    return {
        "id": f"bulk-test-{n}",
        "name": f"{AWKWARD_TEXT} {n}",
        "role": "partner",
        "key_id": f"bulk-key-{n}",
        "key_hash": AWKWARD_BYTES,
        "datasets": ["customers", AWKWARD_TEXT],
        "purposes": {"nested": [1, 2.5, None, True], "text": AWKWARD_TEXT},
        "audiences": None,
        "default_region": "FR",
        "created_at": at,
        "revoked_at": None,
    }


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_insert_rows_round_trips_awkward_values(
    ctx: GatewayContext, binary: bool
) -> None:
    """Text, bytes, JSON, times and nulls come back as sent (COPY on PostgreSQL)."""
    at = datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=UTC)
    rows = [_client_row(n, at) for n in range(3)]
    with ctx.sessions() as session, session.begin():
        table = ClientRow.__table__
        connection = session.connection()
        if binary and connection.dialect.name == "postgresql":
            # Every column of the table can go in binary: the COPY is binary.
            assert _binary_types(connection, table, list(rows[0])) is not None
        insert_rows(session, table, rows, binary=binary)
        stored = session.execute(
            select(table).where(table.c.id.like("bulk-test-%")).order_by(table.c.id)
        ).all()
        session.rollback()
    assert [row.id for row in stored] == [row["id"] for row in rows]
    for row, sent in zip(stored, rows, strict=True):
        assert row.name == sent["name"]
        assert bytes(row.key_hash) == AWKWARD_BYTES
        assert row.datasets == sent["datasets"]
        assert row.purposes == sent["purposes"]
        # A JSON column given None stores JSON null (SQLAlchemy's default).
        assert row.audiences is None
        assert row.revoked_at is None
        created = row.created_at
        if created.tzinfo is None:  # SQLite keeps no offset: stored as UTC
            created = created.replace(tzinfo=UTC)
        assert created == at


def test_insert_tuples_raises_sqlalchemys_integrity_error_on_a_taken_key(
    ctx: GatewayContext,
) -> None:
    """A duplicate key fails as SQLAlchemy's IntegrityError, as retries expect."""
    columns = ("subject_id", "master_kid", "wrapped_key", "created_at")
    at = datetime(2026, 12, 4, tzinfo=UTC)
    row = ("bulk-test-duplicate", "m1", b"\x00wrapped", at)
    with ctx.sessions() as session, session.begin():
        with pytest.raises(IntegrityError):
            insert_tuples(session, SubjectKeyRow.__table__, columns, [row, row])
        session.rollback()
    with ctx.sessions() as session:
        table = SubjectKeyRow.__table__
        left = session.execute(
            select(table.c.subject_id).where(table.c.subject_id == row[0])
        ).all()
    assert left == []
