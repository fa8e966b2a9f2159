"""Score-based segments: a rules level on the calibrated propensity (issue 15, 2).

A small population with a planted propensity (loyal app buyers buy again
80 % of the time, casual web buyers 10 %), in two demographic groups that
a cluster level finds; a rules level ``propensity >= 0.75`` below it. Its
segments are checked against the scores the propensity stage produced.
"""

from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from gateway.policy.predictive import SCORE_FEATURE, PropensitySpec
from pipelines.features import build_features, category_shares, numeric_matrix
from pipelines.k_floor import enforce_floor
from pipelines.predictive import (
    FITTED,
    SKIPPED,
    CurrentFeatures,
    Scored,
    rule_scores,
    score_propensity,
)
from pipelines.quality import impute
from pipelines.segment import (
    LevelSpec,
    RuleScores,
    SegmentationResult,
    SegmentConfig,
    SegmentRule,
    segment,
)
from tests.pipelines.rows import LEVELS, customer_row, customers, events
from tests.pipelines.test_propensity import CUTOFF, purchase

AS_OF = CUTOFF + timedelta(days=60)
THRESHOLD = 0.75
LIKELY = SegmentRule("likely_buyers", SCORE_FEATURE, ">=", THRESHOLD)


def _population(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two demographic groups, each half loyal, half casual (planted rates)."""
    rng = np.random.default_rng(11)
    people, rows = [], []
    for i in range(n):
        person = f"p{i:04d}"
        # Age and region agree, so variable selection keeps both.
        older = (i // 2) % 2 == 0
        people.append(
            customer_row(
                person,
                birth_year=1950 if older else 1998,
                postal_prefix="13" if older else "75",
            )
        )
        loyal = i % 2 == 0
        channel, weeks = ("app", range(1, 9)) if loyal else ("web", [6])
        rows += [
            purchase(person, CUTOFF - timedelta(weeks=w), channel=channel)
            for w in weeks
        ]
        buys = rng.random() < (0.8 if loyal else 0.1)
        rows.append(
            purchase(
                person,
                CUTOFF + timedelta(days=5),
                event_type="purchase" if buys else "view",
            )
        )
    return customers(*people), events(*rows)


def _features(
    people: pl.DataFrame, frame: pl.DataFrame
) -> tuple[pl.Series, np.ndarray, list[str]]:
    features, _ = impute(build_features(people, frame, AS_OF, LEVELS))
    matrix, columns = numeric_matrix(features, LEVELS)
    shares, names = category_shares(frame, features["entity_id"], min_entities=10)
    return features["entity_id"], np.hstack([matrix, shares]), [*columns, *names]


def _scored(
    spec: PropensitySpec, n: int = 400
) -> tuple[Scored, pl.Series, np.ndarray, list[str]]:
    people, frame = _population(n)
    ids, matrix, columns = _features(people, frame)
    scored = score_propensity(
        spec,
        people,
        frame,
        CurrentFeatures(ids, matrix, columns),
        as_of=AS_OF,
        levels=LEVELS,
        forbidden=frozenset({"health_interest"}),
        k_min=10,
        seed=3,
    )
    return scored, ids, matrix, columns


def _levels(columns: list[str], *rules_level: LevelSpec) -> SegmentConfig:
    profile = tuple(c for c in columns if c.startswith(("age_band", "region")))
    return SegmentConfig(
        n_bootstrap=0,
        min_size=10,
        # Two planted groups: the level must be free to find two.
        k_range=(2, 4),
        levels=(LevelSpec("profile", profile), *rules_level),
    )


SCORE_LEVEL = LevelSpec("likely_buyers", method="rules", rules=(LIKELY,))


@pytest.fixture(scope="module")
def fitted() -> tuple[Scored, SegmentationResult, pl.Series, np.ndarray, list[str]]:
    scored, ids, matrix, columns = _scored(
        PropensitySpec(target="purchase", horizon_days=30)
    )
    result = segment(
        ids, matrix, columns, 5, _levels(columns, SCORE_LEVEL), rule_scores(scored, ids)
    )
    return scored, result, ids, matrix, columns


def _score_of(scored: Scored) -> dict[str, float]:
    assert scored.scores is not None
    return dict(scored.scores.select("entity_id", SCORE_FEATURE).iter_rows())


def test_the_score_segment_is_exactly_the_parent_members_scored_above(
    fitted: tuple[Scored, SegmentationResult, pl.Series, np.ndarray, list[str]],
) -> None:
    scored, result, *_ = fitted
    assert scored.summary["status"] == FITTED
    score = _score_of(scored)
    members = result.memberships
    parents = members.filter(pl.col("level") == 1)
    children = members.filter(pl.col("level") == 2)
    assert parents["segment_id"].n_unique() == 2
    for parent, group in parents.group_by("segment_id"):
        in_parent = set(group["entity_id"])
        likely = {e for e in in_parent if score[e] >= THRESHOLD}
        # The planted split: some of each parent pass, some do not.
        assert 0 < len(likely) < len(in_parent)
        child = children.filter(pl.col("segment_id") == f"{parent[0]}.likely_buyers")
        assert set(child["entity_id"]) == likely
        assert set(child["parent_id"]) == {parent[0]}
    # Nobody outside a parent, nobody below the threshold.
    assert set(children["entity_id"]) == {
        e for e in parents["entity_id"] if score[e] >= THRESHOLD
    }
    report = result.metrics["levels"][1]
    assert (report["name"], report["level"], report["rules"]) == (
        "likely_buyers",
        2,
        ["likely_buyers"],
    )


def test_the_score_is_no_clustering_feature_and_changes_no_cluster(
    fitted: tuple[Scored, SegmentationResult, pl.Series, np.ndarray, list[str]],
) -> None:
    _, result, ids, matrix, columns = fitted
    assert SCORE_FEATURE not in result.metrics["columns"]
    assert all(len(c) == len(columns) for c in result.segments["centroid"].to_list())
    alone = segment(ids, matrix, columns, 5, _levels(columns))
    level1 = result.memberships.filter(pl.col("level") == 1).drop("parent_id")
    assert alone.memberships.drop("parent_id").equals(level1)


def test_the_floor_suppresses_a_score_segment_under_k_never_merges_it(
    fitted: tuple[Scored, SegmentationResult, pl.Series, np.ndarray, list[str]],
) -> None:
    _, result, *_ = fitted
    sizes = dict(
        result.segments.filter(pl.col("level") == 2)
        .select("segment_id", "size")
        .iter_rows()
    )
    kept, _, _ = enforce_floor(result.memberships, result.segments, min(sizes.values()))
    assert set(kept.filter(pl.col("level") == 2)["segment_id"]) == set(sizes)
    # A floor one above the smallest score segment: it goes, members and all,
    # and no other segment absorbs anyone who failed the rule.
    floor = min(sizes.values()) + 1
    members, segments, report = enforce_floor(
        result.memberships, result.segments, floor
    )
    left = members.filter(pl.col("level") == 2)
    smallest = min(sizes, key=lambda s: sizes[s])
    assert smallest not in set(left["segment_id"])
    assert report.suppressed_segments >= 1
    assert report.merged_segments == 0
    for sid, group in left.group_by("segment_id"):
        assert group.height >= floor
        assert set(group["entity_id"]) == set(
            result.memberships.filter(pl.col("segment_id") == sid[0])["entity_id"]
        )


def test_a_skipped_propensity_skips_the_level_with_the_reason() -> None:
    spec = PropensitySpec(target="purchase", horizon_days=30, min_positives=500)
    scored, ids, matrix, columns = _scored(spec)
    assert scored.summary["status"] == SKIPPED
    scores = rule_scores(scored, ids)
    assert SCORE_FEATURE in scores.missing
    result = segment(ids, matrix, columns, 5, _levels(columns, SCORE_LEVEL), scores)
    report = result.metrics["levels"][1]
    assert report["level"] is None
    assert report["skipped"].startswith(
        "its rules test 'propensity', which this run could not compute "
        "(propensity skipped:"
    )
    assert "min_positives" in report["skipped"]
    assert set(result.memberships["level"]) == {1}


def test_scores_are_checked_before_any_segmentation() -> None:
    people, frame = _population(40)
    ids, matrix, columns = _features(people, frame)
    cfg = _levels(columns, SCORE_LEVEL)
    with pytest.raises(ValueError, match="unknown feature columns"):
        segment(ids, matrix, columns, 5, cfg)
    with pytest.raises(ValueError, match="one finite value per entity"):
        segment(ids, matrix, columns, 5, cfg, RuleScores({SCORE_FEATURE: np.ones(3)}))
    nan = np.full(len(ids), np.nan)
    with pytest.raises(ValueError, match="one finite value per entity"):
        segment(ids, matrix, columns, 5, cfg, RuleScores({SCORE_FEATURE: nan}))
    with pytest.raises(ValueError, match="share its name"):
        segment(
            ids, matrix, columns, 5, cfg, RuleScores({columns[0]: np.ones(len(ids))})
        )


def test_a_score_level_alone_cuts_the_whole_audience_and_levels_below_nest() -> None:
    scored, ids, matrix, columns = _scored(
        PropensitySpec(target="purchase", horizon_days=30)
    )
    score = _score_of(scored)
    likely = {e for e in ids if score[e] >= THRESHOLD}
    profile = tuple(c for c in columns if c.startswith(("age_band", "region")))
    config = SegmentConfig(n_bootstrap=0, min_size=10, k_range=(2, 4))
    alone = segment(
        ids,
        matrix,
        columns,
        5,
        replace(config, levels=(SCORE_LEVEL,)),
        rule_scores(scored, ids),
    )
    assert alone.segments.select("segment_id", "level", "parent_id").rows() == [
        ("likely_buyers", 1, None)
    ]
    assert set(alone.memberships["entity_id"]) == likely
    # A cluster level under it clusters inside the score segment only.
    nested = segment(
        ids,
        matrix,
        columns,
        5,
        replace(config, levels=(SCORE_LEVEL, LevelSpec("profile", profile))),
        rule_scores(scored, ids),
    )
    below = nested.memberships.filter(pl.col("level") == 2)
    assert set(below["parent_id"]) == {"likely_buyers"}
    assert set(below["entity_id"]) == likely
    assert below["segment_id"].n_unique() >= 2
