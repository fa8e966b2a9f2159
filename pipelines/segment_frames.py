"""segment_frames: a segmentation's input checks and output frames (pure).

The entity ids, feature matrix and scores are checked before any level runs;
the levels' codes become the memberships and segments frames of a
`SegmentationResult`, centroids in the standard-scaled feature space.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.preprocessing import StandardScaler

from pipelines.assignment import LevelModel
from pipelines.cluster_models import Floats, group_means
from pipelines.segment_config import RuleScores, SegmentConfig
from pipelines.segment_levels import Level


@dataclass(frozen=True)
class SegmentationResult:
    """Memberships, segments and metrics of one segmentation.

    Attributes:
        memberships: ``entity_id``, ``segment_id``, ``level``, ``parent_id``:
            one row per entity and level at which it has a segment.
        segments: ``segment_id``, ``level``, ``parent_id``, ``size``,
            ``centroid`` (list of z-scores, in the order of
            ``metrics["columns"]``), ``method``, ``stability``, ``silhouette``.
        metrics: Model choice, candidates, PCA, scores and stability of the
            first clustered level; ``level2``, the splits of the next one;
            ``levels``, one report per configured level (its output level or
            why it was skipped, the columns used, the variables dropped with
            their Laplacian score and p-value); JSON-ready.
        fits: Policy level name -> the fitted cluster level, what a later
            run assigns people with (`pipelines.assignment`); empty for a
            segmentation that was assigned rather than fitted.
    """

    memberships: pl.DataFrame
    segments: pl.DataFrame
    metrics: dict[str, Any]
    fits: Mapping[str, LevelModel] = field(default_factory=dict)


def check_input(
    entity_ids: Sequence[str] | pl.Series,
    matrix: NDArray[np.floating[Any]],
    columns: Sequence[str],
    cfg: SegmentConfig,
    scores: RuleScores,
) -> pl.Series:
    """Check the input can be segmented; return the entity ids as a series.

    Raises:
        ValueError: As `pipelines.segment.segment` lists them for its input.
    """
    ids = pl.Series("entity_id", entity_ids, dtype=pl.String, strict=False)
    if matrix.ndim != 2 or matrix.shape != (len(ids), len(columns)):
        raise ValueError("matrix must have one row per entity, one column per name")
    if ids.null_count() or ids.n_unique() != len(ids):
        raise ValueError("entity ids must be unique and non-null")
    if not np.isfinite(matrix).all():
        raise ValueError("matrix holds NaN or infinite values; impute first")
    named = [*scores.values, *scores.missing]
    if set(named) & set(columns):
        raise ValueError("a score cannot share its name with a feature column")
    for name, score in scores.values.items():
        row = np.asarray(score, dtype=np.float64)
        if row.shape != (len(ids),) or not np.isfinite(row).all():
            raise ValueError(f"score {name!r} needs one finite value per entity")
    known = {*columns, *named}
    rule_sets = [*cfg.rule_levels, *(spec.rules for spec in cfg.levels)]
    for rules in rule_sets:
        unknown = sorted({rule.name for rule in rules if rule.column not in known})
        if unknown:
            raise ValueError(f"rules {unknown} name unknown feature columns")
    return ids


def memberships_frame(ids: pl.Series, levels: list[Level]) -> pl.DataFrame:
    """One row per entity and level at which it has a segment."""
    parts = []
    for number, level in enumerate(levels, start=1):
        rows = np.flatnonzero(level.codes >= 0)
        codes = level.codes[rows]
        parts.append(
            pl.DataFrame(
                {
                    "entity_id": ids.gather(rows),
                    "segment_id": pl.Series(level.ids, dtype=pl.String).gather(codes),
                    "level": pl.repeat(number, len(rows), dtype=pl.Int64, eager=True),
                    "parent_id": pl.Series(level.parents, dtype=pl.String).gather(
                        codes
                    ),
                }
            )
        )
    return pl.concat(parts)


def segments_frame(levels: list[Level], values: Floats) -> pl.DataFrame:
    """One row per segment of every level, largest first within a level."""
    # The scaler, and so every centroid, sees the feature columns only.
    scaler = StandardScaler().fit(values)
    frames = []
    for number, level in enumerate(levels, start=1):
        k = len(level.ids)
        if k == 0:
            continue
        # Rows without a segment here get label k, which group_means leaves out.
        labels = np.where(level.codes >= 0, level.codes, k)
        centroids = scaler.transform(group_means(values, labels, k))
        frames.append(
            pl.DataFrame(
                {
                    "segment_id": level.ids,
                    "level": [number] * k,
                    "parent_id": level.parents,
                    "size": np.bincount(labels, minlength=k + 1)[:k],
                    "centroid": centroids.tolist(),
                    "method": level.method,
                    "stability": level.stability,
                    "silhouette": level.silhouette,
                },
                schema_overrides={
                    "level": pl.Int64,
                    "parent_id": pl.String,
                    "size": pl.Int64,
                    "centroid": pl.List(pl.Float64),
                    "stability": pl.Float64,
                    "silhouette": pl.Float64,
                },
            )
        )
    frame = pl.concat(frames)
    return frame.sort(["level", "size", "segment_id"], descending=[False, True, False])
