"""The whole pipeline end to end: HTTP ingestion, `gateway pipeline run`, pulls."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from gateway.context import GatewayContext
from gateway.demo.population import Population, population
from gateway.main import create_app
from pipelines.run import RunConfig, run_audience
from tests.databases import BOTH, Database, gateway_context
from tests.factories import ApiClient, consent, make_client, send_consents
from tests.support.pipeline_world import policies_with_floor, run_cli

K_MIN = 25
CONFIG = RunConfig(seed=5, n_bootstrap=2)


@dataclass
class World:
    ctx: GatewayContext
    http: TestClient
    partners: dict[str, ApiClient]
    destination: ApiClient
    people: Population


def _post(http: TestClient, who: ApiClient, url: str, body: dict[str, Any]) -> Any:
    response = http.post(url, json=body, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def world(fresh_database: Database, tmp_path: Path) -> Iterator[World]:
    with (
        gateway_context(
            fresh_database,
            tmp_path / "home",
            policies=policies_with_floor(tmp_path, K_MIN),
        ) as ctx,
        TestClient(create_app(ctx)) as http,
    ):
        people = population(500, seed=11)
        partners = {name: make_client(ctx) for name in people.customers}
        for name, partner in partners.items():
            send_consents(http, partner, people.consents[name])
            for dataset, records in (
                ("customers", people.customers[name]),
                ("events", people.events[name]),
            ):
                for start in range(0, len(records), 1000):
                    _post(
                        http,
                        partner,
                        f"/v1/datasets/{dataset}/records",
                        {
                            "purpose": "segmentation",
                            "records": records[start : start + 1000],
                        },
                    )
        destination = make_client(ctx, "destination")
        yield World(ctx, http, partners, destination, people)


def _pull_all(world: World) -> dict[str, set[str]]:
    headers = world.destination.headers
    listed = world.http.get("/v1/audiences/retail_default/segments", headers=headers)
    assert listed.status_code == 200, listed.text
    members: dict[str, set[str]] = {}
    for segment in listed.json():
        assert segment["size"] >= K_MIN
        page = world.http.get(
            f"/v1/segments/{segment['segment_id']}/members",
            params={"limit": 10_000},
            headers=headers,
        ).json()
        assert page["next_cursor"] is None
        # A segment keeps its public id across runs, and difference
        # protection holds back fewer than k entrants or leavers per pull:
        # what a pull delivers is the listed size, give or take such a group.
        assert abs(len(page["members"]) - segment["size"]) < K_MIN
        members[segment["segment_id"]] = set(page["members"])
    return members


def _cli_run(world: World, out: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`gateway pipeline run` on the world's database, as a user would."""
    args = ("pipeline", "run", "retail_default", "--out", str(out), "--json")
    return json.loads(run_cli(world.ctx, monkeypatch, *args))


@BOTH
def test_pipeline_end_to_end(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    summary = run_audience(world.ctx, "retail_default", out, CONFIG)

    # Dedupe joined people known to both partners (500 people, ~150 twice).
    counts = summary["counts"]
    assert counts["records_events"] > 5000
    assert 430 <= counts["entities"] <= 500
    assert summary["dedupe"]["entities_with_several_records"] >= 100
    assert 3 <= summary["segmentation"]["k"] <= 8
    entities = pl.read_parquet(out / "entities.parquet")
    segments = pl.read_parquet(out / "segments.parquet")
    assert entities.columns == ["record_id", "entity_id"]
    assert segments.columns == ["entity_id", "segment_id", "level"]
    assert segments.group_by("segment_id").len()["len"].min() >= K_MIN
    # A level-2 member is always in its parent.
    level1 = dict(
        segments.filter(pl.col("level") == 1)
        .select("entity_id", "segment_id")
        .iter_rows()
    )
    for entity, label in (
        segments.filter(pl.col("level") == 2)
        .select("entity_id", "segment_id")
        .iter_rows()
    ):
        assert label.startswith(level1[entity] + ".")
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["run_id"] == summary["run_id"]
    # Every stage's peak memory so far: a high-water mark never falls.
    peaks = on_disk["peak_rss_mib"]
    assert list(peaks) == list(on_disk["timings_s"])
    assert all(isinstance(v, int) and v > 0 for v in peaks.values())
    assert list(peaks.values()) == sorted(peaks.values())
    report = (out / "report.html").read_text()
    assert "<script" not in report
    assert "http://" not in report
    assert "https://" not in report
    # No clear value of anyone anywhere in the outputs.
    written = report + json.dumps(on_disk) + str(entities.to_dicts())
    some = world.people.customers["shop_a"][:50]
    for record in some:
        for field in ("email", "last_name", "street", "customer_id"):
            assert record[field] not in written

    first = _pull_all(world)
    assert sum(len(m) for m in first.values()) > 0

    # One person withdraws: gone at pull time at once, and from the next run.
    person = world.people.customers["shop_a"][0]
    send_consents(
        world.http,
        world.partners["shop_a"],
        [
            consent(
                "email",
                person["email"],
                "withdrawn",
                timestamp="2026-11-20T00:00:00Z",
            )
        ],
    )
    after = _pull_all(world)
    lost = set().union(*first.values()) - set().union(*after.values())
    assert len(lost) == 1
    again = _cli_run(world, tmp_path / "again", monkeypatch)
    assert (tmp_path / "again" / "report.html").is_file()
    assert (
        again["counts"]["records_without_consent"]
        > summary["counts"]["records_without_consent"]
    )
    rerun = set().union(*_pull_all(world).values())
    assert lost.isdisjoint(rerun)
    # Stable ids across runs for the same people: the entities of the first
    # run continue under their ids; only what is left of the withdrawn
    # person's entity (a record linked to it under another identifier), if
    # anything, comes back under a new id, never the revoked one.
    assert len(rerun & set().union(*after.values())) >= 0.9 * len(rerun)
    dedupe = again["dedupe"]
    # The second run links incrementally from the first one's model and
    # entities: nothing changed but a withdrawal.
    assert summary["dedupe"]["mode"] == "full: no previous linkage"
    assert dedupe["mode"] == "incremental"
    assert dedupe["records_new_or_changed"] == 0
    assert summary["dedupe"]["entities_new"] == summary["counts"]["entities"]
    assert dedupe["entities_kept"] >= 0.95 * again["counts"]["entities"]
    assert dedupe["entities_new"] <= 1
    assert dedupe["entities_merged"] == dedupe["entities_split"] == 0


def test_unknown_audience_and_too_little_data(
    fresh_database: Database, tmp_path: Path
) -> None:
    from gateway.errors import NotFoundError

    with gateway_context(fresh_database, tmp_path / "home") as ctx:
        with pytest.raises(NotFoundError):
            run_audience(ctx, "nope", None, CONFIG)
        with pytest.raises(ValueError, match="too few"):
            run_audience(ctx, "retail_default", None, CONFIG)
