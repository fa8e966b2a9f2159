"""assignment: a stored fit reproduces its labels, moves people, refits on change."""

import json
from dataclasses import replace

import polars as pl
import pytest

from pipelines.assignment import (
    NO_MODEL,
    POLICY_CHANGED,
    SegmentationModel,
    read_model,
    refit_reason,
    stored_model,
)
from pipelines.segment import (
    LevelSpec,
    SegmentationResult,
    SegmentConfig,
    SegmentRule,
    StaleModelError,
    assign_segments,
    segment,
)
from tests.pipelines.test_segment import (
    BEHAVIOUR,
    NOISE,
    POLICY_FAST,
    planted_population,
)

APP = SegmentRule("app", "share_channel_app", ">", 0.5)
LEVELS = (
    LevelSpec("broad", ("recency_days", "frequency"), select=False),
    LevelSpec("apps", method="rules", rules=(APP,)),
    LevelSpec("fine", ("monetary_total", "share_channel_app"), select=False),
)
CONFIG = replace(POLICY_FAST, levels=LEVELS, min_size=30, floor=30)


def fit(
    config: SegmentConfig = CONFIG, floor: int = 1
) -> tuple[SegmentationResult, SegmentationModel]:
    ids, matrix, columns, _ = planted_population(1_200)
    result = segment(ids, matrix, columns, seed=3, config=config)
    model = stored_model(
        result.fits,
        result.metrics,
        definition=config.definition(),
        floor=floor,
        run_id="run-1",
    )
    # As the next run reads it: through the summary's JSON.
    again = read_model(json.loads(json.dumps(model.as_dict())))
    assert again is not None
    return result, again


@pytest.fixture(scope="module")
def fitted() -> tuple[SegmentationResult, SegmentationModel]:
    return fit()


def level_one(result: SegmentationResult) -> dict[str, str]:
    ones = result.memberships.filter(pl.col("level") == 1)
    return dict(ones.select("entity_id", "segment_id").iter_rows())


def memberships(result: SegmentationResult) -> pl.DataFrame:
    return result.memberships.sort("level", "entity_id")


def test_assigning_the_fitting_data_gives_back_the_fit(
    fitted: tuple[SegmentationResult, SegmentationModel],
) -> None:
    result, model = fitted
    ids, matrix, columns, _ = planted_population(1_200)
    assigned = assign_segments(ids, matrix, columns, model, CONFIG)
    # Three levels: clusters, rules inside them, clusters inside the rules.
    assert set(result.memberships["level"]) == {1, 2, 3}
    assert memberships(assigned).equals(memberships(result))
    assert assigned.segments.equals(result.segments)
    assert assigned.metrics["model"] == result.metrics["model"]
    assert [lv["level"] for lv in assigned.metrics["levels"]] == [1, 2, 3]
    assert assigned.fits == {}


def test_clusters_under_the_floor_are_dissolved_so_none_is_withheld() -> None:
    config = replace(CONFIG, floor=60)
    result, model = fit(config, floor=60)
    fine = next(lv for lv in result.metrics["levels"] if lv["name"] == "fine")
    dissolved = [s.get("dissolved_under_floor") for s in fine["splits"].values()]
    assert sum(d or 0 for d in dissolved) > 0
    clustered = result.segments.filter(pl.col("method") != "rule")
    assert clustered["size"].min() >= 60
    assert model.withheld == 0
    ids, matrix, columns, _ = planted_population(1_200)
    assigned = assign_segments(ids, matrix, columns, model, config)
    assert memberships(assigned).equals(memberships(result))


@pytest.mark.parametrize("family", ["ward", "hdbscan"])
def test_families_that_cannot_predict_assign_by_nearest_centroid(
    family: str,
) -> None:
    config = replace(CONFIG, models=(family,), levels=LEVELS[:1])
    result, model = fit(config)
    assert result.metrics["model"] == family
    ids, matrix, columns, _ = planted_population(1_200)
    assigned = assign_segments(ids, matrix, columns, model, config)
    assert memberships(assigned).equals(memberships(result))


