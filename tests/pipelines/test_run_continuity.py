"""Segment ids across runs end to end: kept when the segment is the same people.

One world per backend (ingested once over HTTP), three runs of the pipeline:
the second on the same data, the third after a new partner's customers
arrived and some people withdrew. The figures each run records are checked
against the memberships the database holds.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.context import GatewayContext
from gateway.demo.population import population
from gateway.main import create_app
from gateway.storage.db import transaction
from gateway.storage.models import (
    AuditEventRow,
    PipelineRunRow,
    SegmentMemberRow,
    SegmentRow,
)
from pipelines.continuity import MATCH_MIN_JACCARD
from pipelines.run import RunConfig, run_audience
from tests.databases import gateway_context, throwaway_database
from tests.factories import consent, make_client, send_consents
from tests.support.pipeline_world import ingest_partner, policies_with_floor

K_MIN = 20
CONFIG = RunConfig(seed=5, n_bootstrap=0, as_of=datetime(2026, 11, 10, tzinfo=UTC))
WITHDRAWN = 30


@dataclass
class Runs:
    ctx: GatewayContext
    summaries: list[dict[str, Any]]
    on_disk: list[dict[str, Any]]
    reports: list[str]


Members = dict[tuple[int, str], set[str]]  # (level, public id) -> entity ids


def _run(ctx: GatewayContext, out: Path, runs: Runs) -> None:
    runs.summaries.append(run_audience(ctx, "retail_default", out, CONFIG))
    runs.on_disk.append(json.loads((out / "summary.json").read_text()))
    runs.reports.append((out / "report.html").read_text())


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runs]:
    tmp = tmp_path_factory.mktemp(f"continuity-{request.param}")
    people = population(400, seed=11)
    newcomers = population(120, ("shop_c",), seed=23)
    with (
        throwaway_database(request.param, tmp / "db") as database,
        gateway_context(
            database, tmp / "home", policies=policies_with_floor(tmp, K_MIN)
        ) as ctx,
        TestClient(create_app(ctx)) as http,
    ):
        partners = {name: make_client(ctx) for name in people.customers}
        for name, partner in partners.items():
            ingest_partner(http, partner, people, name)
        runs = Runs(ctx, [], [], [])
        _run(ctx, tmp / "run0", runs)
        _run(ctx, tmp / "run1", runs)
        ingest_partner(http, make_client(ctx), newcomers, "shop_c")
        send_consents(
            http,
            partners["shop_a"],
            [
                consent(
                    "email",
                    record["email"],
                    "withdrawn",
                    timestamp="2026-11-05T00:00:00Z",
                )
                for record in people.customers["shop_a"][:WITHDRAWN]
            ],
        )
        _run(ctx, tmp / "run2", runs)
        yield runs


def _members(ctx: GatewayContext, run_id: str) -> Members:
    with transaction(ctx.read_sessions) as session:
        rows = session.execute(
            select(SegmentRow.level, SegmentRow.public_id, SegmentMemberRow.entity_id)
            .join(SegmentMemberRow, SegmentMemberRow.segment_id == SegmentRow.id)
            .where(SegmentRow.run_id == run_id)
        ).all()
    found: Members = {}
    for level, public_id, entity in rows:
        found.setdefault((level, public_id), set()).add(entity)
    return found


def _stored(ctx: GatewayContext, run_id: str) -> tuple[dict[str, Any], Any]:
    """The run's summary as the database holds it, and its audit event's details."""
    with transaction(ctx.read_sessions) as session:
        summary = session.get(PipelineRunRow, run_id).summary  # type: ignore[union-attr]
        details = [
            json.loads(text)
            for text in session.scalars(
                select(AuditEventRow.details).where(
                    AuditEventRow.action == "pipeline.run"
                )
            )
        ]
    return summary, next(d for d in details if d["run_id"] == run_id)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


def _check_against_members(before: Members, after: Members, figures: Any) -> None:
    """The run's continuity figures, recounted from the members both runs hold."""
    kept = {key for key in after if key in before}
    assert figures["segments_kept"] == len(kept)
    assert figures["segments_new"] == len(after) - len(kept)
    assert figures["segments_retired"] == len(before) - len(kept)
    assert set(figures["public_ids"].values()) == {pid for _, pid in after}
    # Kept: the same segment by membership; new: like no previous one.
    for key in kept:
        assert _jaccard(before[key], after[key]) > MATCH_MIN_JACCARD
    for (level, public_id), people in after.items():
        if (level, public_id) not in kept:
            assert all(
                _jaccard(old, people) <= MATCH_MIN_JACCARD
                for (old_level, _), old in before.items()
                if old_level == level
            )
    # Moves by public id, recounted from the members; small cells hidden.
    where_before = {(lv, e): pid for (lv, pid), es in before.items() for e in es}
    moves: dict[tuple[int, str, str], int] = {}
    for (level, public_id), people in after.items():
        for entity in people:
            old = where_before.get((level, entity))
            if old is not None and old != public_id:
                cell = (level, old, public_id)
                moves[cell] = moves.get(cell, 0) + 1
    shown = {(m["level"], m["from"], m["to"]): m["entities"] for m in figures["moves"]}
    assert set(shown) == set(moves)
    for cell, count in shown.items():
        assert count in (moves[cell], None)
        if moves[cell] < K_MIN:
            assert count is None
    total = sum(moves.values())
    assert figures["moved"] == (total if total == 0 or total >= K_MIN else None)
    # With the total shown, what the hidden cells hold is nobody or >= k.
    hidden = total - sum(c for c in shown.values() if c is not None)
    assert figures["moved"] is None or hidden == 0 or hidden >= K_MIN
    # Entered and left: the audience's people, before and after.
    people_before = set().union(*before.values())
    people_after = set().union(*after.values())
    entered = len(people_after - people_before)
    left = len(people_before - people_after)
    if 0 < entered < K_MIN or 0 < left < K_MIN:
        assert (figures["entered"], figures["left"]) == (None, None)
    else:
        assert (figures["entered"], figures["left"]) == (entered, left)


