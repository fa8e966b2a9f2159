"""stability: bootstrap stability of a chosen clustering (pure).

Internal to `pipelines`: `pipelines.cluster_models` calls `bootstrap_stability`;
it is not a public API.

Stability follows Hennig (2007), "Cluster-wise assessment of cluster
stability": the chosen model is refitted on B bootstrap resamples, each refit
labels the selection sample, and is compared with the final labels by the
adjusted Rand index (overall) and, per segment, by the Jaccard index of the
segment with its best-matching bootstrap cluster. Hennig reads a mean Jaccard
of 0.75 or more as a stable segment and 0.5 or less as one that dissolves.
"""

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import adjusted_rand_score, pairwise_distances_argmin

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def bootstrap_stability(
    refit: Callable[[Floats], Floats | None],
    points: Floats,
    sample_points: Floats,
    reference: Ints,
    k: int,
    n_bootstrap: int,
    rng: np.random.Generator,
) -> tuple[float, Floats]:
    """Mean ARI and per-cluster mean best-match Jaccard over bootstrap refits.

    Args:
        refit: Fits the chosen model on a resample and returns its centroids,
            or None when the resample yields no clustering.
        points: All rows, in the space the centroids live in.
        sample_points: The selection sample, which each refit labels.
        reference: The final labels of the sample rows, 0 to ``k - 1``.
        k: Number of final clusters.
        n_bootstrap: Number of resamples.
        rng: Source of the resamples (and of whatever `refit` draws).

    Returns:
        The mean adjusted Rand index and, per cluster, the mean best-match
        Jaccard index; NaN when no refit yields a clustering.
    """
    aris: list[float] = []
    jaccards: list[Floats] = []
    for _ in range(n_bootstrap):
        resample = points[rng.integers(0, len(points), size=len(sample_points))]
        centroids = refit(resample)
        if centroids is None:
            continue
        labels = pairwise_distances_argmin(sample_points, centroids)
        aris.append(float(adjusted_rand_score(reference, labels)))
        jaccards.append(_best_jaccard(reference, labels, k))
    if not aris:
        return math.nan, np.full(k, math.nan)
    return float(np.mean(aris)), np.mean(jaccards, axis=0)


def _best_jaccard(reference: Ints, other: Ints, k: int) -> Floats:
    k_other = int(other.max()) + 1
    table = np.bincount(reference * k_other + other, minlength=k * k_other)
    table = table.reshape(k, k_other)
    union = table.sum(axis=1)[:, None] + table.sum(axis=0)[None, :] - table
    return (table / np.maximum(union, 1)).max(axis=1)
