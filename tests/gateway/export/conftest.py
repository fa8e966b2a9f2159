"""An export test world: a partner, 12 consenting people, runs stored by hand."""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from gateway.storage.models import ClientRow, RecordRow, SegmentRow
from pipelines.export import RunToStore, store_run
from tests.databases import POLICIES, Database, gateway_context
from tests.factories import ApiClient, customer, grant, make_client, send_records

K_MIN = 3
STRICT = "strict_dest"  # its own floor: 5


def export_policies(tmp_path: Path) -> Path:
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
    policies = export_policies(tmp_path)
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


# (label, level, parent label, people, description) of a run's segments.
Layout = tuple[tuple[str, int, str | None, range, str], ...]
DEFAULT_LAYOUT: Layout = (
    ("L1-01", 1, None, range(8), "web, frequent"),
    ("L1-01.1", 2, "L1-01", range(5), "web, young"),
    ("L1-02", 1, None, range(8, 12), "in-store"),
)


def store_test_run(
    world: World, started: datetime, layout: Layout = DEFAULT_LAYOUT
) -> str:
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
        for label, _, _, people, _ in layout
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
                    "segment_id": [row[0] for row in layout],
                    "level": [row[1] for row in layout],
                    "parent_id": [row[2] for row in layout],
                    "size": [len(row[3]) for row in layout],
                    "description": [row[4] for row in layout],
                },
                schema_overrides={"parent_id": pl.String},
            ),
            memberships=pl.DataFrame(members),
            entity_keys=pl.DataFrame(keys),
        ),
    )
    return run_id


def set_public_ids(world: World, run_id: str, public: dict[str, str]) -> None:
    """Give a run's segments (by label) these public ids, as a continuing run would."""
    with transaction(world.ctx.sessions) as session:
        # Row ids first: two labels swapping ids must not collide on the way.
        session.execute(
            update(SegmentRow)
            .where(SegmentRow.run_id == run_id)
            .values(public_id=SegmentRow.id)
        )
        for label, public_id in public.items():
            session.execute(
                update(SegmentRow)
                .where(SegmentRow.run_id == run_id, SegmentRow.label == label)
                .values(public_id=public_id)
            )


def segments_seen(world: World, who: ApiClient) -> dict[str, dict[str, Any]]:
    response = world.http.get(
        "/v1/audiences/retail_default/segments", headers=who.headers
    )
    assert response.status_code == 200, response.text
    return {s["description"]: s for s in response.json()}


def all_members(world: World, who: ApiClient, segment_id: str, limit: int) -> list[str]:
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


def make_destination(world: World, name: str | None = None) -> ApiClient:
    made = make_client(world.ctx, "destination")
    if name is None:
        return made
    # The destination policy is keyed by client name: rename the test client.
    with transaction(world.ctx.sessions) as session:
        session.execute(
            update(ClientRow).where(ClientRow.id == made.client_id).values(name=name)
        )
    return ApiClient(made.client_id, name, made.api_key)
