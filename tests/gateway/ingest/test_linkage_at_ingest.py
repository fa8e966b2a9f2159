"""Records are stored with keyed linkage encodings; events have none to make."""

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.context import GatewayContext
from gateway.linkage import dice
from gateway.storage.db import transaction
from gateway.storage.models import RecordRow
from tests.factories import customer, grant, make_client, send_records


def _row(ctx: GatewayContext, record_id: str) -> RecordRow:
    with transaction(ctx.read_sessions) as session:
        return session.scalars(select(RecordRow).where(RecordRow.id == record_id)).one()


def test_customers_get_a_clk_and_block_keys_and_a_typo_stays_close(
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
    for row in rows:
        assert row.clk is not None
        assert len(row.clk) == 128
        assert row.block_keys
        assert row.linkage_kid == ctx.linkage.kid
    assert dice(rows[0].clk, rows[1].clk) > 0.8
    assert dice(rows[0].clk, rows[2].clk) < 0.6
    assert set(rows[0].block_keys) & set(rows[1].block_keys)
    # No clear value is in the stored encodings.
    stored = (
        b"".join(r.clk or b"" for r in rows)
        + str([r.block_keys for r in rows]).encode()
    )
    for value in (first["last_name"], first["first_name"], first["city"]):
        assert value.encode() not in stored


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
    assert row.clk is None
    assert row.block_keys is None
    assert row.linkage_kid is None
