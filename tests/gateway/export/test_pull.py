"""Destinations pull segments over real HTTP: floors, scoped ids, consent at pull."""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from gateway.context import GatewayContext
from gateway.ids import uuid7
from gateway.main import create_app
from gateway.storage.db import transaction
from gateway.storage.models import (
    AuditEventRow,
    ClientRow,
    RecordRow,
    SubjectKeyRow,
)
from pipelines.export import RunToStore, store_run
from tests.databases import BOTH, POLICIES, Database, gateway_context
from tests.factories import (
    ApiClient,
    consent,
    customer,
    grant,
    make_client,
    send_consents,
    send_records,
)

K_MIN = 3
STRICT = "strict_dest"  # its own floor: 5


def _policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    audiences = target / "audiences.yaml"
    audiences.write_text(audiences.read_text().replace("k_min: 100", f"k_min: {K_MIN}"))
    (target / "destinations.yaml").write_text(
        f"destinations:\n  {STRICT}:\n    k_min: 5\n    id_format: uuid\n"
    )
    return target


@dataclass
class World:
    ctx: GatewayContext
    http: TestClient
    partner: ApiClient
    people: list[dict[str, Any]]
    subjects: list[str]


@pytest.fixture
def world(fresh_database: Database, tmp_path: Path) -> Iterator[World]:
    policies = _policies(tmp_path)
    with (
        gateway_context(fresh_database, tmp_path / "home", policies=policies) as ctx,
        TestClient(create_app(ctx)) as http,
    ):
        partner = make_client(ctx)
        people = [customer() for _ in range(12)]
        for person in people:
            grant(http, partner, person)
        body = send_records(http, partner, people).json()
        assert body["accepted"] == 12, body
        subjects = [r["subject_id"] for r in body["results"]]
        yield World(ctx, http, partner, people, subjects)


def _run(world: World, started: datetime) -> str:
    """Store a run by hand: L1-01 (people 0-7), its child L1-01.1 (0-4), L1-02."""
    with transaction(world.ctx.read_sessions) as session:
        rows = session.execute(
            select(RecordRow.subject_id, RecordRow.identifiers)
        ).all()
    keys = [
        {"entity_id": f"entity-{world.subjects.index(subject)}", "subject_id": subject,
         "identifier_key": key}
        for subject, identifiers in rows
        for key in identifiers.values()
    ]  # fmt: skip
    members = [
        {"entity_id": f"entity-{n}", "segment_id": label}
        for label, people in (
            ("L1-01", range(8)),
            ("L1-01.1", range(5)),
            ("L1-02", range(8, 12)),
        )
        for n in people
    ]
    run_id = uuid7(started)
    store_run(
        world.ctx.sessions,
        RunToStore(
            run_id=run_id,
            audience="retail_default",
            purpose="segmentation",
            policy_version=world.ctx.policies.version,
            seed=1,
            started_at=started,
            finished_at=started + timedelta(seconds=1),
            summary={"entities": 12},
            segments=pl.DataFrame(
                {
                    "segment_id": ["L1-01", "L1-01.1", "L1-02"],
                    "level": [1, 2, 1],
                    "parent_id": [None, "L1-01", None],
                    "size": [8, 5, 4],
                    "description": ["web, frequent", "web, young", "in-store"],
                }
            ),
            memberships=pl.DataFrame(members),
            entity_keys=pl.DataFrame(keys),
        ),
    )
    return run_id


def _segments(world: World, who: ApiClient) -> dict[str, dict[str, Any]]:
    response = world.http.get(
        "/v1/audiences/retail_default/segments", headers=who.headers
    )
    assert response.status_code == 200, response.text
    return {s["description"]: s for s in response.json()}


def _all_members(
    world: World, who: ApiClient, segment_id: str, limit: int
) -> list[str]:
    ids: list[str] = []
    cursor: str | None = ""
    while cursor is not None:
        response = world.http.get(
            f"/v1/segments/{segment_id}/members",
            params={"cursor": cursor, "limit": limit},
            headers=who.headers,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["members"]) <= limit
        ids += page["members"]
        cursor = page["next_cursor"]
    return ids


def _destination(world: World, name: str | None = None) -> ApiClient:
    made = make_client(world.ctx, "destination")
    if name is None:
        return made
    # The destination policy is keyed by client name: rename the test client.
    with transaction(world.ctx.sessions) as session:
        session.execute(
            update(ClientRow).where(ClientRow.id == made.client_id).values(name=name)
        )
    return ApiClient(made.client_id, name, made.api_key)


@BOTH
def test_floors_scoped_ids_and_pagination(world: World) -> None:
    _run(world, datetime.now(UTC))
    plain, strict = _destination(world), _destination(world, STRICT)

    seen = _segments(world, plain)
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
    strict_seen = _segments(world, strict)
    assert set(strict_seen) == {"web, frequent"}
    withheld = seen["in-store"]["segment_id"]
    response = world.http.get(
        f"/v1/segments/{withheld}/members", headers=strict.headers
    )
    assert response.status_code == 404

    ids = _all_members(world, plain, parent["segment_id"], limit=3)
    assert len(ids) == len(set(ids)) == 8
    assert all(len(i) == 64 for i in ids)
    strict_ids = _all_members(world, strict, parent["segment_id"], limit=100)
    assert len(strict_ids) == 8
    assert set(ids).isdisjoint(strict_ids)  # two destinations cannot join
    assert all(len(i) == 36 and i[14] == "8" for i in strict_ids)  # UUIDv8
    # Stable across pulls and across runs for the same people.
    assert _all_members(world, plain, parent["segment_id"], limit=8) == ids
    _run(world, datetime.now(UTC) + timedelta(seconds=5))
    newer = _segments(world, plain)["web, frequent"]["segment_id"]
    assert newer != parent["segment_id"]
    assert sorted(_all_members(world, plain, newer, limit=50)) == sorted(ids)
    superseded = world.http.get(
        f"/v1/segments/{parent['segment_id']}/members", headers=plain.headers
    )
    assert superseded.status_code == 404


@BOTH
def test_withdrawal_and_erasure_take_effect_at_pull_time(world: World) -> None:
    _run(world, datetime.now(UTC) - timedelta(minutes=1))
    plain, strict = _destination(world), _destination(world, STRICT)
    before = _segments(world, plain)
    young = before["web, young"]["segment_id"]
    before_ids = set(_all_members(world, plain, young, limit=10))

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

    after = _segments(world, plain)
    assert after["web, frequent"]["size"] == 7
    assert after["web, young"]["size"] == 4
    assert after["in-store"]["size"] == 3
    after_ids = set(_all_members(world, plain, young, limit=2))
    assert len(after_ids) == 4
    assert after_ids < before_ids
    # Under strict_dest's floor of 5, "web, young" (now 4) is withheld.
    assert set(_segments(world, strict)) == {"web, frequent"}
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
    _run(world, datetime.now(UTC))
    plain = _destination(world)
    segment = next(iter(_segments(world, plain).values()))["segment_id"]
    for params in ({"cursor": "abc"}, {"limit": 0}, {"limit": 100_000}):
        response = world.http.get(
            f"/v1/segments/{segment}/members", params=params, headers=plain.headers
        )
        assert response.status_code == 422, params
    response = world.http.get("/v1/segments/nope/members", headers=plain.headers)
    assert response.status_code == 404
