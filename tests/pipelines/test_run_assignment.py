"""A run starts from the previous run's segmentation unless something changed.

One world per backend (ingested once over HTTP) and four runs of the
default audience: the first fits (no previous model), the second on the
same data assigns everyone with the first one's model, the third, 150 days
later with no new event (everyone's recency moves), refits for drifted
features, and the fourth, on the third's data under a policy with another
floor, refits for the changed policy.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from gateway.demo.population import population
from gateway.main import create_app
from pipelines.run import RunConfig, run_audience
from tests.databases import gateway_context, throwaway_database
from tests.factories import make_client
from tests.support.pipeline_world import ingest_partner, policies_with_floor

K_MIN = 20
AS_OF = datetime(2026, 12, 10, tzinfo=UTC)
LATER = AS_OF + timedelta(days=150)


@dataclass
class Runs:
    summaries: list[dict[str, Any]]
    outs: list[Path]


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Runs:
    tmp = tmp_path_factory.mktemp(f"assignment-{request.param}")
    summaries, outs = [], []

    def run(ctx: Any, number: int, as_of: datetime) -> None:
        out = tmp / f"run{number}"
        config = RunConfig(seed=5, n_bootstrap=0, as_of=as_of)
        summaries.append(run_audience(ctx, "retail_default", out, config))
        outs.append(out)

    with throwaway_database(request.param, tmp / "db") as database:
        home = tmp / "home"
        with (
            gateway_context(
                database, home, policies=policies_with_floor(tmp / "a", K_MIN)
            ) as ctx,
            TestClient(create_app(ctx)) as http,
        ):
            people = population(400, seed=29)
            for name in people.customers:
                ingest_partner(http, make_client(ctx), people, name)
            for number, as_of in enumerate((AS_OF, AS_OF, LATER)):
                run(ctx, number, as_of)
        floor = policies_with_floor(tmp / "b", K_MIN + 1)
        with gateway_context(database, home, policies=floor) as ctx:
            run(ctx, 3, LATER)
    return Runs(summaries, outs)


def _members(out: Path) -> pl.DataFrame:
    frame = pl.read_parquet(out / "segments.parquet")
    return frame.sort("level", "segment_id", "entity_id")


def test_the_first_run_fits_and_stores_its_model(runs: Runs) -> None:
    first = runs.summaries[0]
    seg = first["segmentation"]
    assert (seg["mode"], seg["refit_reason"]) == ("refit", "no previous model")
    assert seg["model_fitted_in_run"] == first["run_id"]
    model = first["assignment_model"]
    assert model["fitted_run_id"] == first["run_id"]
    assert model["levels"], "no cluster level stored"
    # Clusters under the floor were dissolved at fit: every centroid is kept.
    assert model["withheld_centroids"] == 0
    # Aggregates only: no member id of the run anywhere in the model.
    stored = json.dumps(model)
    ids = set(_members(runs.outs[0])["entity_id"])
    assert not any(entity in stored for entity in ids)
    assert "Segmentation: refit (no previous model)" in (
        (runs.outs[0] / "report.html").read_text()
    )


def test_the_same_data_is_assigned_with_the_previous_model(runs: Runs) -> None:
    first, second = runs.summaries[:2]
    seg = second["segmentation"]
    assert (seg["mode"], seg["refit_reason"]) == ("assigned", None)
    assert seg["model_fitted_in_run"] == first["run_id"]
    assert second["assignment_model"] == first["assignment_model"]
    assert not second["drift"]["drifted"]
    assert set(second["drift"]["segment_psi"].values()) == {0.0}
    # Everyone is where the fit put them, under the same labels.
    assert _members(runs.outs[1]).equals(_members(runs.outs[0]))
    assert second["segmentation"]["k"] == first["segmentation"]["k"]
    report = (runs.outs[1] / "report.html").read_text()
    assert "Segmentation: assigned (nothing drifted, previous model kept)" in report


def test_drifted_features_refit_and_are_named(runs: Runs) -> None:
    second, later = runs.summaries[1:3]
    seg = later["segmentation"]
    assert seg["mode"] == "refit"
    assert seg["refit_reason"].startswith("features drifted: [")
    assert "'recency_days'" in seg["refit_reason"]
    for name in later["drift"]["drifted_features"]:
        assert f"'{name}'" in seg["refit_reason"]
    assert seg["model_fitted_in_run"] == later["run_id"]
    assert later["assignment_model"]["fitted_run_id"] == later["run_id"]
    assert second["assignment_model"] != later["assignment_model"]


def test_a_changed_level_policy_refits(runs: Runs) -> None:
    changed = runs.summaries[3]["segmentation"]
    assert (changed["mode"], changed["refit_reason"]) == ("refit", "policy changed")
