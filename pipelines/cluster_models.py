"""cluster_models: choose a clustering model and k for one level (pure).

Internal to `pipelines`: `pipelines.cluster_levels` calls `cluster` once per level;
nothing here is a public API.

A model and k are chosen on a random sample among k-means, Ward hierarchical
clustering and HDBSCAN. Each candidate gets a silhouette (on a smaller sample:
it needs every pairwise distance) and a Davies-Bouldin index. The two live on
scales that cannot be added (silhouette in [-1, 1], higher is better; DB in
[0, inf), lower is better), so each candidate is ranked under each and the
lowest rank sum wins; ties go to the higher silhouette, then to the order of
`MODELS` and the smaller k.

Only k-means can be fitted on a million rows. Ward and HDBSCAN are fitted on a
sample of a few thousand rows and every row is then assigned to the nearest
centroid of their clusters (HDBSCAN's noise included), so every candidate is
judged by the very rule that will label the population: nearest centroid in
PCA space. The chosen k-means is refined on all rows with MiniBatchKMeans.
A cluster left with fewer rows than the floor (`floor`) is dissolved
into its nearest others, so no centroid stands for fewer people than that.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.metrics import (
    davies_bouldin_score,
    pairwise_distances,
    pairwise_distances_argmin,
    silhouette_samples,
)

from pipelines.stability import bootstrap_stability

if TYPE_CHECKING:  # segment_config imports this module: the config is for types only
    from pipelines.segment_config import SegmentConfig

MODELS = ("kmeans", "ward", "hdbscan")
SELECTION_RULE = (
    "lowest sum of ranks by silhouette (descending) and Davies-Bouldin (ascending);"
    " ties: higher silhouette, then model order kmeans, ward, hdbscan, then smaller k"
)
_SEED_MAX = 2**31 - 1
# Rows per MiniBatchKMeans step: sklearn advises more than 256 per core, and
# larger batches make the million-row refinement converge in one or two passes.
_BATCH = 4096
# HDBSCAN's min_samples: larger values only slow the neighbour search and make
# more points noise, which then go to the nearest centroid anyway.
_MIN_SAMPLES = 10

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class _Fit:
    model: str
    k: int
    centroids: Floats
    min_cluster_size: int | None = None


@dataclass(frozen=True, slots=True)
class _Sample:
    index: Ints  # rows drawn, in random order, so any prefix is a random subsample
    points: Floats
    distances: NDArray[np.float32]  # among the first `silhouette_size` points


@dataclass(frozen=True, slots=True)
class Clustering:
    """The labels of every row, with stability, silhouettes and metrics."""

    labels: Ints  # 0 is the largest cluster
    stability: Floats
    silhouette: Floats
    metrics: dict[str, Any]
    # Row i is the centroid of label i: the nearest-centroid rule that made
    # `labels`, kept so that a later run can assign people with it.
    centroids: Floats


def cluster(
    points: Floats,
    k_range: tuple[int, int],
    cfg: "SegmentConfig",
    rng: np.random.Generator,
) -> Clustering | None:
    """Choose a model and k on a sample, label every row, measure stability."""
    sample = _sample(points, cfg, rng)
    scored = [
        (fit, *score)
        for fit in _candidates(sample, k_range, cfg, rng)
        if (score := _score(fit, sample)) is not None
    ]
    if not scored:
        return None
    best, table = _choose(scored)
    centroids = _final_centroids(best, points, len(sample.points), _seed(rng))
    labels, centroids, dissolved = _nearest(points, centroids, cfg.floor)
    k = int(labels.max()) + 1
    if k < 2:  # everything under the floor but one cluster: no clustering
        return None
    reference = labels[sample.index]
    refit = partial(_refit_centroids, best, cfg, rng)
    ari, stability = bootstrap_stability(
        refit, points, sample.points, reference, k, cfg.n_bootstrap, rng
    )
    overall, silhouette = _silhouettes(sample, reference, k)
    metrics = {
        "model": best.model,
        "k": k,
        "silhouette": json_number(overall),
        "davies_bouldin": json_number(
            float(davies_bouldin_score(sample.points, reference))
        ),
        "ari": json_number(ari),
        "dissolved_under_floor": dissolved,
        "candidates": table,
    }
    return Clustering(labels, stability, silhouette, metrics, centroids)


def _nearest(points: Floats, centroids: Floats, floor: int) -> tuple[Ints, Floats, int]:
    """Label rows by nearest centroid, numbered by size; dissolve tiny clusters.

    While a cluster holds fewer than `floor` rows (the audience's k floor)
    and another remains, the smallest loses its centroid and its rows join
    their nearest remaining one, as the floor would merge it (smallest
    first). Every row ends at its nearest remaining centroid, and none
    stands for fewer people than the floor: a later run assigns with all of
    them (`pipelines.assignment`) and gets the fit's labels back.

    Returns:
        The labels, the centroid of each label, and how many were dissolved.
    """
    labels = pairwise_distances_argmin(points, centroids)
    alive = np.ones(len(centroids), dtype=bool)
    while alive.sum() > 1:
        sizes = np.bincount(labels, minlength=len(centroids))
        small = np.flatnonzero(alive & (sizes < floor))
        if not len(small):
            break
        gone = small[np.argmin(sizes[small])]
        alive[gone] = False
        rows = np.flatnonzero(labels == gone)
        if len(rows):
            left = np.flatnonzero(alive)
            labels[rows] = left[
                pairwise_distances_argmin(points[rows], centroids[left])
            ]
    ranked, order = _rank_by_size(labels)
    return ranked, centroids[order], int((~alive).sum())


def _sample(points: Floats, cfg: "SegmentConfig", rng: np.random.Generator) -> _Sample:
    size = min(len(points), cfg.sample_size)
    index = rng.permutation(len(points))[:size]
    chosen = points[index]
    head = chosen[: cfg.silhouette_size]
    return _Sample(index, chosen, pairwise_distances(head).astype(np.float32))


def _candidates(
    sample: _Sample,
    k_range: tuple[int, int],
    cfg: "SegmentConfig",
    rng: np.random.Generator,
) -> list[_Fit]:
    ks = [k for k in range(k_range[0], k_range[1] + 1) if k < len(sample.points)]
    head = sample.points[: cfg.hierarchical_size]
    fits: list[_Fit] = []
    if "kmeans" in cfg.models:
        fits += [_kmeans(sample.points, k, _seed(rng)) for k in ks]
    if "ward" in cfg.models:
        fits += _ward(head, [k for k in ks if k < len(head)])
    if "hdbscan" in cfg.models:
        sizes = sorted({max(5, round(f * len(head))) for f in cfg.hdbscan_fractions})
        found = [_hdbscan(head, size) for size in sizes]
        fits += [f for f in found if f is not None and f.k in ks]
    return fits


def _kmeans(points: Floats, k: int, seed: int) -> _Fit:
    model = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(points)
    return _Fit("kmeans", k, model.cluster_centers_)


def _ward(points: Floats, ks: Sequence[int]) -> list[_Fit]:
    if not ks:
        return []
    # One full tree cut at every k: refitting per k would rebuild the same tree.
    tree = AgglomerativeClustering(
        n_clusters=None, distance_threshold=0.0, compute_full_tree=True
    ).fit(points)
    return [
        _Fit("ward", k, group_means(points, labels, k))
        for k, labels in _cut_tree(tree.children_, ks).items()
    ]


def _cut_tree(children: Ints, ks: Sequence[int]) -> dict[int, Ints]:
    """Flat labels with k clusters, for each k, from a full merge tree."""
    n = len(children) + 1
    parent = np.full(2 * n - 1, -1)
    parent[children.ravel()] = np.repeat(np.arange(n, 2 * n - 1), 2)
    cuts: dict[int, Ints] = {}
    for k in ks:
        # Node n + i is the i-th merge; the last k - 1 merges lie above the cut.
        limit = 2 * n - k
        top = np.arange(2 * n - 1)
        for node in range(limit - 1, -1, -1):  # a parent always has a larger id
            if parent[node] < limit:
                top[node] = top[parent[node]]
        cuts[k] = np.unique(top[:n], return_inverse=True)[1]
    return cuts


def _hdbscan(points: Floats, min_cluster_size: int) -> _Fit | None:
    labels = HDBSCAN(
        min_cluster_size=min_cluster_size,
        min_samples=min(min_cluster_size, _MIN_SAMPLES),
        copy=True,
    ).fit_predict(points)
    k = int(labels.max()) + 1
    if k < 2:
        return None
    kept = labels >= 0  # noise joins the nearest centroid when rows are assigned
    return _Fit(
        "hdbscan", k, group_means(points[kept], labels[kept], k), min_cluster_size
    )


def _score(fit: _Fit, sample: _Sample) -> tuple[float, float] | None:
    """Silhouette and Davies-Bouldin of the nearest-centroid labels, if usable."""
    labels = pairwise_distances_argmin(sample.points, fit.centroids)
    head = labels[: len(sample.distances)]
    # A centroid no sampled row is nearest to means a degenerate clustering.
    if np.unique(labels).size < fit.k or not 1 < np.unique(head).size < len(head):
        return None
    silhouette = float(
        silhouette_samples(sample.distances, head, metric="precomputed").mean()
    )
    return silhouette, float(davies_bouldin_score(sample.points, labels))


def _choose(
    scored: list[tuple[_Fit, float, float]],
) -> tuple[_Fit, list[dict[str, Any]]]:
    # Rounded so that one partition found by two models (k-means and Ward often
    # agree) ties exactly instead of being ordered by floating-point noise.
    silhouette = np.round([s for _, s, _ in scored], 9)
    db = np.round([d for _, _, d in scored], 9)
    rank_sum = rankdata(-silhouette) + rankdata(db)
    # np.lexsort sorts by its last key first; candidate order breaks the final tie.
    best = int(np.lexsort((np.arange(len(scored)), -silhouette, rank_sum))[0])
    table = [
        {
            "model": fit.model,
            "k": fit.k,
            "min_cluster_size": fit.min_cluster_size,
            "silhouette": sil,
            "davies_bouldin": dbi,
            "rank_sum": float(rank),
            "chosen": i == best,
        }
        for i, ((fit, sil, dbi), rank) in enumerate(zip(scored, rank_sum, strict=True))
    ]
    return scored[best][0], table


def _final_centroids(fit: _Fit, points: Floats, sample_size: int, seed: int) -> Floats:
    if fit.model != "kmeans" or len(points) <= sample_size:
        return fit.centroids
    # Started from the sample's centroids, one or two passes over all rows suffice.
    model = MiniBatchKMeans(
        n_clusters=fit.k,
        init=fit.centroids,
        n_init=1,
        batch_size=_BATCH,
        compute_labels=False,
        random_state=seed,
    )
    return model.fit(points).cluster_centers_


def _refit(fit: _Fit, points: Floats, cfg: "SegmentConfig", seed: int) -> _Fit | None:
    head = points[: cfg.hierarchical_size]
    if fit.model == "kmeans":
        return _kmeans(points, fit.k, seed)
    if fit.model == "ward":
        return next(iter(_ward(head, [fit.k] if fit.k < len(head) else [])), None)
    # HDBSCAN may find another number of clusters: best-match Jaccard allows it.
    return _hdbscan(head, fit.min_cluster_size or 5)


def _refit_centroids(
    fit: _Fit, cfg: "SegmentConfig", rng: np.random.Generator, points: Floats
) -> Floats | None:
    refit = _refit(fit, points, cfg, _seed(rng))
    return None if refit is None else refit.centroids


def _silhouettes(sample: _Sample, reference: Ints, k: int) -> tuple[float, Floats]:
    """Mean silhouette overall and per cluster (NaN where not measurable)."""
    head = reference[: len(sample.distances)]
    if not 1 < np.unique(head).size < len(head):
        return math.nan, np.full(k, math.nan)
    values = silhouette_samples(sample.distances, head, metric="precomputed")
    counts = np.bincount(head, minlength=k)
    sums = np.bincount(head, weights=values, minlength=k)
    per_cluster = np.divide(sums, counts, out=np.full(k, math.nan), where=counts > 0)
    return float(values.mean()), per_cluster


def _rank_by_size(labels: Ints) -> tuple[Ints, Ints]:
    """Renumber clusters by size, largest first (stable), dropping empty ones.

    Returns the new labels and, for each, the old label it was.
    """
    counts = np.bincount(labels)
    order = np.argsort(-counts, kind="stable")[: np.count_nonzero(counts)]
    rank = np.empty(len(counts), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[labels], order


def group_means(values: Floats, labels: Ints, k: int) -> Floats:
    """Column means per label; a label of k or more is left out."""
    counts = np.bincount(labels, minlength=k)[:k]
    sums = [np.bincount(labels, weights=col, minlength=k)[:k] for col in values.T]
    return np.stack(sums, axis=1) / np.maximum(counts, 1)[:, None]


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(_SEED_MAX))


def json_number(value: float) -> float | None:
    """Return a JSON-safe float: NaN (not measured) becomes None."""
    return None if math.isnan(value) else float(value)
