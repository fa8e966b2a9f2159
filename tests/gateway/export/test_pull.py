"""Destinations pull segments over real HTTP: floors, scoped ids, consent at pull."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from gateway.storage.db import transaction
from gateway.storage.models import (
    AuditEventRow,
    SubjectKeyRow,
)
from tests.databases import BOTH
from tests.factories import (
    consent,
    send_consents,
)
from tests.gateway.export.conftest import (
    STRICT,
    World,
    all_members,
    make_destination,
    segments_seen,
    set_public_ids,
    store_test_run,
)


@BOTH
def test_floors_scoped_ids_and_pagination(world: World) -> None:
    store_test_run(world, datetime.now(UTC))
    plain, strict = make_destination(world), make_destination(world, STRICT)

    seen = segments_seen(world, plain)
    assert {d: s["size"] for d, s in seen.items()} == {
        "web, frequent": 8,
        "web, young": 5,
        "in-store": 4,
    }
    parent = seen["web, frequent"]
    assert datetime.fromisoformat(parent["generated_at"]).utcoffset() == timedelta(0)
    assert seen["web, young"]["parent_id"] == parent["segment_id"]
    # The strictest floor applies: 5 for strict_dest, so "in-store" (4) is
    # withheld, and so is "web, young" (5): beside its parent (8) it would
    # tell that the parent's other 3 members form a group under the floor.
    strict_seen = segments_seen(world, strict)
    assert set(strict_seen) == {"web, frequent"}
    withheld = seen["in-store"]["segment_id"]
    response = world.http.get(
        f"/v1/segments/{withheld}/members", headers=strict.headers
    )
    assert response.status_code == 404

    ids = all_members(world, plain, parent["segment_id"], limit=3)
    assert len(ids) == len(set(ids)) == 8
    assert all(len(i) == 64 for i in ids)
    strict_ids = all_members(world, strict, parent["segment_id"], limit=100)
    assert len(strict_ids) == 8
    assert set(ids).isdisjoint(strict_ids)  # two destinations cannot join
    assert all(len(i) == 36 and i[14] == "8" for i in strict_ids)  # UUIDv8
    # Stable across pulls and across runs for the same people.
    assert all_members(world, plain, parent["segment_id"], limit=8) == ids
    # A next run whose segments continue none: new public ids (continuing
    # segments keep theirs, see test_deliveries.py).
    later = store_test_run(world, datetime.now(UTC) + timedelta(seconds=5))
    set_public_ids(world, later, {"L1-01": "new-1", "L1-01.1": "new-2"})
    newer = segments_seen(world, plain)["web, frequent"]["segment_id"]
    assert newer != parent["segment_id"]
    assert sorted(all_members(world, plain, newer, limit=50)) == sorted(ids)
    superseded = world.http.get(
        f"/v1/segments/{parent['segment_id']}/members", headers=plain.headers
    )
    assert superseded.status_code == 404


@BOTH
def test_withdrawal_and_erasure_take_effect_at_pull_time(world: World) -> None:
    store_test_run(world, datetime.now(UTC) - timedelta(minutes=1))
    plain, strict = make_destination(world), make_destination(world, STRICT)
    before = segments_seen(world, plain)
    young = before["web, young"]["segment_id"]
    before_ids = set(all_members(world, plain, young, limit=10))

    # Person 0 withdraws under the e-mail (after the run); person 9's key is
    # destroyed (erasure).
    send_consents(
        world.http,
        world.partner,
        [
            consent(
                "email",
                world.people[0]["email"],
                "withdrawn",
                timestamp="2026-06-01T00:00:00Z",
            )
        ],
    )
    with transaction(world.ctx.sessions) as session:
        session.execute(
            update(SubjectKeyRow)
            .where(SubjectKeyRow.subject_id == world.subjects[9])
            .values(wrapped_key=None, destroyed_at=datetime.now(UTC))
        )

    after = segments_seen(world, plain)
    assert after["web, frequent"]["size"] == 7
    assert after["web, young"]["size"] == 4
    assert after["in-store"]["size"] == 3
    after_ids = set(all_members(world, plain, young, limit=2))
    assert len(after_ids) == 4
    assert after_ids < before_ids
    # Under strict_dest's floor of 5, "web, young" (now 4) is withheld.
    assert set(segments_seen(world, strict)) == {"web, frequent"}
    response = world.http.get(f"/v1/segments/{young}/members", headers=strict.headers)
    assert response.status_code == 404

    with transaction(world.ctx.read_sessions) as session:
        pulls = session.scalars(
            select(AuditEventRow.details).where(
                AuditEventRow.action == "segment.pulled"
            )
        ).all()
    assert pulls  # every pull is audited, without member ids
    assert not any(i in "".join(pulls) for i in after_ids)


@BOTH
def test_bad_cursor_and_limit_are_422_and_unknown_segment_404(world: World) -> None:
    store_test_run(world, datetime.now(UTC))
    plain = make_destination(world)
    segment = next(iter(segments_seen(world, plain).values()))["segment_id"]
    for params in ({"cursor": "abc"}, {"limit": 0}, {"limit": 100_000}):
        response = world.http.get(
            f"/v1/segments/{segment}/members", params=params, headers=plain.headers
        )
        assert response.status_code == 422, params
    response = world.http.get("/v1/segments/nope/members", headers=plain.headers)
    assert response.status_code == 404
