"""monitoring: how a run's population compares with the audience's previous run.

Each run stores its feature reference profile (`pipelines.drift`: quantile
edges and shares per feature, bins of at least `k_min` people, no row of
anyone) in its summary under ``drift_reference``; the summary already lives
with the run in the database, so no table is added. The next run measures
its features against it, and its segment sizes per level against the
previous run's stored segments, and says whether it drifted under the
audience policy's thresholds.

Every model of a run (the segmentation, the propensity model) is fitted
afresh on every run, drifted or not, so a drift flag calls for no extra
refit: it tells whoever reads the run that the previous run's segments,
descriptions and scores no longer describe the population.

`read_previous` is the one edge (a read of the last finished run); the rest
is pure.
"""

from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from gateway.policy.predictive import DriftSpec
from gateway.storage import segments_repo
from gateway.storage.db import transaction
from pipelines.drift import (
    DriftThresholds,
    FeatureReference,
    assess_drift,
    reference_profile,
)
from pipelines.frames import Levels

REFIT = (
    "every model of the run (segmentation and propensity) is refitted on "
    "every run, drifted or not"
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
    """

    run_id: str
    reference: dict[str, FeatureReference] | None
    segments: pl.DataFrame


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
        stored = (last.summary or {}).get("drift_reference")
        run_id = last.id
    reference = (
        {name: FeatureReference.from_dict(data) for name, data in stored.items()}
        if isinstance(stored, dict)
        else None
    )
    segments = pl.DataFrame(rows, schema=_SEGMENT_COLUMNS, orient="row")
    return PreviousRun(run_id, reference, segments)


def feature_profile(
    features: pl.DataFrame, levels: Levels, k_min: int
) -> dict[str, FeatureReference]:
    """This run's reference profile of its (imputed) feature frame."""
    categorical = [c for c in levels.categorical() if c in features.columns]
    numeric = [c for c in features.columns if c not in {"entity_id", *categorical}]
    return reference_profile(features, numeric, categorical, min_members=k_min)


def drift_report(
    previous: PreviousRun | None,
    features: pl.DataFrame,
    segments: pl.DataFrame,
    spec: DriftSpec,
) -> dict[str, Any]:
    """Measure this run against the previous one, for ``summary["drift"]``.

    Args:
        previous: The audience's previous run, or None.
        features: This run's feature frame (every feature of the reference).
        segments: This run's campaign segments after the floor:
            ``segment_id``, ``level``, ``size`` (level 0, the holdout, is
            left out: a level of one segment has no size distribution).
        spec: The audience policy's thresholds.

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
    shared = {name: ref for name, ref in previous.reference.items() if name in features}
    campaign = [
        frame.select(_SEGMENT_COLUMNS.keys())
        .cast(_SEGMENT_COLUMNS)
        .filter(pl.col("level") > 0)
        for frame in (previous.segments, segments)
    ]
    report = assess_drift(
        shared,
        features,
        DriftThresholds(spec.feature_psi, spec.segment_psi),
        (campaign[0], campaign[1]),
    )
    new = sorted(set(features.columns) - {"entity_id"} - set(previous.reference))
    return {
        **base,
        "status": COMPARED,
        "previous_run_id": previous.run_id,
        **report.as_dict(),
        "features_not_in_reference": new,
    }
