"""The subject registry: numbers given on first sight, and what is indexed by them."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.audit import verify
from gateway.context import GatewayContext
from gateway.errors import ConcurrentChangeError
from gateway.main import create_app
from gateway.storage import migrate, records_repo, subject_numbers
from gateway.storage.db import make_engine, transaction
from gateway.storage.models import AuditEventRow, RecordRow, SubjectKeyRow
from tests.databases import BOTH, Database
from tests.factories import customer, grant, make_client, send_records


def _registry(ctx: GatewayContext) -> dict[str, SubjectKeyRow]:
    with transaction(ctx.read_sessions) as session:
        return {row.subject_id: row for row in session.scalars(select(SubjectKeyRow))}


@BOTH
def test_register_numbers_new_subjects_once_and_in_order(
    fresh_ctx: GatewayContext,
) -> None:
    now = fresh_ctx.clock()
    with transaction(fresh_ctx.sessions) as session:
        first = subject_numbers.register(session, ["k.b", "k.a", "k.b"], now)
    with transaction(fresh_ctx.sessions) as session:
        again = subject_numbers.register(session, ["k.c", "k.a"], now)
    assert set(first) == {"k.a", "k.b"}
    assert first["k.a"] < first["k.b"] < again["k.c"]
    assert again["k.a"] == first["k.a"]
    registry = _registry(fresh_ctx)
    assert {s: r.number for s, r in registry.items()} == first | again
    # Registered without personal data: no data key, none destroyed.
    assert all(
        r.master_kid is None and r.wrapped_key is None and r.destroyed_at is None
        for r in registry.values()
    )


@BOTH
def test_a_rollback_forgets_the_numbers_it_gave(fresh_ctx: GatewayContext) -> None:
    now = fresh_ctx.clock()
    with fresh_ctx.sessions() as session:
        session.begin()
        gone = subject_numbers.register(session, ["k.rolled-back"], now)
        session.rollback()
        session.begin()
        kept = subject_numbers.register(session, ["k.kept", "k.rolled-back"], now)
        session.commit()
    registry = _registry(fresh_ctx)
    assert {s: r.number for s, r in registry.items()} == kept
    assert set(gone) == {"k.rolled-back"}


def _ingest_some(ctx: GatewayContext) -> tuple[list[str], str]:
    """Accept two records and reject one (no consent): their subject ids."""
    partner = make_client(ctx)
    accepted = [customer(), customer()]
    refused = customer()
    with TestClient(create_app(ctx)) as http:
        for record in accepted:
            grant(http, partner, record)
        response = send_records(http, partner, [*accepted, refused])
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted", "rejected"]
    return [r["subject_id"] for r in results[:2]], results[2]["subject_id"]


@BOTH
def test_records_and_events_carry_their_subjects_numbers(
    fresh_ctx: GatewayContext,
) -> None:
    accepted, rejected = _ingest_some(fresh_ctx)
    registry = _registry(fresh_ctx)
    with transaction(fresh_ctx.read_sessions) as session:
        records = session.execute(select(RecordRow.subject_id, RecordRow.subject_no))
        events = session.execute(
            select(AuditEventRow.subject_id, AuditEventRow.subject_no).where(
                AuditEventRow.subject_id.is_not(None)
            )
        ).all()
        assert dict(records.tuples().all()) == {s: registry[s].number for s in accepted}
    assert {s for s, _ in events} >= {*accepted, rejected}
    assert all(n == registry[s].number for s, n in events)
    # The rejected record's subject is numbered (its refusal is findable by
    # subject) but was never given a data key.
    assert registry[rejected].master_kid is None
    assert all(registry[s].wrapped_key is not None for s in accepted)


@BOTH
def test_migration_numbers_what_is_already_stored(
    fresh_database: Database, fresh_ctx: GatewayContext, tmp_path: Path
) -> None:
    """Down to the pseudonym indexes and up again: every subject numbered anew."""
    accepted, rejected = _ingest_some(fresh_ctx)
    engine = make_engine(fresh_database.url)
    try:
        migrate.downgrade(engine, "0011")
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    registry = _registry(fresh_ctx)
    assert {*accepted, rejected} <= set(registry)
    assert all(registry[s].wrapped_key is not None for s in accepted)
    with transaction(fresh_ctx.read_sessions) as session:
        numbered = session.execute(
            select(RecordRow.subject_id, RecordRow.subject_no)
        ).all()
        assert sorted(numbered) == sorted((s, registry[s].number) for s in accepted)
        assert verify(session, fresh_ctx.read_sessions).ok


@BOTH
def test_a_key_is_given_only_to_a_subject_still_without_one(
    fresh_ctx: GatewayContext,
) -> None:
    """Of two requests keying one registered subject, the second must not win."""
    now = fresh_ctx.clock()
    with transaction(fresh_ctx.sessions) as session:
        numbers = subject_numbers.register(session, ["k.one", "k.two"], now)
    first = [
        {
            "number": numbers[s],
            "master_kid": "m1",
            "wrapped_key": b"first-" + s.encode(),
        }
        for s in ("k.one", "k.two")
    ]
    with transaction(fresh_ctx.sessions) as session:
        records_repo.renew_subject_keys(session, first)
    late = {"number": numbers["k.two"], "master_kid": "m2", "wrapped_key": b"late"}
    with pytest.raises(ConcurrentChangeError), transaction(fresh_ctx.sessions) as s:
        records_repo.renew_subject_keys(s, [late])
    registry = _registry(fresh_ctx)
    assert {s: r.wrapped_key for s, r in registry.items()} == {
        "k.one": b"first-k.one",
        "k.two": b"first-k.two",
    }
