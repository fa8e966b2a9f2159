"""drift: population stability index between two runs (pure).

The population stability index (PSI) compares the share of people in each bin
of a reference run with the share in the current run:
``sum((current - reference) * ln(current / reference))`` over the bins. It is
0 when the shares are the same and grows with any shift, whichever the
direction. Credit scoring reads below 0.1 as stable and 0.25 or more as a
significant shift (Siddiqi, "Credit Risk Scorecards", 2006); the thresholds
here are the policy's, passed in.

Bins are fixed by the reference run alone, so that the current run is
measured against what it is compared with:

- a numeric feature: the reference's deciles (`n_bins` quantiles; repeated
  edges merged, so a mostly-zero count has fewer bins; fewer bins when they
  would hold under `min_members` people), plus one bin for missing values;
- a categorical feature: one bin per reference level held by `min_members`
  people or more, one for the other levels (rare or never seen) and one for
  missing values;
- segment sizes: one bin per segment id of a level, from both runs (a
  segment that appears or disappears is a shift).

An empty bin on either side would make the logarithm infinite, so a share of
exactly 0 counts as `EPSILON` (1e-4, a hundredth of a percent of the people);
shares are not renormalised afterwards, so identical distributions still give
exactly 0.

A reference is a few quantile edges and shares per feature (`FeatureReference`,
JSON-ready): the next run compares against it without the previous run's rows.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

EPSILON = 1e-4
NUMERIC = "numeric"
CATEGORICAL = "categorical"


@dataclass(frozen=True)
class FeatureReference:
    """A feature's bins and the reference run's share of people in each.

    Attributes:
        kind: `NUMERIC` or `CATEGORICAL`.
        edges: Numeric upper bin edges (inclusive); the last bin is open.
        levels: Categorical levels, one bin each.
        shares: Share per bin: the numeric bins (``len(edges) + 1``) or the
            levels, then (categorical only) unseen levels, then missing.
    """

    kind: str
    edges: tuple[float, ...]
    levels: tuple[str, ...]
    shares: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        """Return the reference as JSON values (to store with the run)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FeatureReference":
        """Rebuild a reference stored by `as_dict`."""
        return cls(
            kind=str(data["kind"]),
            edges=tuple(float(e) for e in data["edges"]),
            levels=tuple(str(level) for level in data["levels"]),
            shares=tuple(float(s) for s in data["shares"]),
        )


@dataclass(frozen=True)
class DriftThresholds:
    """PSI at or above which a feature, or a level's segment sizes, drifted."""

    feature: float
    segment: float

    def __post_init__(self) -> None:
        if not (self.feature > 0 and self.segment > 0):
            raise ValueError("drift thresholds must be positive")


@dataclass(frozen=True)
class DriftReport:
    """PSI per feature and per segment level, and what crossed its threshold.

    Attributes:
        feature_psi: PSI per feature name.
        segment_psi: PSI of the segment sizes per level.
        drifted_features: Features at or above the feature threshold.
        drifted_levels: Levels at or above the segment threshold.
        thresholds: The thresholds applied.
        epsilon: The share an empty bin counts as.
    """

    feature_psi: dict[str, float]
    segment_psi: dict[int, float]
    drifted_features: tuple[str, ...]
    drifted_levels: tuple[int, ...]
    thresholds: DriftThresholds
    epsilon: float = EPSILON

    @property
    def drifted(self) -> bool:
        """Whether anything drifted (the run's models should be refitted)."""
        return bool(self.drifted_features or self.drifted_levels)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON values (levels as string keys)."""
        data = asdict(self)
        data["segment_psi"] = {str(k): v for k, v in self.segment_psi.items()}
        data["drifted"] = self.drifted
        return data


def population_stability_index(
    reference: Sequence[float] | NDArray[np.float64],
    current: Sequence[float] | NDArray[np.float64],
    epsilon: float = EPSILON,
) -> float:
    """Return the PSI of two share vectors over the same bins.

    Args:
        reference: Share per bin in the reference run (sums to 1).
        current: Share per bin in the current run, same bins.
        epsilon: What a share of exactly 0 counts as.

    Raises:
        ValueError: The vectors differ in length, or a share is negative.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.shape != cur.shape or ref.ndim != 1:
        raise ValueError("reference and current shares must cover the same bins")
    if (ref < 0).any() or (cur < 0).any():
        raise ValueError("shares cannot be negative")
    ref = np.where(ref == 0, epsilon, ref)
    cur = np.where(cur == 0, epsilon, cur)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def numeric_reference(
    values: pl.Series, n_bins: int = 10, min_members: int = 1
) -> FeatureReference:
    """Fix a numeric feature's bins at the reference's quantiles.

    Args:
        values: The feature in the reference run (nulls allowed).
        n_bins: Number of quantile bins before repeated edges merge.
        min_members: Fewest people per bin (the audience's floor): fewer
            bins when people are few, so no stored edge sits among a
            handful of people's values.

    Raises:
        ValueError: `n_bins` is under 2, or the reference has no value.
    """
    if n_bins < 2:
        raise ValueError("n_bins must be at least 2")
    present = values.drop_nulls().cast(pl.Float64).to_numpy()
    if not len(present):
        raise ValueError("a numeric reference needs at least one value")
    bins = min(n_bins, len(present) // max(min_members, 1))
    quantiles = np.quantile(present, np.arange(1, bins) / bins) if bins > 1 else []
    edges = tuple(float(e) for e in np.unique(quantiles))
    shares = _numeric_shares(edges, values)
    return FeatureReference(NUMERIC, edges, (), shares)


def categorical_reference(values: pl.Series, min_members: int = 1) -> FeatureReference:
    """Fix a categorical feature's bins at the reference's levels.

    Levels held by fewer than `min_members` people get no bin of their own
    (they count with unseen levels), so the stored reference never names a
    rare value.
    """
    counts = values.drop_nulls().cast(pl.String).value_counts().rows()
    levels = tuple(sorted(str(v) for v, n in counts if n >= min_members))
    return FeatureReference(
        CATEGORICAL, (), levels, _categorical_shares(levels, values)
    )


def reference_profile(
    frame: pl.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str] = (),
    n_bins: int = 10,
    min_members: int = 1,
) -> dict[str, FeatureReference]:
    """Fix the bins of every named feature of a reference run's frame.

    Args:
        frame: The reference run's features.
        numeric: Numeric feature names.
        categorical: Categorical feature names.
        n_bins: Quantile bins per numeric feature at most.
        min_members: Fewest people per numeric bin or named level.
    """
    profile = {
        name: numeric_reference(frame[name], n_bins, min_members) for name in numeric
    }
    profile |= {
        name: categorical_reference(frame[name], min_members) for name in categorical
    }
    return profile


