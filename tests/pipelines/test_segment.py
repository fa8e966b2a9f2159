"""segment: planted clusters recovered, hierarchy by construction, seeded output."""

import json
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from numpy.typing import NDArray
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from pipelines.segment import (
    MODELS,
    LevelSpec,
    SegmentationResult,
    SegmentConfig,
    SegmentRule,
    policy_levels,
    segment,
)

# Small samples and one thread keep each run near a second; the code paths
# are those of a million rows, only the sample sizes shrink.
FAST = SegmentConfig(
    sample_size=2_000,
    silhouette_size=800,
    hierarchical_size=800,
    n_bootstrap=3,
    min_size=50,
    n_threads=1,
)
COLUMNS = [f"f{j}" for j in range(6)]


def make_blobs_data(
    n: int = 2_000, seed: int = 3
) -> tuple[list[str], NDArray[np.float64], NDArray[np.int64]]:
    # Every dimension informative: standard scaling would otherwise blow pure
    # noise dimensions up to the same weight as the separating ones.
    matrix, truth = make_blobs(
        n, n_features=len(COLUMNS), centers=4, cluster_std=1.0, random_state=seed
    )
    return [f"ent-{i:05d}" for i in range(n)], matrix, truth


def run(config: SegmentConfig = FAST, seed: int = 11) -> SegmentationResult:
    ids, matrix, _ = make_blobs_data()
    return segment(ids, matrix, COLUMNS, seed=seed, config=config)


@pytest.fixture(scope="module")
def result() -> SegmentationResult:
    return run()


def level_one_labels(result: SegmentationResult) -> list[str]:
    ones = result.memberships.filter(pl.col("level") == 1).sort("entity_id")
    return ones["segment_id"].to_list()


def test_recovers_planted_clusters_at_level_one(result: SegmentationResult) -> None:
    _, _, truth = make_blobs_data()
    assert adjusted_rand_score(truth, level_one_labels(result)) >= 0.9
    assert result.metrics["k"] == 4
    assert result.metrics["model"] in MODELS
    assert result.metrics["silhouette"] > 0.5


def test_reports_pca_choice_and_candidates(result: SegmentationResult) -> None:
    metrics = result.metrics
    assert metrics["explained_variance"] >= 0.8
    assert 1 <= metrics["n_components"] <= len(COLUMNS)
    candidates = metrics["candidates"]
    assert sum(row["chosen"] for row in candidates) == 1
    assert {row["model"] for row in candidates} == set(MODELS)
    assert all(3 <= row["k"] <= 8 for row in candidates)
    chosen = next(row for row in candidates if row["chosen"])
    assert chosen["rank_sum"] == min(row["rank_sum"] for row in candidates)
    assert json.loads(json.dumps(metrics)) == metrics


def test_every_entity_has_one_level_one_segment(result: SegmentationResult) -> None:
    ones = result.memberships.filter(pl.col("level") == 1)
    assert ones.height == 2_000
    assert ones["entity_id"].n_unique() == 2_000
    assert ones["parent_id"].null_count() == ones.height


def test_level_two_members_are_inside_their_parent(result: SegmentationResult) -> None:
    members = result.memberships
    twos = members.filter(pl.col("level") == 2)
    assert twos.height > 0
    parents = members.filter(pl.col("level") == 1).select(
        "entity_id", pl.col("segment_id").alias("level_one")
    )
    joined = twos.join(parents, on="entity_id", how="left")
    assert (joined["parent_id"] == joined["level_one"]).all()
    assert all(
        sid.startswith(f"{parent}.")
        for sid, parent in twos.select("segment_id", "parent_id").rows()
    )
    per_parent = twos.group_by("parent_id").agg(pl.col("segment_id").n_unique())
    assert per_parent["segment_id"].is_between(2, 4).all()


def test_segments_table_matches_memberships(result: SegmentationResult) -> None:
    counts = result.memberships.group_by("segment_id").len()
    joined = result.segments.join(counts, on="segment_id")
    assert joined.height == result.segments.height
    assert (joined["size"] == joined["len"]).all()
    centroid_lengths = result.segments["centroid"].list.len()
    assert (centroid_lengths == len(COLUMNS)).all()
    stability = result.segments["stability"]
    assert stability.is_between(0.0, 1.0).all()


