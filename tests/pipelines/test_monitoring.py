"""monitoring: a run measured against the previous run's stored reference."""

import json

import numpy as np
import polars as pl

from gateway.policy.predictive import DriftSpec
from pipelines.drift import FeatureReference
from pipelines.monitoring import (
    COMPARED,
    NO_PREVIOUS,
    NO_REFERENCE,
    PreviousRun,
    drift_report,
    feature_drift,
    feature_profile,
)
from tests.pipelines.rows import LEVELS

SPEC = DriftSpec()


def features(n: int, seed: int, shift: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "entity_id": [f"e{i:05d}" for i in range(n)],
            "age_band": rng.choice(["18-24", "25-34", "35-44"], n).tolist(),
            "recency_days": rng.exponential(30.0, n) + shift,
            "frequency": rng.poisson(3.0, n).astype(np.uint32),
        }
    )


def segments(sizes: dict[str, int], level: int = 1) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "segment_id": list(sizes),
            "level": [level] * len(sizes),
            "size": list(sizes.values()),
        }
    )


def stored(frame: pl.DataFrame, segs: pl.DataFrame) -> PreviousRun:
    """A previous run as the next run reads it back: through JSON."""
    profile = feature_profile(frame, LEVELS, k_min=20)
    data = json.loads(json.dumps({n: r.as_dict() for n, r in profile.items()}))
    reference = {n: FeatureReference.from_dict(r) for n, r in data.items()}
    return PreviousRun("run-1", reference, segs)


def test_the_profile_covers_every_feature_in_bins_of_the_floor() -> None:
    frame = features(2000, 1)
    profile = feature_profile(frame, LEVELS, k_min=300)
    assert set(profile) == {"age_band", "recency_days", "frequency"}
    assert profile["age_band"].kind == "categorical"
    # 2000 people in bins of 300 or more: six bins at most, plus missing.
    assert len(profile["recency_days"].shares) <= 7


def test_a_first_run_and_a_run_after_one_without_reference() -> None:
    frame, segs = features(500, 1), segments({"L1-01": 500})
    assert drift_report(None, frame, segs, SPEC)["status"] == NO_PREVIOUS
    bare = PreviousRun("run-0", None, segs)
    report = drift_report(bare, frame, segs, SPEC)
    assert (report["status"], report["drifted"]) == (NO_REFERENCE, False)


def test_the_same_population_does_not_drift() -> None:
    frame = features(3000, 1)
    segs = pl.concat(
        [segments({"L1-01": 2000, "L1-02": 1000}), segments({"holdout": 300}, 0)]
    )
    report = drift_report(stored(frame, segs), frame, segs, SPEC)
    assert report["status"] == COMPARED
    assert report["previous_run_id"] == "run-1"
    assert set(report["feature_psi"].values()) == {0.0}
    # The holdout (level 0) is no size distribution: only level 1 is measured.
    assert report["segment_psi"] == {"1": 0.0}
    assert not report["drifted"]


def test_a_shifted_feature_and_reshuffled_sizes_drift() -> None:
    before = features(3000, 1)
    after = features(3000, 2, shift=40.0)
    report = drift_report(
        stored(before, segments({"L1-01": 2000, "L1-02": 1000})),
        after,
        segments({"L1-01": 600, "L1-02": 2400}),
        SPEC,
    )
    assert report["drifted"]
    assert list(report["drifted_features"]) == ["recency_days"]
    assert list(report["drifted_levels"]) == [1]
    assert report["feature_psi"]["frequency"] < 0.05


def test_feature_drift_measured_before_segmenting_is_the_reports() -> None:
    before, after = features(3000, 1), features(3000, 2, shift=40.0)
    segs = segments({"L1-01": 2000, "L1-02": 1000})
    previous = stored(before, segs)
    measured = feature_drift(previous, after, SPEC)
    assert measured is not None
    assert measured.drifted_features == ("recency_days",)
    assert feature_drift(None, after, SPEC) is None
    report = drift_report(previous, after, segs, SPEC, measured)
    assert report == drift_report(previous, after, segs, SPEC)