def test_a_person_whose_features_moved_is_reassigned(
    fitted: tuple[SegmentationResult, SegmentationModel],
) -> None:
    result, model = fitted
    ids, matrix, columns, _ = planted_population(1_200)
    ones = level_one(result)
    other = next(i for i, e in enumerate(ids) if ones[e] != ones[ids[0]])
    moved = matrix.copy()
    moved[0] = matrix[other]
    assigned = assign_segments(ids, moved, columns, model, CONFIG)
    now = level_one(assigned)
    assert now[ids[0]] == ones[ids[other]] != ones[ids[0]]
    assert sum(now[e] != ones[e] for e in ids) == 1
    # The rules level is recomputed on the moved features, not carried.
    twos = assigned.memberships.filter(pl.col("entity_id") == ids[0])
    app = matrix[other][columns.index("share_channel_app")] > 0.5
    assert (twos.height >= 2) == app


def test_the_model_survives_json_and_holds_no_row(
    fitted: tuple[SegmentationResult, SegmentationModel],
) -> None:
    _, model = fitted
    data = model.as_dict()
    assert SegmentationModel.from_dict(json.loads(json.dumps(data))).as_dict() == data
    assert data["fitted_run_id"] == "run-1"
    assert set(data["levels"]) == {"broad", "fine"}
    text = json.dumps(data)
    assert "p-0" not in text  # no entity id
    broad = data["levels"]["broad"]
    assert broad["projection"]["columns"] == ["recency_days", "frequency"]
    assert all(c["parent_id"] is None for c in broad["centres"])
    assert all("size" not in c for c in broad["centres"])


def test_centroids_under_the_floor_are_withheld() -> None:
    result, model = fit(floor=10_000)
    assert model.levels == {}
    assert model.withheld == result.segments.filter(pl.col("method") != "rule").height
    result, model = fit(floor=100)
    small = result.segments.filter(
        (pl.col("method") != "rule") & (pl.col("size") < 100)
    )
    kept = {c.segment_id for lv in model.levels.values() for c in lv.centres}
    assert small.height > 0
    assert model.withheld == small.height
    assert kept.isdisjoint(small["segment_id"])


def test_unreadable_or_foreign_models_are_no_model() -> None:
    assert read_model(None) is None
    assert read_model({"version": 99}) is None
    assert read_model({"version": 1, "fingerprint": "x"}) is None


def test_refit_reasons(fitted: tuple[SegmentationResult, SegmentationModel]) -> None:
    _, model = fitted
    _, _, columns, _ = planted_population(100)
    definition = CONFIG.definition()
    assert refit_reason(model, definition, columns) is None
    assert refit_reason(None, definition, columns) == NO_MODEL
    changed = replace(CONFIG, k_range=(2, 5)).definition()
    assert refit_reason(model, changed, columns) == POLICY_CHANGED
    fewer = [c for c in columns if c != "frequency"]
    assert refit_reason(model, definition, fewer) == (
        "feature columns changed: missing ['frequency'], new []"
    )
    drifted = refit_reason(model, definition, columns, ("recency_days", "frequency"))
    assert drifted == "features drifted: ['frequency', 'recency_days']"
    assert "levels [1]" in str(refit_reason(model, definition, columns, (), (1,)))


def test_a_level_hung_under_another_level_is_stale() -> None:
    _, model = fit(replace(CONFIG, levels=(LEVELS[0], LEVELS[2])))
    ids, matrix, columns, _ = planted_population(1_200)
    # The stored "fine" level was fitted inside "broad"; now it comes first.
    config = replace(CONFIG, levels=(LEVELS[2],))
    with pytest.raises(StaleModelError):
        assign_segments(ids, matrix, columns, model, config)


def test_a_level_stores_the_columns_variable_selection_kept() -> None:
    config = replace(CONFIG, levels=(LevelSpec("b", (*BEHAVIOUR, NOISE)),))
    _, model = fit(config)
    assert model.levels["b"].projection.columns == tuple(BEHAVIOUR)
