"""Difference protection over HTTP: what a destination sees change between pulls."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from gateway.export.service import destination_ids
from gateway.storage import retention_repo
from gateway.storage.db import transaction
from gateway.storage.models import AuditEventRow, ClientRow, ExportDeliveryRow
from gateway.subjects.erase import erase
from tests.databases import BOTH
from tests.factories import ApiClient, consent, send_consents
from tests.gateway.export.conftest import (
    K_MIN,
    Layout,
    World,
    all_members,
    make_destination,
    segments_seen,
    set_public_ids,
    store_test_run,
)

START = datetime.now(UTC) - timedelta(hours=1)
A, B = "pub-a", "pub-b"


def two_segments(a: range, b: range) -> Layout:
    return (
        ("A", 1, None, a, "segment a"),
        ("B", 1, None, b, "segment b"),
    )


def run(world: World, step: int, a: range, b: range, public: dict[str, str]) -> str:
    run_id = store_test_run(
        world, START + timedelta(seconds=10 * step), two_segments(a, b)
    )
    set_public_ids(world, run_id, public)
    return run_id


def ids_of(world: World, who: ApiClient, people: range | list[int]) -> set[str]:
    with transaction(world.ctx.read_sessions) as session:
        client = session.get(ClientRow, who.client_id)
        assert client is not None
        return set(destination_ids(world.ctx, client, [f"entity-{n}" for n in people]))


def pull(world: World, who: ApiClient, segment: str) -> set[str]:
    ids = all_members(world, who, segment, limit=2)
    assert len(ids) == len(set(ids))
    return set(ids)


def last_pull_details(world: World) -> dict[str, Any]:
    """The audit details of the latest first page pulled (where holds are decided)."""
    with transaction(world.ctx.read_sessions) as session:
        rows = session.scalars(
            select(AuditEventRow.details)
            .where(AuditEventRow.action == "segment.pulled")
            .order_by(AuditEventRow.seq)
        ).all()
    pulls = [json.loads(row) if isinstance(row, str) else row for row in rows]
    return [p for p in pulls if p["after"] == -1][-1]


@BOTH
def test_small_differences_are_held_back_until_they_reach_the_floor(
    world: World,
) -> None:
    assert K_MIN == 3
    dest = make_destination(world)
    public = {"A": A, "B": B}

    run(world, 0, range(6), range(6, 12), public)
    assert pull(world, dest, A) == ids_of(world, dest, range(6))

    # Two enter A (6, 7): fewer than the floor, so the pull sends the first set.
    run(world, 1, range(8), range(8, 12), public)
    listed = segments_seen(world, dest)["segment a"]
    assert listed["segment_id"] == A
    assert listed["size"] == 8  # the segment now, not what is delivered
    assert pull(world, dest, A) == ids_of(world, dest, range(6))
    held = last_pull_details(world)
    assert (held["entering_held"], held["leaving_held"]) == (2, 0)
    assert held["segment_id"] == A

    # A third enters (8): three entrants, all sent together.
    run(world, 2, range(9), range(9, 12), public)
    assert pull(world, dest, A) == ids_of(world, dest, range(9))

    # Two leave A (7, 8): kept until the exits reach the floor.
    run(world, 3, range(7), range(7, 12), public)
    assert pull(world, dest, A) == ids_of(world, dest, range(9))
    held = last_pull_details(world)
    assert (held["entering_held"], held["leaving_held"]) == (0, 2)

    # A third leaves (6): the three exits go together.
    run(world, 4, range(6), range(6, 12), public)
    assert pull(world, dest, A) == ids_of(world, dest, range(6))


@BOTH
def test_withdrawn_and_erased_people_disappear_at_once(world: World) -> None:
    dest = make_destination(world)
    public = {"A": A, "B": B}
    run(world, 0, range(9), range(9, 12), public)
    assert pull(world, dest, A) == ids_of(world, dest, range(9))
    run(world, 1, range(7), range(7, 12), public)  # 7, 8 leave: kept
    assert pull(world, dest, A) == ids_of(world, dest, range(9))

    # Person 8, a kept leaver, withdraws; person 0, a member, is erased:
    # both go at once, although each is alone.
    send_consents(
        world.http,
        world.partner,
        [
            consent(
                "email",
                world.people[8]["email"],
                "withdrawn",
                timestamp="2026-06-01T00:00:00Z",
            )
        ],
    )
    receipt = erase(world.ctx, "test", "email", world.people[0]["email"])
    assert receipt["deleted"]["deliveries"] == 1
    with transaction(world.ctx.read_sessions) as session:
        rows = session.scalar(
            select(func.count()).where(ExportDeliveryRow.entity_id == "entity-0")
        )
    assert rows == 0  # erasure removes the person from the deliveries too
    assert pull(world, dest, A) == ids_of(world, dest, range(1, 8))


@BOTH
def test_consent_is_checked_again_on_every_page(world: World) -> None:
    dest = make_destination(world)
    run(world, 0, range(9), range(9, 12), {"A": A, "B": B})
    first = world.http.get(
        f"/v1/segments/{A}/members", params={"limit": 1}, headers=dest.headers
    ).json()
    assert len(first["members"]) == 1
    # Entity order puts entity-0 first: withdraw someone later in the order.
    send_consents(
        world.http,
        world.partner,
        [
            consent(
                "email",
                world.people[5]["email"],
                "withdrawn",
                timestamp="2026-06-01T00:00:00Z",
            )
        ],
    )
    rest: list[str] = []
    cursor = first["next_cursor"]
    while cursor is not None:
        page = world.http.get(
            f"/v1/segments/{A}/members",
            params={"cursor": cursor, "limit": 3},
            headers=dest.headers,
        ).json()
        rest += page["members"]
        cursor = page["next_cursor"]
    assert set(first["members"]) | set(rest) == ids_of(
        world, dest, [0, 1, 2, 3, 4, 6, 7, 8]
    )


@BOTH
def test_public_ids_are_listed_and_a_superseded_one_is_404(world: World) -> None:
    dest = make_destination(world)
    public = {"L1-01": "pub-web", "L1-01.1": "pub-young", "L1-02": "pub-store"}
    first_run = store_test_run(world, START)
    set_public_ids(world, first_run, public)
    seen = segments_seen(world, dest)
    assert {s["segment_id"] for s in seen.values()} == set(public.values())
    assert seen["web, young"]["parent_id"] == "pub-web"
    assert seen["web, frequent"]["parent_id"] is None
    sent = pull(world, dest, "pub-young")

    # The next run keeps two public ids and gives the store segment a new one.
    second_run = store_test_run(world, START + timedelta(seconds=10))
    set_public_ids(world, second_run, {**public, "L1-02": "pub-store-2"})
    assert pull(world, dest, "pub-young") == sent
    assert pull(world, dest, "pub-store-2") == ids_of(world, dest, range(8, 12))
    gone = world.http.get("/v1/segments/pub-store/members", headers=dest.headers)
    assert gone.status_code == 404
    # The row id of the continuing segment is not a public id.
    row = world.http.get(f"/v1/segments/{second_run}/members", headers=dest.headers)
    assert row.status_code == 404


@BOTH
def test_purging_a_run_drops_deliveries_no_run_can_serve_again(world: World) -> None:
    dest = make_destination(world)
    first = run(world, 0, range(6), range(6, 12), {"A": A, "B": B})
    assert len(pull(world, dest, A)) == 6
    assert len(pull(world, dest, B)) == 6
    run(world, 1, range(6), range(6, 12), {"A": A, "B": "pub-b2"})
    with transaction(world.ctx.sessions) as session:
        for segment_id in retention_repo.segment_ids(session, first):
            retention_repo.delete_members(session, segment_id, 100)
        retention_repo.delete_run(session, first)
    with transaction(world.ctx.read_sessions) as session:
        kept = session.execute(
            select(ExportDeliveryRow.segment_id, func.count()).group_by(
                ExportDeliveryRow.segment_id
            )
        ).all()
    # A continues in the kept run; B's public id is gone with the old run.
    assert dict(kept) == {A: 6}


@BOTH
def test_a_person_back_after_a_withdrawal_is_an_entrant_like_any_other(
    world: World,
) -> None:
    dest = make_destination(world)
    run(world, 0, range(9), range(9, 12), {"A": A, "B": B})
    assert pull(world, dest, A) == ids_of(world, dest, range(9))
    email = world.people[8]["email"]

    def set_consent(status: str, at: str) -> None:
        events = [consent("email", email, status, timestamp=at)]
        send_consents(world.http, world.partner, events)

    # Person 8 withdraws: gone at the next pull, alone (consent wins).
    set_consent("withdrawn", "2026-06-01T00:00:00Z")
    assert pull(world, dest, A) == ids_of(world, dest, range(8))
    # ... and consents again: back in the segment, but as an entrant of one,
    # under the floor, held back like any other (pull after pull).
    set_consent("granted", "2026-06-02T00:00:00Z")
    assert pull(world, dest, A) == ids_of(world, dest, range(8))
    assert last_pull_details(world)["entering_held"] == 1
    assert pull(world, dest, A) == ids_of(world, dest, range(8))
