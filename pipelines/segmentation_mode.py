"""segmentation_mode: assign with the previous run's model, or refit.

With no drifted feature, an unchanged level policy and a stored model that
still fits, this run's people are placed in the previous run's segments
(`pipelines.segment_replay`); otherwise the segmentation is fitted afresh.
The outcome says which, why, and the model the next run may assign with.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from pipelines.assignment import (
    ASSIGNED,
    REFIT,
    SegmentationModel,
    read_model,
    refit_reason,
    stored_model,
)
from pipelines.monitoring import PreviousRun
from pipelines.segment import segment
from pipelines.segment_config import RuleScores, SegmentConfig
from pipelines.segment_frames import SegmentationResult
from pipelines.segment_replay import StaleModelError, assign_segments


@dataclass(frozen=True)
class SegmentInput:
    """What either way of segmenting reads."""

    entity_ids: pl.Series
    matrix: np.ndarray
    columns: list[str]
    seed: int
    scores: RuleScores


@dataclass(frozen=True)
class Segmented:
    """The segmentation, how it was made, and the model it was made with."""

    result: SegmentationResult
    mode: str  # ASSIGNED or REFIT
    refit_reason: str | None
    previous: SegmentationModel | None  # the model assigned with, if any

    def decision(self, run_id: str) -> dict[str, Any]:
        """The summary's ``segmentation`` keys saying how it was made."""
        fitted = run_id if self.previous is None else self.previous.fitted_run_id
        return {
            "mode": self.mode,
            "refit_reason": self.refit_reason,
            "model_fitted_in_run": fitted,
        }

    def model_to_store(
        self, cfg: SegmentConfig, k_min: int, run_id: str
    ) -> dict[str, Any]:
        """The model the next run may assign with, as JSON."""
        if self.previous is not None:
            return self.previous.as_dict()
        model = stored_model(
            self.result.fits,
            self.result.metrics,
            definition=cfg.definition(),
            floor=k_min,
            run_id=run_id,
        )
        return model.as_dict()


def segment_or_assign(
    cfg: SegmentConfig,
    data: SegmentInput,
    previous: PreviousRun | None,
    drifted: tuple[str, ...],
) -> Segmented:
    """Assign with the previous run's model when nothing calls for a refit.

    Only the segmentation is reused: the propensity model has been refitted
    by then, and rules levels and scores are recomputed either way.
    """
    model = read_model(previous.assignment) if previous is not None else None
    reason = refit_reason(
        model,
        cfg.definition(),
        data.columns,
        drifted,
        previous.drifted_levels if previous is not None else (),
    )
    if reason is None and model is not None:
        try:
            result = assign_segments(
                data.entity_ids, data.matrix, data.columns, model, cfg, data.scores
            )
        except StaleModelError as exc:
            reason = f"the stored model no longer fits: {exc}"
        else:
            return Segmented(result, ASSIGNED, None, model)
    result = segment(
        data.entity_ids, data.matrix, data.columns, data.seed, cfg, data.scores
    )
    return Segmented(result, REFIT, reason, None)
