"""The audit log: append-only guards, tamper detection, gapless under concurrency."""

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gateway.audit import AuditEvent, append_events, verify
from gateway.audit.event import canonical_json, leaf_hash
from gateway.context import GatewayContext
from gateway.storage.db import transaction
from gateway.storage.models import AuditEventRow
from tests.databases import BOTH


def _append(ctx: GatewayContext, count: int, actor: str = "test") -> None:
    events = [
        AuditEvent(
            actor,
            "record.accepted",
            subject_id=f"k.{i:064x}",
            purpose="segmentation",
            details={"index": i},
        )
        for i in range(count)
    ]
    with transaction(ctx.sessions) as session:
        append_events(session, events, ctx.clock())


def test_canonical_bytes_are_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )


@BOTH
def test_fresh_log_verifies(fresh_ctx: GatewayContext) -> None:
    _append(fresh_ctx, 5)
    with transaction(fresh_ctx.read_sessions) as session:
        report = verify(session)
    assert report.ok
    assert report.size == 5


@BOTH
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 0",
        "DELETE FROM audit_events WHERE seq = 0",
    ],
)
def test_database_refuses_update_and_delete(
    fresh_ctx: GatewayContext, statement: str
) -> None:
    _append(fresh_ctx, 2)
    with (
        pytest.raises(DBAPIError, match="append-only"),
        transaction(fresh_ctx.sessions) as s,
    ):
        s.execute(text(statement))


@pytest.mark.postgres
@pytest.mark.parametrize("fresh_database", ["postgres"], indirect=True)
def test_postgres_refuses_truncate(fresh_ctx: GatewayContext) -> None:
    _append(fresh_ctx, 1)
    with (
        pytest.raises(DBAPIError, match="append-only"),
        transaction(fresh_ctx.sessions) as s,
    ):
        s.execute(text("TRUNCATE audit_events"))


def _tamper(ctx: GatewayContext, assignment: str, params: dict[str, object]) -> None:
    """Change a row behind the gateway's back, as someone with database access could."""
    with transaction(ctx.sessions) as session:
        if session.bind.dialect.name == "postgresql":
            session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            session.execute(text("DROP TRIGGER audit_events_no_update"))
        statement = f"UPDATE audit_events SET {assignment} WHERE seq = 2"  # noqa: S608
        session.execute(text(statement), params)


TAMPERS = [
    ("actor = :v", {"v": "mallory"}),
    ("action = :v", {"v": "record.rejected"}),
    ("subject_id = :v", {"v": "k." + "0" * 64}),
    ("purpose = :v", {"v": "analytics"}),
    ("dataset = :v", {"v": "events"}),
    ("record_id = :v", {"v": "00000000-0000-0000-0000-000000000000"}),
    ("reason = :v", {"v": "invalid"}),
    ("policy_version = :v", {"v": "sha256:forged"}),
    ("details = :v", {"v": '{"index": 99}'}),
    ("occurred_at = :v", {"v": "2020-01-01T00:00:00.000000Z"}),
    ("event_id = :v", {"v": "11111111-1111-1111-1111-111111111111"}),
    ("canonical = :v", {"v": b"{}"}),
    ("leaf_hash = :v", {"v": bytes(32)}),
    ("chain_hash = :v", {"v": bytes(32)}),
    ("seq = :v", {"v": 1000}),
    # The number searches by subject go by: moved to another subject's, or
    # removed, the event would be hidden from its own subject's access.
    ("subject_no = (SELECT e.subject_no FROM audit_events e WHERE e.seq = 0)", {}),
    ("subject_no = NULL", {}),
]


@BOTH
@pytest.mark.parametrize("apart", [False, True], ids=["one-connection", "two"])
@pytest.mark.parametrize(("assignment", "params"), TAMPERS)
def test_any_altered_column_is_caught(
    fresh_ctx: GatewayContext,
    assignment: str,
    params: dict[str, object],
    apart: bool,
) -> None:
    _append(fresh_ctx, 5)
    _tamper(fresh_ctx, assignment, params)
    columns_sessions = fresh_ctx.read_sessions if apart else None
    with transaction(fresh_ctx.read_sessions) as session:
        report = verify(session, columns_sessions)
    assert not report.ok
    assert report.first_bad_seq == 2


@BOTH
def test_a_moved_subject_number_is_named_as_such(fresh_ctx: GatewayContext) -> None:
    _append(fresh_ctx, 5)
    _tamper(fresh_ctx, "subject_no = subject_no + 1", {})
    with transaction(fresh_ctx.read_sessions) as session:
        report = verify(session, fresh_ctx.read_sessions)
    assert not report.ok
    assert report.first_bad_seq == 2
    assert report.problem == "subject number does not match the subject registry"


@BOTH
def test_consistent_rewrite_of_one_row_breaks_the_chain(
    fresh_ctx: GatewayContext,
) -> None:
    """Rewriting a row's columns, bytes and leaf hash together breaks the chain."""
    _append(fresh_ctx, 5)
    with transaction(fresh_ctx.read_sessions) as session:
        row = session.scalars(select(AuditEventRow).where(AuditEventRow.seq == 2)).one()
        forged = row.canonical.replace(b'"actor":"test"', b'"actor":"evil"')
    _tamper(
        fresh_ctx,
        "actor = 'evil', canonical = :c, leaf_hash = :l",
        {"c": forged, "l": leaf_hash(forged)},
    )
    with transaction(fresh_ctx.read_sessions) as session:
        report = verify(session)
    assert not report.ok
    assert report.first_bad_seq == 2


@BOTH
def test_concurrent_writers_leave_a_gapless_valid_log(
    fresh_ctx: GatewayContext,
) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for _ in range(10):
                _append(fresh_ctx, 3, actor=f"writer-{n}")
        except Exception as exc:  # noqa: BLE001 -- collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with transaction(fresh_ctx.read_sessions) as session:
        seqs = session.scalars(
            select(AuditEventRow.seq).order_by(AuditEventRow.seq)
        ).all()
        report = verify(session)
    assert list(seqs) == list(range(8 * 10 * 3))
    assert report.ok
    assert report.size == 240


@BOTH
def test_verify_while_events_are_appended_sees_an_intact_log(
    fresh_ctx: GatewayContext,
) -> None:
    # Under READ COMMITTED the head and the events were read in different
    # snapshots: events committed in between made an intact log fail.
    _append(fresh_ctx, 3000)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not done.is_set():
                _append(fresh_ctx, 20, actor="writer")
        except Exception as exc:  # noqa: BLE001 -- collected and re-raised below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        reports = []
        for _ in range(5):
            with transaction(fresh_ctx.read_sessions) as session:
                reports.append(verify(session, fresh_ctx.read_sessions))
    finally:
        done.set()
        thread.join()
    assert not errors
    assert [r.problem for r in reports if not r.ok] == []
    assert [r.size for r in reports] == sorted(r.size for r in reports)


@BOTH
def test_rare_characters_are_not_mistaken_for_tampering(
    fresh_ctx: GatewayContext,
) -> None:
    """The database rebuilds canonical bytes with its own escaping: only a
    candidate; the exact rebuild in Python has the last word."""
    odd = 'tab\t nl\n quote" bs\\ ctl\x01 del\x7f é 😀 \u2028'
    events = [AuditEvent("test", "record.accepted", reason=odd, details={"k": odd})]
    with transaction(fresh_ctx.sessions) as session:
        append_events(session, events, fresh_ctx.clock())
    for columns_sessions in (None, fresh_ctx.read_sessions):
        with transaction(fresh_ctx.read_sessions) as session:
            assert verify(session, columns_sessions).ok
