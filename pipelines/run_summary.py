"""run_summary: a run's summary, figures only (pure)."""

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from gateway.policy.audiences import Audience
from pipelines.describe import stored_description
from pipelines.holdout import HoldoutSplit
from pipelines.k_floor import FloorReport
from pipelines.linking import Linked
from pipelines.personas import RUN_THEMES, personas
from pipelines.predictive import Scored
from pipelines.quality import QualityReport
from pipelines.run_stages import Drift, Features, RunIdentity, Segmentation
from pipelines.themes import Theme

if TYPE_CHECKING:  # run imports this module, so the config is for types only
    from pipelines.run import RunConfig


def build_summary(
    run_id: str,
    audience: Audience,
    policy_version: str,
    config: "RunConfig",
    started: datetime,
    *,
    counts: dict[str, int],
    quality: dict[str, Any],
    dedupe: dict[str, int | str],
    segmentation: dict[str, Any],
    floor: dict[str, Any],
    segments: int,
) -> dict[str, Any]:
    """Figures only: no id of any person, no segment under the floor."""
    return {
        "run_id": run_id,
        "audience": audience.name,
        "purpose": audience.purpose,
        "generated_at": started.isoformat(),
        "policy_version": policy_version,
        "seed": config.seed,
        "parameters": config.as_dict(),
        "counts": counts,
        "quality": quality,
        "dedupe": dedupe,
        "segmentation": {
            key: value for key, value in segmentation.items() if key != "columns"
        },
        "k_anonymity": floor,
        "segments": segments,
    }


def summarize_run(
    run: RunIdentity,
    policy_version: str,
    config: "RunConfig",
    *,
    read_counts: dict[str, int],
    linked: Linked,
    unmatched: int,
    quality: QualityReport,
    features: Features,
    scored: Scored,
    segmentation: Segmentation,
    split: HoldoutSplit,
    floor: FloorReport,
    members: pl.DataFrame,
    segments: pl.DataFrame,
    drift: Drift,
    themes: dict[str, list[Theme]],
) -> dict[str, Any]:
    """The run's summary: its figures, models and personas, no row of anyone."""
    k_min = run.audience.k_min
    result = segmentation.result
    summary = build_summary(
        run.run_id,
        run.audience,
        policy_version,
        config,
        run.started,
        counts={
            **read_counts,
            "entities": features.table.height,
            "events_without_customer": unmatched,
            "members": members["entity_id"].n_unique(),
            "holdout_members": split.holdout.height,
        },
        quality=quality.with_imputation(features.imputation).as_dict(),
        dedupe=linked.figures,
        segmentation=result.metrics | segmentation.segmented.decision(run.run_id),
        floor={"k_min": k_min, **floor.as_dict()},
        segments=segments.height,
    )
    return summary | {
        "propensity": scored.summary,
        "holdout": split.report,
        "drift": drift.report,
        # What the next run assigns its people with when nothing drifted:
        # projections and centroids of segments of k_min or more, no row.
        "assignment_model": segmentation.segmented.model_to_store(
            segmentation.config, k_min, run.run_id
        ),
        # What the next run measures its drift against: bins of k_min people
        # or more, no row of anyone (pipelines.monitoring).
        "drift_reference": {name: ref.as_dict() for name, ref in drift.profile.items()},
        "themes": {"k_min": k_min, **asdict(RUN_THEMES)},
        "personas": personas(
            segments.select(
                "segment_id", "level", "size", stored_description(segments)
            ),
            themes,
            members,
            scored.scores,
        ),
    }
