"""segment_replay: place people in a stored fit's segments, without refitting (pure).

Cluster levels assign each person to the nearest stored centroid inside
their parent (`pipelines.assignment`); rules levels run afresh, as in
`pipelines.segment`. A stored fit that no longer matches the levels that run
now raises `StaleModelError`, and the caller refits.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from pipelines.assignment import SegmentationModel, assign_level
from pipelines.cluster_models import Floats
from pipelines.segment_config import LevelSpec, RuleScores, SegmentConfig
from pipelines.segment_frames import (
    SegmentationResult,
    check_input,
    memberships_frame,
    segments_frame,
)
from pipelines.segment_levels import Level, run_levels


class StaleModelError(ValueError):
    """A stored segmentation no longer matches the levels that run now."""


def assign_segments(
    entity_ids: Sequence[str] | pl.Series,
    matrix: NDArray[np.floating[Any]],
    columns: Sequence[str],
    model: SegmentationModel,
    config: SegmentConfig | None = None,
    scores: RuleScores | None = None,
) -> SegmentationResult:
    """Place entities in the segments of a stored fit, without refitting.

    Cluster levels assign each person to the nearest stored centroid inside
    their parent (`pipelines.assignment`); rules levels are applied afresh,
    as in `segment`. Segment ids are the fit's; the metrics are the fit's
    model choice with this run's row count and level reports.

    Raises:
        ValueError: As `segment`, or a column of the model is missing.
        StaleModelError: A stored level hangs under another level than now runs
            above it (a rules level skipped at fit runs now, or the reverse).
    """
    cfg = config or SegmentConfig()
    scores = scores or RuleScores()
    ids = check_input(entity_ids, matrix, columns, cfg, scores)
    values = np.asarray(matrix, dtype=np.float64)
    names = list(columns)
    stored = {r.get("name"): r for r in model.metrics.get("levels", [])}

    def assigned(
        spec: LevelSpec,
        above: "Level | None",
        _depth: int,  # the fit's draws depend on it; an assignment draws nothing
    ) -> tuple["Level | None", dict[str, Any], dict[str, Any] | None]:
        return _assigned_level(
            spec, above, values, names, model, stored.get(spec.name, {})
        )

    with threadpool_limits(limits=cfg.n_threads):
        levels, reports, first, _ = run_levels(
            cfg.level_specs(names), values, names, scores, assigned
        )
        if not levels:
            raise StaleModelError("the stored model's levels assign no one")
        metrics = {
            **model.metrics,
            "n_rows": len(ids),
            "columns": names,
            "levels": reports,
        }
        return SegmentationResult(
            memberships_frame(ids, levels), segments_frame(levels, values), metrics
        )


_REPORT_KEYS = frozenset({"name", "title", "method", "groups", "level", "skipped"})


def _assigned_level(
    spec: LevelSpec,
    above: "Level | None",
    values: Floats,
    columns: list[str],
    model: SegmentationModel,
    stored: Mapping[str, Any],
) -> tuple["Level | None", dict[str, Any], dict[str, Any] | None]:
    """A cluster level from the stored fit; None and the reason when skipped."""
    report = {k: v for k, v in stored.items() if k not in _REPORT_KEYS}
    fit = model.levels.get(spec.name)
    if fit is None:
        why = stored.get("skipped") or "no centroid of it held the floor at fit"
        return None, report | {"skipped": why}, None
    parent_ids = {c.parent_id for c in fit.centres}
    # Parents are the fit's segments of the level above, recomputed the same
    # way: none of them found means another level runs above it now.
    if parent_ids.isdisjoint([None] if above is None else above.ids):
        raise StaleModelError(f"level {spec.name!r} hangs under another level now")
    parents = None if above is None else (above.codes, above.ids)
    codes, centres = assign_level(fit, values, columns, parents)
    if not centres:
        return None, report | {"skipped": "no segment above holds a centroid"}, None
    level = Level(
        codes,
        [c.segment_id for c in centres],
        [c.parent_id for c in centres],
        [c.method for c in centres],
        [c.stability for c in centres],
        [c.silhouette for c in centres],
    )
    return level, report, ({} if above is None else None)
