"""Records are stored with sealed per-field linkage encodings; events have none."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.context import GatewayContext
from gateway.crypto.keyring import KeyPurpose
from gateway.errors import DecryptionError
from gateway.linkage.fields import dice
from gateway.linkage.sealed import SEALED_WIDTH, Sealer, unpack_frame
from gateway.storage.db import transaction
from gateway.storage.models import RecordRow
from tests.factories import customer, grant, make_client, send_records


def _row(ctx: GatewayContext, record_id: str) -> RecordRow:
    with transaction(ctx.read_sessions) as session:
        return session.scalars(select(RecordRow).where(RecordRow.id == record_id)).one()


def _sealer(ctx: GatewayContext) -> Sealer:
    key = ctx.keyring.active(KeyPurpose.LINKAGE)
    return Sealer(key.kid, key.material)


def test_customers_get_sealed_encodings_and_a_typo_stays_close(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    first = customer()
    twin = customer(
        last_name=first["last_name"][:-2] + first["last_name"][-1],  # a dropped letter
        first_name=first["first_name"],
        street=first["street"],
        city=first["city"],
        birth_date=first["birth_date"],
        postal_code=first["postal_code"],
    )
    stranger = customer(birth_date="1961-02-03", postal_code="13005")
    for record in (first, twin, stranger):
        grant(client, partner, record)
    body = send_records(client, partner, [first, twin, stranger]).json()
    assert body["accepted"] == 3, body
    rows = [_row(ctx, r["record_id"]) for r in body["results"]]
    sealer = _sealer(ctx)
    for row in rows:
        assert row.link_fields is not None
        assert len(row.link_fields) == SEALED_WIDTH
        assert row.linkage_kid == ctx.linkage.kid
    opened = unpack_frame(
        [r.id for r in rows], [sealer.open(r.id, r.link_fields or b"") for r in rows]
    )
    a, b, c = opened.iter_rows(named=True)
    assert dice(a["last_name_bf"], b["last_name_bf"]) > 0.7
    assert a["first_name_h"] == b["first_name_h"]
    assert a["birth_date_h"] == b["birth_date_h"] != c["birth_date_h"]
    assert a["postal_code_h"] != c["postal_code_h"]
    # Equal encodings are stored as unrelated bytes: nothing to count.
    assert rows[0].link_fields != rows[1].link_fields
    # No clear value is in the stored bytes, and a blob moved to another
    # record does not open.
    stored = b"".join(r.link_fields or b"" for r in rows)
    for value in (first["last_name"], first["first_name"], first["city"]):
        assert value.encode() not in stored
    with pytest.raises(DecryptionError):
        sealer.open(rows[1].id, rows[0].link_fields or b"")


def test_events_carry_no_linkage_encoding(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    person = customer()
    grant(client, partner, person)
    event = {
        "source_id": f"ev-{person['source_id']}",
        "customer_id": person["customer_id"],
        "event_type": "view",
        "occurred_at": "2026-01-02T10:00:00Z",
    }
    body = send_records(client, partner, [event], dataset="events").json()
    assert body["accepted"] == 1, body
    row = _row(ctx, body["results"][0]["record_id"])
    assert row.link_fields is None
    assert row.linkage_kid is None
