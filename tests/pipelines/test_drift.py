"""drift: PSI is 0 on identical distributions and grows with a shift."""

import json
import math

import numpy as np
import polars as pl
import pytest

from pipelines.drift import (
    EPSILON,
    DriftThresholds,
    FeatureReference,
    assess_drift,
    categorical_reference,
    feature_psi,
    numeric_reference,
    population_stability_index,
    reference_profile,
    segment_size_psi,
)

THRESHOLDS = DriftThresholds(feature=0.25, segment=0.25)


def segments(sizes: dict[str, tuple[int, int]]) -> pl.DataFrame:
    """Segments frame from ``{segment_id: (level, size)}``."""
    return pl.DataFrame(
        {
            "segment_id": list(sizes),
            "level": [level for level, _ in sizes.values()],
            "size": [size for _, size in sizes.values()],
        },
        schema={"segment_id": pl.String, "level": pl.Int64, "size": pl.Int64},
    )


def test_psi_of_two_share_vectors_is_the_textbook_sum() -> None:
    expected = 0.25 * math.log(0.25 / 0.5) * -1 + 0.25 * math.log(0.75 / 0.5)
    assert population_stability_index([0.5, 0.5], [0.25, 0.75]) == pytest.approx(
        expected
    )


def test_an_empty_bin_counts_as_epsilon() -> None:
    psi = population_stability_index([1.0, 0.0], [0.5, 0.5])
    expected = (0.5 - 1.0) * math.log(0.5) + (0.5 - EPSILON) * math.log(0.5 / EPSILON)
    assert psi == pytest.approx(expected)


def test_identical_distributions_have_zero_psi() -> None:
    rng = np.random.default_rng(0)
    numbers = pl.Series(rng.exponential(30, 5000)).extend_constant(None, 50)
    levels = pl.Series(rng.choice(["app", "web", "store"], 5000)).extend_constant(
        None, 20
    )
    assert feature_psi(numeric_reference(numbers), numbers) == 0.0
    # The same distribution in another order and with other rows duplicated.
    assert feature_psi(numeric_reference(numbers), numbers.shuffle(1)) == 0.0
    assert feature_psi(categorical_reference(levels), levels) == 0.0
    sizes = segments({"A": (1, 600), "B": (1, 400), "A.1": (2, 250)})
    assert segment_size_psi(sizes, sizes) == {1: 0.0, 2: 0.0}


def test_psi_grows_with_the_shift() -> None:
    rng = np.random.default_rng(1)
    reference = numeric_reference(pl.Series(rng.normal(size=20000)))
    psi = [
        feature_psi(reference, pl.Series(rng.normal(shift, size=20000)))
        for shift in (0.0, 0.25, 0.5, 1.0)
    ]
    assert psi[0] < 0.01  # a fresh sample of the same distribution
    assert psi == sorted(psi)
    assert psi[3] > 0.25


def test_numeric_bins_are_the_reference_quantiles() -> None:
    reference = numeric_reference(pl.Series([float(v) for v in range(1, 11)]), 5)
    assert reference.edges == pytest.approx((2.8, 4.6, 6.4, 8.2))
    # Five bins of two values each, then the (empty) missing bin.
    assert reference.shares == pytest.approx((0.2, 0.2, 0.2, 0.2, 0.2, 0.0))


def test_repeated_quantiles_merge_into_fewer_bins() -> None:
    mostly_zero = pl.Series([0.0] * 90 + [1.0, 2.0, 3.0, 4.0, 5.0] * 2)
    reference = numeric_reference(mostly_zero)
    assert reference.edges[0] == 0.0
    assert len(reference.edges) < 9
    assert reference.shares[0] == pytest.approx(0.9)


def test_missing_values_and_unseen_levels_have_their_own_bins() -> None:
    reference = categorical_reference(pl.Series(["a", "b", "a", None]))
    assert reference.levels == ("a", "b")
    assert reference.shares == pytest.approx((0.5, 0.25, 0.0, 0.25))
    unseen = feature_psi(reference, pl.Series(["a", "b", "a", "zzz"]))
    # The missing share went to the unseen bin: two empty-bin terms.
    expected = population_stability_index([0.5, 0.25, 0.0, 0.25], [0.5, 0.25, 0.25, 0])
    assert unseen == pytest.approx(expected)
    assert unseen > 0.25


def test_a_segment_that_appears_or_grows_shifts_its_level_only() -> None:
    before = segments({"A": (1, 500), "B": (1, 500), "A.1": (2, 300)})
    after = segments({"A": (1, 500), "B": (1, 500), "A.1": (2, 200), "A.2": (2, 100)})
    psi = segment_size_psi(before, after)
    assert psi[1] == 0.0
    assert psi[2] > 1.0


def test_assess_drift_flags_what_crosses_the_thresholds() -> None:
    rng = np.random.default_rng(2)
    then = pl.DataFrame(
        {
            "recency_days": rng.exponential(30, 4000),
            "frequency": rng.poisson(3, 4000).astype(float),
            "channel": rng.choice(["app", "web"], 4000),
        }
    )
    now = then.with_columns(pl.col("recency_days") * 2)
    profile = reference_profile(then, ["recency_days", "frequency"], ["channel"])
    sizes = segments({"A": (1, 500), "B": (1, 500)})
    report = assess_drift(profile, now, THRESHOLDS, (sizes, sizes))
    assert report.drifted_features == ("recency_days",)
    assert report.feature_psi["frequency"] == 0.0
    assert report.feature_psi["channel"] == 0.0
    assert report.drifted_levels == ()
    assert report.drifted
    steady = assess_drift(profile, then, THRESHOLDS, (sizes, sizes))
    assert not steady.drifted


def test_a_reference_survives_a_json_round_trip() -> None:
    values = pl.Series([1.0, 2.0, 2.0, 5.0, None])
    reference = numeric_reference(values, 4)
    stored = json.loads(json.dumps(reference.as_dict()))
    assert FeatureReference.from_dict(stored) == reference
    report = assess_drift({"x": reference}, pl.DataFrame({"x": values}), THRESHOLDS)
    assert json.loads(json.dumps(report.as_dict()))["drifted"] is False


def test_refuses_bins_that_do_not_match_and_bad_thresholds() -> None:
    with pytest.raises(ValueError, match="same bins"):
        population_stability_index([0.5, 0.5], [1.0])
    with pytest.raises(ValueError, match="positive"):
        DriftThresholds(feature=0.0, segment=0.25)


def test_a_reference_never_stores_bins_or_levels_under_the_floor() -> None:
    values = pl.Series([float(v) for v in range(250)])
    # 250 people at a floor of 100: two bins, not ten.
    assert len(numeric_reference(values, 10, min_members=100).edges) == 1
    assert numeric_reference(values[:150], 10, min_members=100).edges == ()
    levels = pl.Series(["app"] * 120 + ["web"] * 100 + ["rare"] * 3)
    reference = categorical_reference(levels, min_members=100)
    assert reference.levels == ("app", "web")
    # The rare level counts with the unseen ones.
    assert reference.shares == pytest.approx((120 / 223, 100 / 223, 3 / 223, 0.0))
    assert feature_psi(reference, levels) == 0.0
