"""extract: consented, pseudonymous frames from a real database, both backends."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from gateway.context import GatewayContext
from gateway.linkage.fields import FieldEncoder
from gateway.linkage.sealed import Sealer, pack
from gateway.main import create_app
from gateway.storage.db import transaction
from gateway.storage.models import SubjectKeyRow
from pipelines.extract import (
    consented_subjects,
    extract,
    open_encodings,
    read_ahead,
)
from tests.databases import BOTH
from tests.factories import consent, customer, make_client, send_consents, send_records


def _event(customer_id: str, n: int, **over: object) -> dict[str, object]:
    return {
        "source_id": f"ev-{customer_id}-{n}",
        "customer_id": customer_id,
        "event_type": "purchase",
        "amount": 12.5,
        "currency": "EUR",
        "occurred_at": "2026-03-01T18:30:00+01:00",
        "channel": "app",
        "device": "mobile",
        "category": "shoes",
    } | over


@BOTH
def test_extract_keeps_consented_records_only_and_never_clear_values(
    fresh_ctx: GatewayContext,
) -> None:
    ctx = fresh_ctx
    partner = make_client(ctx)
    kept, withdrawn, analytics_only, erased = (customer() for _ in range(4))
    with TestClient(create_app(ctx)) as http:
        send_consents(
            http,
            partner,
            [
                consent("customer_id", r["customer_id"])
                for r in (kept, withdrawn, erased)
            ]
            # Withdrawn later under the e-mail: the whole subject is out.
            + [
                consent(
                    "email",
                    withdrawn["email"],
                    "withdrawn",
                    timestamp="2026-02-01T10:00:00Z",
                ),
                consent(
                    "customer_id",
                    analytics_only["customer_id"],
                    purpose="analytics",
                ),
            ],
        )
        body = send_records(http, partner, [kept, withdrawn, erased]).json()
        assert body["accepted"] == 2, body  # withdrawn is refused at ingestion
        # Analytics records never feed segmentation (purpose limitation).
        send_records(http, partner, [analytics_only], purpose="analytics")
        events = [_event(kept["customer_id"], n) for n in range(3)]
        assert (
            send_records(http, partner, events, dataset="events").json()["accepted"]
            == 3
        )
        # A withdrawal after ingestion: the next run must leave the record out.
        late = customer()
        send_consents(http, partner, [consent("customer_id", late["customer_id"])])
        assert send_records(http, partner, [late]).json()["accepted"] == 1
        send_consents(
            http,
            partner,
            [
                consent(
                    "customer_id",
                    late["customer_id"],
                    "withdrawn",
                    timestamp="2026-06-01T10:00:00Z",
                )
            ],
        )
    erased_subject = body["results"][2]["subject_id"]
    with transaction(ctx.sessions) as session:
        session.execute(
            update(SubjectKeyRow)
            .where(SubjectKeyRow.subject_id == erased_subject)
            .values(wrapped_key=None, destroyed_at=datetime.now(UTC))
        )

    out = extract(ctx.engine, ctx.policies, ctx.policies.audiences["retail_default"], 2)

    customers, events = out.frames["customers"], out.frames["events"]
    assert customers["subject_id"].to_list() == [body["results"][0]["subject_id"]]
    assert out.records_without_consent == 1  # late
    assert out.records_erased == 1
    row = customers.row(0, named=True)
    assert row["birth_date"] == "1984"  # generalized, as stored
    assert row["postal_code"] == "75"
    assert row["email_key"]
    assert row["email_key"] != kept["email"]
    assert "city" in customers.columns
    assert row["city"] is None
    assert events.height == 3
    assert events.schema["occurred_at"] == pl.Datetime("us", "UTC")
    assert events["occurred_at"][0] == datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    assert events.schema["amount"] == pl.Float64
    every_value = str(customers.to_dicts()) + str(events.to_dicts())
    for clear in (*kept.values(), *withdrawn.values()):
        if isinstance(clear, str) and len(clear) > 6:
            assert clear not in every_value


def test_consented_subjects_applies_the_ingestion_rule_per_subject() -> None:
    identifiers = pl.DataFrame(
        {
            "subject_id": ["s1", "s1", "s2", "s3", "s4"],
            "identifier_key": ["c1", "e1", "c2", "c3", "c4"],
        }
    )
    t = [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2)]
    facts = pl.DataFrame(
        {
            "identifier_key": ["c1", "e1", "c2", "c3", "c3"],
            "granted": [True, False, True, True, False],
            "explicit": [False, False, True, False, False],
            "event_time": [t[0], t[1], t[0], t[1], t[1]],
        }
    )

    consent_basis = dict(consented_subjects(identifiers, facts, "consent").iter_rows())
    interest = dict(
        consented_subjects(identifiers, facts, "legitimate_interest").iter_rows()
    )

    # s1: withdrawn later under its e-mail; s3: a tie goes to the withdrawal;
    # s4: no events at all.
    assert consent_basis == {"s1": False, "s2": True, "s3": False, "s4": False}
    assert interest == {"s1": False, "s2": True, "s3": False, "s4": True}


def test_sealed_encodings_open_and_a_moved_blob_reads_as_none() -> None:
    key = bytes(range(32))
    sealer = Sealer("0a0b0c0d", key)
    packed = pack(FieldEncoder(key)({"last_name": "martin", "city": "lyon"}))
    assert packed is not None
    good = sealer.seal("r1", packed)
    opened = open_encodings(
        pl.Series(["r1", "r2", "r3"]),
        pl.Series([good, good, None], dtype=pl.Binary),
        sealer,
    )
    assert opened["last_name_h"].null_count() == 2  # r2 holds r1's blob, r3 none
    assert opened["last_name_h"][0] is not None
    assert opened["city_bf"][0] is not None


def test_read_ahead_yields_every_chunk_in_order() -> None:
    assert list(read_ahead(iter(range(25)), depth=2)) == list(range(25))


def test_read_ahead_raises_a_read_error_after_the_chunks_before_it() -> None:
    def chunks() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk gone")

    ahead = read_ahead(chunks())
    assert [next(ahead), next(ahead)] == [1, 2]
    with pytest.raises(OSError, match="disk gone"):
        next(ahead)


def test_read_ahead_stops_reading_when_the_consumer_stops() -> None:
    read: list[int] = []

    def chunks() -> Iterator[int]:
        for i in range(1_000):
            read.append(i)
            yield i

    ahead = read_ahead(chunks(), depth=2)
    assert next(ahead) == 0
    ahead.close()  # the consumer goes away after one chunk
    assert not any(t.name == "read-ahead" for t in threading.enumerate())
    # It read at most the chunks that fit ahead, not the whole source.
    assert len(read) <= 5