def test_ids_are_numbered_by_size(result: SegmentationResult) -> None:
    ones = result.segments.filter(pl.col("level") == 1).sort("segment_id")
    assert ones["segment_id"].to_list() == ["L1-01", "L1-02", "L1-03", "L1-04"]
    sizes = ones["size"].to_list()
    assert sizes == sorted(sizes, reverse=True)


def test_same_seed_gives_identical_output(result: SegmentationResult) -> None:
    again = run()
    assert again.memberships.equals(result.memberships)
    assert again.segments.equals(result.segments)
    assert again.metrics == result.metrics


def test_planted_clusters_are_stable(result: SegmentationResult) -> None:
    assert result.metrics["ari"] >= 0.9
    ones = result.segments.filter(pl.col("level") == 1)
    assert ones["stability"].min() >= 0.9


@pytest.mark.parametrize("model", ["ward", "hdbscan"])
def test_each_model_family_recovers_the_clusters(model: str) -> None:
    config = replace(FAST, models=(model,), min_size=10_000, n_bootstrap=2)
    outcome = run(config)
    _, _, truth = make_blobs_data()
    assert outcome.metrics["model"] == model
    assert adjusted_rand_score(truth, level_one_labels(outcome)) >= 0.9


def test_parent_too_small_is_not_split() -> None:
    outcome = run(replace(FAST, min_size=10_000))
    assert outcome.memberships.filter(pl.col("level") == 2).height == 0
    assert not any(m["split"] for m in outcome.metrics["level2"].values())


def test_rules_carve_segments_inside_each_parent() -> None:
    rules = (
        SegmentRule.from_mapping(
            {"name": "east", "column": "f0", "op": ">", "value": 6.0}
        ),
    )
    outcome = run(replace(FAST, rule_levels=(rules,)))
    ids, matrix, _ = make_blobs_data()
    east = {i for i, row in zip(ids, matrix, strict=True) if row[0] > 6.0}
    threes = outcome.memberships.filter(pl.col("level") == 3)
    assert set(threes["entity_id"]) == east
    assert all(sid.endswith(".east") for sid in threes["segment_id"])
    twos = outcome.memberships.filter(pl.col("level") == 2).select(
        "entity_id", pl.col("segment_id").alias("level_two")
    )
    joined = threes.join(twos, on="entity_id", how="left")
    assert (joined["parent_id"] == joined["level_two"]).all()


def test_accepts_a_polars_series_of_ids() -> None:
    ids, matrix, _ = make_blobs_data(600)
    outcome = segment(pl.Series(ids), matrix, COLUMNS, seed=1, config=FAST)
    assert set(outcome.memberships["entity_id"]) == set(ids)