def test_a_rerun_on_the_same_data_keeps_every_public_id(runs: Runs) -> None:
    first, second = (_members(runs.ctx, s["run_id"]) for s in runs.summaries[:2])
    figures = runs.summaries[1]["continuity"]
    assert figures["previous_run_id"] == runs.summaries[0]["run_id"]
    # Every segment of the rerun carries an id the first run published.
    assert set(second) <= set(first)
    assert figures["segments_kept"] == len(second) == runs.summaries[1]["segments"]
    assert figures["segments_new"] == 0
    # Same people: nobody entered or left.
    assert (figures["entered"], figures["left"]) == (0, 0)
    _check_against_members(first, second, figures)
    # What the database, summary.json and the audit event hold agree.
    stored, details = _stored(runs.ctx, runs.summaries[1]["run_id"])
    assert stored["continuity"] == figures == runs.on_disk[1]["continuity"]
    assert details["segments_kept"] == len(second)
    assert details["segments_new"] == 0
    assert details["moved"] == figures["moved"]
    # The report says it too, in its own section.
    section = runs.reports[1].split('<section id="continuity">', 1)[1]
    section = section.split("</section>", 1)[0]
    assert (
        f'<td>Segments that kept their id</td><td class="n">{len(second)}</td>'
        in section
    )


def test_a_first_run_has_only_new_ids(runs: Runs) -> None:
    figures = runs.summaries[0]["continuity"]
    assert figures["previous_run_id"] is None
    assert figures["segments_kept"] == figures["segments_retired"] == 0
    assert figures["segments_new"] == runs.summaries[0]["segments"]
    assert figures["entered"] == runs.summaries[0]["counts"]["members"]
    assert (figures["left"], figures["moved"]) == (0, 0)


def test_movement_after_new_data_matches_the_memberships(runs: Runs) -> None:
    before = _members(runs.ctx, runs.summaries[1]["run_id"])
    after = _members(runs.ctx, runs.summaries[2]["run_id"])
    figures = runs.summaries[2]["continuity"]
    assert figures["previous_run_id"] == runs.summaries[1]["run_id"]
    _check_against_members(before, after, figures)
    people_before = set().union(*before.values())
    people_after = set().union(*after.values())
    # Withdrawn people leave, the new partner's customers enter.
    assert len(people_before - people_after) >= WITHDRAWN - 5
    assert len(people_after - people_before) >= K_MIN
    assert len(people_after) - len(people_before) == (
        runs.summaries[2]["counts"]["members"] - runs.summaries[1]["counts"]["members"]
    )
    stored, details = _stored(runs.ctx, runs.summaries[2]["run_id"])
    assert stored["continuity"] == figures == runs.on_disk[2]["continuity"]
    assert details["moved"] == figures["moved"]
    assert details["segments_retired"] == figures["segments_retired"]
