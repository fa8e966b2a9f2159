"""Batch lookups of records_repo: on SQLite the driver runs them (one `?` per
key, in chunks); what they return must be what the ORM reads, on both
databases, past a chunk's size."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gateway.context import GatewayContext
from gateway.storage import records_repo
from gateway.storage.bulk import insert_rows
from gateway.storage.lookup import SQLITE_CHUNK
from gateway.storage.models import ClientRow, RecordRow, SubjectKeyRow

AT = datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=UTC)
# More keys than one SQLite chunk holds, so the lookup takes several.
MANY = 2 * SQLITE_CHUNK + 201


def _client(client_id: str) -> dict[str, object]:
    return {
        "id": client_id,
        "name": client_id,
        "role": "partner",
        "key_id": f"key-{client_id}",
        "key_hash": bytes(32),
        "datasets": ["customers", "events"],
        "purposes": ["segmentation"],
        "audiences": [],
        "default_region": "FR",
        "created_at": AT,
        "revoked_at": None,
    }


def _record(n: int, client_id: str, dataset: str) -> dict[str, object]:
    return {
        "id": f"lookup-{client_id}-{dataset}-{n:05d}",
        "client_id": client_id,
        "dataset": dataset,
        "source_id": f"src-{n:05d}",
        "subject_id": f"k.subject-{n:05d}",
        "subject_no": n,
        "purpose": "segmentation",
        "content_hash": f"k.content-{client_id}-{dataset}-{n:05d}",
        "identifiers": {},
        "data": {},
        "policy_version": "v",
        "version": 1 + n % 3,
        "created_at": AT,
        "updated_at": AT,
        "link_fields": None,
        "linkage_kid": None,
    }


def test_subject_keys_read_as_the_orm_reads_them(ctx: GatewayContext) -> None:
    """Kids, wrapped keys and erasure times, live and destroyed, past a chunk."""
    rows = [
        {
            "subject_id": f"k.lookup-{n:05d}",
            "master_kid": f"m{n % 3}",
            # Every third key destroyed by an erasure, at its own time.
            "wrapped_key": None if n % 3 == 0 else bytes([n % 256]) * 60,
            "created_at": AT,
            "destroyed_at": AT + timedelta(seconds=n) if n % 3 == 0 else None,
        }
        for n in range(MANY)
    ]
    wanted = [str(row["subject_id"]) for row in rows] + ["k.never-stored"]
    with ctx.sessions() as session, session.begin():
        insert_rows(session, SubjectKeyRow.__table__, rows)
        found = records_repo.subject_keys(session, wanted)
        table = SubjectKeyRow.__table__
        orm = {
            row.subject_id: row
            for row in session.execute(
                select(table).where(table.c.subject_id.like("k.lookup-%"))
            )
        }
        session.rollback()
    assert set(found) == set(orm) == set(wanted[:-1])
    for subject_id, key in found.items():
        row = orm[subject_id]
        assert key.subject_id == subject_id
        assert key.number == row.number
        assert key.master_kid == row.master_kid
        assert key.wrapped_key == (
            None if row.wrapped_key is None else bytes(row.wrapped_key)
        )
        assert key.destroyed_at == row.destroyed_at
        assert type(key.destroyed_at) is type(row.destroyed_at)


def test_existing_by_source_reads_one_client_and_dataset(ctx: GatewayContext) -> None:
    """Only the asking client's records of that dataset, whatever else is stored."""
    clients = ["lookup-a", "lookup-b"]
    # The asked client and dataset hold every other source id; the others
    # hold them all, so a lookup that strays finds source ids it should not.
    records = [
        _record(n, client_id, dataset)
        for client_id in clients
        for dataset in ("customers", "events")
        for n in range(MANY)
        if n % 2 == 0 or (client_id, dataset) != ("lookup-b", "events")
    ]
    asked = [f"src-{n:05d}" for n in range(MANY + 50)]
    with ctx.sessions() as session, session.begin():
        insert_rows(session, ClientRow.__table__, [_client(c) for c in clients])
        insert_rows(session, RecordRow.__table__, records)
        found = records_repo.existing_by_source(session, "lookup-b", "events", asked)
        session.rollback()
    assert found == {
        str(row["source_id"]): (
            str(row["id"]),
            str(row["content_hash"]),
            int(str(row["version"])),
        )
        for row in records
        if row["client_id"] == "lookup-b" and row["dataset"] == "events"
    }
