"""segment: cluster entities into multi-level audience segments (pure).

Features are standard-scaled, then projected on the principal components that
explain at least `variance_target` of the variance (80 % by default), which
drops noise directions and the redundancy of shares that sum to one before
any distance is measured.

At each level a model and k are chosen on a random sample among k-means, Ward
and HDBSCAN (`pipelines.cluster_models`), every row goes to the nearest chosen
centroid, and the choice is refitted on bootstrap resamples to measure its
stability (`pipelines.stability`).

Levels are given as data (`LevelSpec`, from the audience policy): each names
the feature columns it clusters on, or the rules it applies. The first level
that yields segments clusters the whole population (k in `k_range`); each
cluster level below repeats the selection inside each segment of the level
above (k in `sub_k_range`) on that segment's rows only, on its own features,
so a member is in its parent by construction. A rules level applies its rules
inside each segment of the level above, first matching rule wins; as the
first level, to the whole population (a score segment alone).

A rule may also test a score (`RuleScores`: the calibrated propensity,
``propensity >= 0.75``). A score is no feature: no cluster level sees it, no
centroid holds it, so no description or profile can show it. A score the run
could not compute skips the rules level that tests it, with the reason.

Within a cluster level, constant columns and features that share no
structure with the level's other features (`pipelines.variable_selection`)
are dropped before scaling. A level left with no feature, or with no
eligible clustering, is skipped: it produces no segments and the levels
below run inside the segments of the level above it. Output levels are
numbered by depth among the levels that ran (1, 2, ...); `metrics["levels"]`
says which policy level each is, and why any was skipped.

Without `levels`, the configuration is the historical one: every column at
level 1, every column again inside each level-1 segment, then `rule_levels`,
with no variable selection.

Every random draw comes from `seed`: the same input and seed give the same
output. Ids are "L1-01", "L1-01.2" (numbered by size, largest first) and
"L1-01.2.app_heavy" for rule segments. Centroids are in the standard-scaled
feature space (each coordinate is the z-score of the segment mean), where the
k-anonymity floor measures distances and which `pipelines.describe` reads.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from pipelines.assignment import LevelModel
from pipelines.cluster_levels import cluster_level
from pipelines.cluster_models import MODELS, SELECTION_RULE, Floats
from pipelines.segment_config import (
    LevelSpec,
    RuleScores,
    SegmentConfig,
    SegmentRule,
    policy_levels,
)
from pipelines.segment_frames import (
    SegmentationResult,
    check_input,
    memberships_frame,
    segments_frame,
)
from pipelines.segment_levels import Level, run_levels
from pipelines.segment_replay import StaleModelError, assign_segments

# Where callers have always imported them from.
__all__ = [
    "MODELS",
    "LevelSpec",
    "RuleScores",
    "SegmentConfig",
    "SegmentRule",
    "SegmentationResult",
    "StaleModelError",
    "assign_segments",
    "policy_levels",
    "segment",
]


def segment(
    entity_ids: Sequence[str] | pl.Series,
    matrix: NDArray[np.floating[Any]],
    columns: Sequence[str],
    seed: int,
    config: SegmentConfig | None = None,
    scores: RuleScores | None = None,
) -> SegmentationResult:
    """Cluster entities into nested levels of segments (`SegmentConfig.levels`).

    Args:
        entity_ids: One id per row of `matrix`, unique.
        matrix: Imputed features, shape ``(n, len(columns))``.
        columns: The feature names, in matrix column order.
        seed: Seed of every random draw.
        config: Parameters; the defaults when omitted.
        scores: Scores rule levels may test besides `columns`; none when
            omitted.

    Returns:
        The memberships, segments and metrics.

    Raises:
        ValueError: Inconsistent shapes, duplicate ids, non-finite values, an
            unknown rule or level column, a score of the wrong length, non-finite
            or named like a column, or no level yields segments.
    """
    cfg = config or SegmentConfig()
    scores = scores or RuleScores()
    ids = check_input(entity_ids, matrix, columns, cfg, scores)
    with threadpool_limits(limits=cfg.n_threads):
        return _segment(
            ids, np.asarray(matrix, dtype=np.float64), list(columns), seed, cfg, scores
        )


def _segment(
    ids: pl.Series,
    values: Floats,
    columns: list[str],
    seed: int,
    cfg: SegmentConfig,
    scores: RuleScores,
) -> SegmentationResult:
    fits: dict[str, LevelModel] = {}

    def fitted(
        spec: LevelSpec, above: "Level | None", depth: int
    ) -> tuple["Level | None", dict[str, Any], dict[str, Any] | None]:
        level, report, found, fit = cluster_level(
            spec, above, values, columns, seed, depth, cfg
        )
        if fit is not None:
            fits[spec.name] = fit
        return level, report, found

    levels, reports, first, splits = run_levels(
        cfg.level_specs(columns), values, columns, scores, fitted
    )
    if not levels:
        reasons = "; ".join(
            f"{r['name']}: {r['skipped']}" for r in reports if "skipped" in r
        )
        raise ValueError(f"no level yields segments ({reasons})")
    metrics = {
        "n_rows": len(ids),
        "columns": columns,
        "seed": seed,
        "scaling": "standard",
        "variance_target": cfg.variance_target,
        "selection_rule": SELECTION_RULE,
        "sample_size": min(len(ids), cfg.sample_size),
        "n_bootstrap": cfg.n_bootstrap,
        # The first cluster level's choice (model, k, quality), when a
        # cluster level runs first; a score segment alone has none.
        **(first or {}),
        "level2": splits or {},
        "levels": reports,
    }
    return SegmentationResult(
        memberships_frame(ids, levels), segments_frame(levels, values), metrics, fits
    )
