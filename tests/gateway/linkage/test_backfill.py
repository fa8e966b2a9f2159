"""`gateway linkage backfill`: old records get their encodings from the vault."""

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from gateway.context import GatewayContext
from gateway.crypto.keyring import KeyPurpose
from gateway.linkage.backfill import backfill
from gateway.linkage.sealed import Sealer
from gateway.main import create_app
from gateway.storage.db import transaction
from gateway.storage.models import AuditEventRow, RecordRow, SubjectKeyRow
from tests.databases import BOTH
from tests.factories import customer, grant, make_client, send_records


def _linkage(ctx: GatewayContext) -> dict[str, bytes | None]:
    """Each record's encodings, opened (sealed bytes differ at every sealing)."""
    key = ctx.keyring.active(KeyPurpose.LINKAGE)
    sealer = Sealer(key.kid, key.material)
    with transaction(ctx.read_sessions) as session:
        rows = session.execute(select(RecordRow.id, RecordRow.link_fields)).all()
    return {rid: None if blob is None else sealer.open(rid, blob) for rid, blob in rows}


@BOTH
def test_backfill_restores_the_encodings_except_for_erased_subjects(
    fresh_ctx: GatewayContext,
) -> None:
    ctx = fresh_ctx
    partner = make_client(ctx)
    people = [customer() for _ in range(5)]
    with TestClient(create_app(ctx)) as http:
        for person in people:
            grant(http, partner, person)
        body = send_records(http, partner, people).json()
    assert body["accepted"] == 5
    original = _linkage(ctx)
    erased = body["results"][4]
    with transaction(ctx.sessions) as session:
        # As if stored before encodings existed; one subject erased since.
        session.execute(update(RecordRow).values(link_fields=None, linkage_kid=None))
        session.execute(
            update(SubjectKeyRow)
            .where(SubjectKeyRow.subject_id == erased["subject_id"])
            .values(wrapped_key=None, destroyed_at=datetime.now(UTC))
        )

    reports = backfill(ctx)

    assert [(r.dataset, r.encoded, r.without_key) for r in reports] == [
        ("customers", 4, 1)
    ]
    restored = _linkage(ctx)
    for record_id, encoding in original.items():
        if record_id == erased["record_id"]:
            assert restored[record_id] is None
        else:
            assert restored[record_id] == encoding
    assert backfill(ctx)[0].encoded == 0  # nothing left to do
    with transaction(ctx.read_sessions) as session:
        actions = session.scalars(
            select(AuditEventRow.details).where(
                AuditEventRow.action == "linkage.backfilled"
            )
        ).all()
    assert len(actions) == 2
    assert '"encoded":4' in actions[0]
