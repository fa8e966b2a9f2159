"""monitoring: how a run's population compares with the audience's previous run.

Each run stores its feature reference profile (`pipelines.drift`: quantile
edges and shares per feature, bins of at least `k_min` people, no row of
anyone) in its summary under ``drift_reference``; the summary already lives
with the run in the database, so no table is added. The next run measures
its features against it, and its segment sizes per level against the
previous run's stored segments, and says whether it drifted under the
audience policy's thresholds.

Feature drift is measured before the segmentation (`feature_drift`): a
run whose features did not drift, under an unchanged level policy, assigns
people with the previous run's stored segmentation
(`pipelines.assignment`, summary ``segmentation.mode``); a drifted run
refits it. The propensity model is refitted on every run. Segment sizes can
only be measured after the segmentation: when they drift, the run is
flagged and the next run refits.

`read_previous` is the one edge (a read of the last finished run); the rest
is pure.
"""

from dataclasses import dataclass, replace
from typing import Any

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from gateway.policy.predictive import DriftSpec
from gateway.storage import segments_repo
from gateway.storage.db import transaction
from pipelines.drift import (
    DriftReport,
    DriftThresholds,
    FeatureReference,
    assess_drift,
    reference_profile,
    segment_size_psi,
)
from pipelines.frames import Levels

REFIT = (
    "the segmentation is refitted when a feature drifted (or segment sizes "
    "did in the previous run), and otherwise assigns people with the previous "
    "run's model; the propensity model is refitted on every run"
)
COMPARED = "compared with the previous run"
NO_PREVIOUS = "no previous run"
NO_REFERENCE = "the previous run kept no reference profile"
_SEGMENT_COLUMNS = {"segment_id": pl.String, "level": pl.Int64, "size": pl.Int64}


@dataclass(frozen=True)
class PreviousRun:
    """What the audience's last finished run left for drift measurement.

    Attributes:
        run_id: Its id.
        reference: Its feature reference profile, None when it kept none.
        segments: ``segment_id`` (label), ``level``, ``size`` of its segments.
        assignment: Its stored segmentation model, as JSON
            (`pipelines.assignment.read_model`), None when it kept none.
        drifted_levels: Levels whose segment sizes it found drifted.
    """

    run_id: str
    reference: dict[str, FeatureReference] | None
    segments: pl.DataFrame
    assignment: dict[str, Any] | None = None
    drifted_levels: tuple[int, ...] = ()


def read_previous(sessions: sessionmaker[Session], audience: str) -> PreviousRun | None:
    """Read the audience's last finished run, or None when it has none."""
    with transaction(sessions) as session:
        last = segments_repo.latest_run(session, audience)
        if last is None:
            return None
        rows = [
            (s.label, s.level, s.size)
            for s in segments_repo.segments_of(session, last.id)
        ]
        summary = last.summary or {}
        stored = summary.get("drift_reference")
        model = summary.get("assignment_model")
        drift = summary.get("drift")
        run_id = last.id
    reference = (
        {name: FeatureReference.from_dict(data) for name, data in stored.items()}
        if isinstance(stored, dict)
        else None
    )
    segments = pl.DataFrame(rows, schema=_SEGMENT_COLUMNS, orient="row")
    levels = drift.get("drifted_levels") if isinstance(drift, dict) else None
    return PreviousRun(
        run_id,
        reference,
        segments,
        model if isinstance(model, dict) else None,
        tuple(int(level) for level in levels or ()),
    )


def feature_profile(
    features: pl.DataFrame, levels: Levels, k_min: int
) -> dict[str, FeatureReference]:
    """This run's reference profile of its (imputed) feature frame."""
    categorical = [c for c in levels.categorical() if c in features.columns]
    numeric = [c for c in features.columns if c not in {"entity_id", *categorical}]
    return reference_profile(features, numeric, categorical, min_members=k_min)


def feature_drift(
    previous: PreviousRun | None, features: pl.DataFrame, spec: DriftSpec
) -> DriftReport | None:
    """PSI of every feature the previous run's reference holds; None without one.

    Measured before the segmentation, which it decides (refit or assign).
    """
    if previous is None or previous.reference is None:
        return None
    return _measure(previous.reference, features, spec)


def _measure(
    reference: dict[str, FeatureReference], features: pl.DataFrame, spec: DriftSpec
) -> DriftReport:
    shared = {name: ref for name, ref in reference.items() if name in features}
    return assess_drift(
        shared, features, DriftThresholds(spec.feature_psi, spec.segment_psi)
    )


def drift_report(
    previous: PreviousRun | None,
    features: pl.DataFrame,
    segments: pl.DataFrame,
    spec: DriftSpec,
    measured: DriftReport | None = None,
) -> dict[str, Any]:
    """Measure this run against the previous one, for ``summary["drift"]``.

    Args:
        previous: The audience's previous run, or None.
        features: This run's feature frame (every feature of the reference).
        segments: This run's campaign segments after the floor:
            ``segment_id``, ``level``, ``size`` (level 0, the holdout, is
            left out: a level of one segment has no size distribution).
        spec: The audience policy's thresholds.
        measured: `feature_drift` of the same run, if already measured.

    Returns:
        ``status``, ``drifted`` and, when compared, the PSI per feature and
        per level, what crossed its threshold and the previous run's id.
    """
    base = {
        "drifted": False,
        "thresholds": {"feature": spec.feature_psi, "segment": spec.segment_psi},
        "refit": REFIT,
    }
    if previous is None:
        return {"status": NO_PREVIOUS, **base}
    if previous.reference is None:
        return {"status": NO_REFERENCE, "previous_run_id": previous.run_id, **base}
    measured = measured or _measure(previous.reference, features, spec)
    campaign = [
        frame.select(_SEGMENT_COLUMNS.keys())
        .cast(_SEGMENT_COLUMNS)
        .filter(pl.col("level") > 0)
        for frame in (previous.segments, segments)
    ]
    by_level = segment_size_psi(campaign[0], campaign[1])
    report = replace(
        measured,
        segment_psi=by_level,
        drifted_levels=tuple(
            level for level, v in by_level.items() if v >= spec.segment_psi
        ),
    )
    new = sorted(set(features.columns) - {"entity_id"} - set(previous.reference))
    return {
        **base,
        "status": COMPARED,
        "previous_run_id": previous.run_id,
        **report.as_dict(),
        "features_not_in_reference": new,
    }