def feature_psi(
    reference: FeatureReference, values: pl.Series, epsilon: float = EPSILON
) -> float:
    """Return the PSI of a feature's current values against its reference."""
    if reference.kind == NUMERIC:
        shares = _numeric_shares(reference.edges, values)
    else:
        shares = _categorical_shares(reference.levels, values)
    return population_stability_index(reference.shares, shares, epsilon)


def segment_size_psi(
    reference: pl.DataFrame, current: pl.DataFrame, epsilon: float = EPSILON
) -> dict[int, float]:
    """Return the PSI of the segment sizes per level between two runs.

    Segments are matched by id, so ids must be carried over between runs
    when a segment is essentially the same; an id in one run only is a bin
    empty on the other side.

    Args:
        reference: The reference run's segments: ``segment_id``, ``level``,
            ``size``.
        current: The current run's segments, same columns.
        epsilon: What a share of exactly 0 counts as.

    Returns:
        PSI per level present in either run.
    """
    columns = ("segment_id", "level", "size")
    both = (
        reference.select(columns)
        .join(current.select(columns), on=["segment_id", "level"], how="full")
        .with_columns(
            pl.coalesce("segment_id", "segment_id_right").alias("segment_id"),
            pl.coalesce("level", "level_right").alias("level"),
            pl.col("size").fill_null(0).alias("ref"),
            pl.col("size_right").fill_null(0).alias("cur"),
        )
        .sort("level", "segment_id")
    )
    psi = {}
    for (level,), group in both.group_by("level", maintain_order=True):
        ref = group["ref"].to_numpy().astype(np.float64)
        cur = group["cur"].to_numpy().astype(np.float64)
        psi[int(level)] = population_stability_index(
            ref / max(ref.sum(), 1), cur / max(cur.sum(), 1), epsilon
        )
    return psi


def assess_drift(
    reference: Mapping[str, FeatureReference],
    current: pl.DataFrame,
    thresholds: DriftThresholds,
    segments: tuple[pl.DataFrame, pl.DataFrame] | None = None,
) -> DriftReport:
    """Measure every referenced feature and, when given, the segment sizes.

    Args:
        reference: The reference run's profile (`reference_profile`).
        current: The current run's frame holding every referenced feature.
        thresholds: PSI at or above which something drifted.
        segments: The reference and current runs' segments, or None.

    Returns:
        The PSI figures and what drifted.
    """
    by_feature = {
        name: feature_psi(ref, current[name]) for name, ref in reference.items()
    }
    by_level = segment_size_psi(*segments) if segments is not None else {}
    return DriftReport(
        feature_psi=by_feature,
        segment_psi=by_level,
        drifted_features=tuple(
            n for n, v in by_feature.items() if v >= thresholds.feature
        ),
        drifted_levels=tuple(
            level for level, v in by_level.items() if v >= thresholds.segment
        ),
        thresholds=thresholds,
    )


def _numeric_shares(edges: tuple[float, ...], values: pl.Series) -> tuple[float, ...]:
    missing = values.is_null().to_numpy()
    present = values.drop_nulls().cast(pl.Float64).to_numpy()
    # side="left": a value equal to an edge falls in the bin the edge closes.
    bins = np.searchsorted(np.asarray(edges), present, side="left")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(np.float64)
    counts = np.append(counts, missing.sum())
    return tuple(float(c) for c in counts / max(len(values), 1))


def _categorical_shares(
    levels: tuple[str, ...], values: pl.Series
) -> tuple[float, ...]:
    counts = dict(values.cast(pl.String).value_counts().rows())
    missing = counts.pop(None, 0)
    known = [counts.pop(level, 0) for level in levels]
    total = max(len(values), 1)
    return tuple(c / total for c in (*known, sum(counts.values()), missing))