@pytest.mark.parametrize(
    ("ids", "matrix", "message"),
    [
        (["a", "a", "b"], np.zeros((3, 6)), "unique"),
        (["a", "b"], np.zeros((3, 6)), "one row per entity"),
        (["a", "b", "c"], np.full((3, 6), np.nan), "impute"),
    ],
)
def test_rejects_bad_input(
    ids: list[str], matrix: NDArray[np.float64], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        segment(ids, matrix, COLUMNS, seed=0, config=FAST)


def test_rejects_a_rule_on_an_unknown_column() -> None:
    rules = (SegmentRule("x", "no_such_feature", ">", 0.0),)
    with pytest.raises(ValueError, match="unknown feature"):
        run(replace(FAST, rule_levels=(rules,)))


@pytest.mark.parametrize(
    "data",
    [
        {"name": "a", "column": "f0", "op": "~", "value": 1},
        {"name": "A b", "column": "f0", "op": ">", "value": 1},
        {"name": "a", "column": "f0", "op": ">", "value": "1"},
        {"name": "a", "column": "f0", "op": ">", "value": 1, "extra": 2},
    ],
)
def test_rule_from_mapping_rejects_bad_data(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="rule"):
        SegmentRule.from_mapping(data)


# Policy-driven levels: each level clusters its own feature groups, inside
# the segments of the level above; variable selection drops what carries no
# structure; a level without usable features is skipped and says why.

BEHAVIOUR = ["recency_days", "frequency", "monetary_total", "share_channel_app"]
DEMOGRAPHIC = ["gender=female", "gender=male", "age_band=18-24", "age_band=65+"]
NOISE = "share_weekend"  # a uniform random binary planted among the behaviour


def planted_population(
    n: int = 1_600, seed: int = 5
) -> tuple[list[str], NDArray[np.float64], list[str], NDArray[np.int64]]:
    """Four behavioural archetypes; uniform random gender, age band and a coin."""
    rng = np.random.default_rng(seed)
    archetype = rng.integers(0, 4, n)
    centres = np.array(
        [[2.0, 8.0, 900.0, 0.9], [60.0, 2.0, 80.0, 0.1], [10.0, 5.0, 300.0, 0.1],
         [120.0, 1.0, 40.0, 0.8]]
    )  # fmt: skip
    spread = np.array([3.0, 0.8, 40.0, 0.05])
    behaviour = centres[archetype] + rng.normal(0, 1, (n, 4)) * spread
    female = rng.integers(0, 2, n)
    young = rng.integers(0, 2, n)
    demographic = np.column_stack([female, 1 - female, young, 1 - young])
    coin = rng.integers(0, 2, n)
    matrix = np.column_stack([demographic, behaviour, coin]).astype(np.float64)
    columns = [*DEMOGRAPHIC, *BEHAVIOUR, NOISE]
    return [f"p-{i:05d}" for i in range(n)], matrix, columns, archetype


POLICY_FAST = replace(FAST, selection_sample=1_200, selection_permutations=19)


def level_report(result: SegmentationResult, name: str) -> dict[str, object]:
    return next(lv for lv in result.metrics["levels"] if lv["name"] == name)


@pytest.fixture(scope="module")
def policy_run() -> SegmentationResult:
    ids, matrix, columns, _ = planted_population()
    levels = (
        LevelSpec("profile", tuple(DEMOGRAPHIC), groups=("demographic",)),
        LevelSpec("behaviour", (*BEHAVIOUR, NOISE), groups=("rfm", "time")),
        LevelSpec("preferences", (), groups=("category",)),
    )
    config = replace(POLICY_FAST, levels=levels)
    return segment(ids, matrix, columns, seed=7, config=config)


def test_selection_drops_planted_noise_and_keeps_signal(
    policy_run: SegmentationResult,
) -> None:
    behaviour = level_report(policy_run, "behaviour")
    assert behaviour["level"] == 1
    assert behaviour["columns"] == BEHAVIOUR
    (dropped,) = behaviour["dropped"]
    assert dropped["feature"] == NOISE
    assert dropped["reason"].startswith("no more alike")
    assert dropped["score"] > 0.9
    assert dropped["p_value"] > 0.05


def test_uniform_random_demographics_skip_their_level(
    policy_run: SegmentationResult,
) -> None:
    profile = level_report(policy_run, "profile")
    assert profile["level"] is None
    assert "variable selection" in profile["skipped"]
    assert {d["feature"] for d in profile["dropped"]} == {"gender", "age_band"}


def test_skipped_levels_leave_behaviour_to_find_the_archetypes(
    policy_run: SegmentationResult,
) -> None:
    _, _, _, archetype = planted_population()
    assert adjusted_rand_score(archetype, level_one_labels(policy_run)) >= 0.9
    # The behaviour level is the only one that ran: it is level 1.
    assert set(policy_run.memberships["level"]) == {1}


def test_a_level_without_data_is_skipped_and_said(
    policy_run: SegmentationResult,
) -> None:
    preferences = level_report(policy_run, "preferences")
    assert preferences["level"] is None
    assert preferences["skipped"] == "the data holds none of its features"
    assert json.loads(json.dumps(policy_run.metrics)) == policy_run.metrics


def test_every_level_nests_in_the_one_above() -> None:
    # Three cluster levels, all with structure: children nest in parents.
    ids, matrix, columns, _ = planted_population(1_200)
    # A level without data in the middle: the next runs inside the one above.
    levels = (
        LevelSpec("a", ("recency_days", "frequency")),
        LevelSpec("gone", ()),
        LevelSpec("b", ("monetary_total", "share_channel_app")),
        LevelSpec("c", ("recency_days", "monetary_total")),
    )
    config = replace(POLICY_FAST, levels=levels, min_size=30)
    result = segment(ids, matrix, columns, seed=3, config=config)
    members = result.memberships
    assert set(members["level"]) == {1, 2, 3}
    assert level_report(result, "gone")["skipped"] is not None
    assert level_report(result, "b")["level"] == 2
    for depth in (2, 3):
        above = members.filter(pl.col("level") == depth - 1).select(
            "entity_id", pl.col("segment_id").alias("above")
        )
        here = members.filter(pl.col("level") == depth).join(above, on="entity_id")
        assert here.height == members.filter(pl.col("level") == depth).height
        assert (here["parent_id"] == here["above"]).all()


def test_rules_level_applies_inside_the_level_above() -> None:
    ids, matrix, columns, _ = planted_population(800)
    rule = SegmentRule("app", "share_channel_app", ">", 0.5)
    levels = (
        LevelSpec("behaviour", tuple(BEHAVIOUR), select=False),
        LevelSpec("apps", method="rules", rules=(rule,)),
    )
    result = segment(ids, matrix, columns, seed=1, config=replace(FAST, levels=levels))
    twos = result.memberships.filter(pl.col("level") == 2)
    app = {i for i, row in zip(ids, matrix, strict=True) if row[7] > 0.5}
    assert set(twos["entity_id"]) == app
    assert all(sid.endswith(".app") for sid in twos["segment_id"])


def test_policy_levels_map_groups_to_the_columns_at_hand() -> None:
    from gateway.policy.audiences import AudienceLevel, LevelRule

    levels = (
        AudienceLevel(name="profile", features=("demographic", "geographic")),
        AudienceLevel(name="behaviour", features=("rfm", "time")),
    )
    rules = (LevelRule(name="app", feature="share_channel_app", op=">", value=0.5),)
    columns = [*DEMOGRAPHIC, "region=bretagne", *BEHAVIOUR, NOISE]
    specs = policy_levels(levels, rules, columns)
    assert specs[0].columns == (*DEMOGRAPHIC, "region=bretagne")
    assert specs[1].columns == ("recency_days", "frequency", "monetary_total", NOISE)
    assert specs[2].method == "rules"
    assert specs[2].rules[0].column == "share_channel_app"


def test_no_level_with_segments_is_an_error() -> None:
    ids, matrix, columns, _ = planted_population(400)
    levels = (LevelSpec("empty", ()),)
    with pytest.raises(ValueError, match="no level yields"):
        segment(ids, matrix, columns, seed=0, config=replace(FAST, levels=levels))


def test_a_partner_without_demographics_skips_the_profile_level() -> None:
    # No demographics sent: every person is "unknown", the one-hot columns
    # are constant, and the behaviour level runs on the whole population.
    ids, matrix, columns, archetype = planted_population(800)
    matrix = matrix.copy()
    matrix[:, :4] = 0.0
    levels = (
        LevelSpec("profile", tuple(DEMOGRAPHIC)),
        LevelSpec("behaviour", tuple(BEHAVIOUR)),
    )
    config = replace(POLICY_FAST, levels=levels)
    result = segment(ids, matrix, columns, seed=2, config=config)
    profile = level_report(result, "profile")
    assert profile["skipped"] == "every feature is constant or missing"
    assert {d["reason"] for d in profile["dropped"]} == {"constant"}
    assert level_report(result, "behaviour")["level"] == 1
    assert adjusted_rand_score(archetype, level_one_labels(result)) >= 0.9
