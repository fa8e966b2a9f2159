"""Drop features that share no structure with the others (pure: NumPy, scikit-learn).

Variance and principal components cannot tell a useless variable from a
useful one: a uniform random binary has high variance and two clean modes,
yet says nothing about anything else. What it lacks is agreement with the
rest: people who are close on the other features are no closer on it.

That is what the Laplacian score measures (He, Cai and Niyogi, "Laplacian
Score for Feature Selection", NIPS 2005): on a neighbour graph, a feature
that varies little between neighbours, relative to its overall variance,
scores well below 1; a feature unrelated to the graph scores about 1. Here
each feature is scored on the graph of the *other* features (so it cannot
vouch for itself) and compared with the same feature shuffled across people
on that graph (a permutation test). A level tests all its features at once,
so the p-values go through Holm's step-down procedure: the chance that any
feature without structure is kept stays under `alpha`, however many the
level has; no threshold is tuned to any data set.

A categorical feature arrives one-hot encoded ("gender=female",
"gender=male"...): its columns would vouch for one another, so columns are
grouped into features (`features`), a feature is scored as a whole (its
columns' roughness over their spread) on the graph of the other features'
columns, and its columns are shuffled together. Each feature weighs the
same in the graph's distances, whatever its number of columns: standard
scaling alone would let an eleven-valued region outweigh an age band five
times over and drown it.

Categorical data is full of ties (hundreds of people share an age band,
tier and gender): the graph shares a person's neighbour slots among those
tied for them (`pipelines.neighbour_graph`), so the verdicts depend on the
data alone, not on the order of the people's keyed ids.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.neighbour_graph import NeighbourGraph, neighbour_graph


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one feature is kept for clustering, and why.

    `p_value` is the share of shuffles (counting the feature itself) at
    least as smooth on the graph as the feature; `bound` is what Holm's
    procedure asked of it (None when it was not reached).
    """

    feature: str
    kept: bool
    score: float | None
    null_min: float | None
    reason: str
    p_value: float | None = None
    columns: tuple[str, ...] = ()
    bound: float | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON values, for a run's summary."""
        return {
            "feature": self.feature,
            "kept": self.kept,
            "score": None if self.score is None else round(self.score, 4),
            "null_min": None if self.null_min is None else round(self.null_min, 4),
            "p_value": None if self.p_value is None else round(self.p_value, 4),
            "bound": None if self.bound is None else round(self.bound, 4),
            "reason": self.reason,
        }


def laplacian_score(values: np.ndarray, graph: NeighbourGraph) -> float:
    """The Laplacian score of one feature on a neighbour graph.

    Near 0: neighbours share the feature's value; about 1: they do not more
    than strangers do. NaN for a feature constant on the graph. A 2-D
    `values` (the one-hot columns of one feature) is scored as a whole: the
    sum of its columns' roughness over the sum of their spread. Sums over
    pairs of people are taken per pair of distinct points.
    """
    columns = values.reshape(len(values), -1)
    weights, node, degree, own = graph.weights, graph.node, graph.degree, graph.within
    centred = columns - (degree @ columns) / degree.sum()
    spread = float(np.sum(centred * (degree[:, None] * centred)))
    if spread <= 0:
        return float("nan")
    points = weights.shape[0]
    # Per distinct point: its people's summed values, and summed squares.
    total = np.column_stack(
        [np.bincount(node, weights=column, minlength=points) for column in centred.T]
    )
    square = np.bincount(
        node, weights=np.sum(centred * centred, axis=1), minlength=points
    )
    between = float(np.sum(total * (weights @ total))) - float(own @ square)
    return (spread - between) / spread


def _balanced(data: np.ndarray, groups: dict[str, list[int]]) -> np.ndarray:
    """Centre, and scale each feature's columns to a total variance of one."""
    scaled = data - data.mean(axis=0)
    for columns in groups.values():
        variance = float(np.sum(data[:, columns].var(axis=0)))
        if variance > 0:
            scaled[:, columns] /= math.sqrt(variance)
    return scaled


def _canonical(matrix: np.ndarray) -> np.ndarray:
    """The rows in an order of their values alone, not of the people's ids."""
    data = np.ascontiguousarray(matrix, dtype=float)
    as_bytes = data.view(np.dtype((np.void, data.itemsize * data.shape[1]))).ravel()
    return data[np.argsort(as_bytes, kind="stable")]


def _holm(p_values: dict[str, float], alpha: float) -> dict[str, float | None]:
    """Holm's step-down bound met by each feature; None past the first failure."""
    bounds: dict[str, float | None] = dict.fromkeys(p_values)
    ranked = sorted(p_values, key=p_values.__getitem__)
    for rank, feature in enumerate(ranked):
        bounds[feature] = alpha / (len(ranked) - rank)
        if p_values[feature] > bounds[feature]:
            break
    return bounds


def _feature_columns(
    names: Sequence[str], features: Sequence[str] | None
) -> dict[str, list[int]]:
    """Each feature's column positions, in order of first column."""
    owner = list(names) if features is None else list(features)
    if len(owner) != len(names):
        raise ValueError("one feature per column")
    groups: dict[str, list[int]] = {}
    for column, feature in enumerate(owner):
        groups.setdefault(feature, []).append(column)
    return groups


def _verdict(
    feature: str,
    columns: tuple[str, ...],
    score: float,
    floor: float,
    p_value: float,
    bound: float | None,
) -> Verdict:
    """A tested feature's verdict: kept when its p-value meets Holm's bound."""
    kept = bound is not None and p_value <= bound
    reason = (
        "its neighbours agree on it"
        if kept
        else "no more alike between neighbours than between strangers"
    )
    return Verdict(feature, kept, score, floor, reason, p_value, columns, bound)


def _permutation_test(
    values: np.ndarray, graph: NeighbourGraph, shuffles: int, rng: np.random.Generator
) -> tuple[float, float, float]:
    """The feature's score, its shuffles' lowest, and its p-value."""
    score = laplacian_score(values, graph)
    null = np.array(
        [laplacian_score(rng.permutation(values), graph) for _ in range(shuffles)]
    )
    p_value = (1 + int(np.sum(null <= score))) / (shuffles + 1)
    return score, float(np.nanmin(null)), p_value


def select_features(
    matrix: np.ndarray,
    names: Sequence[str],
    *,
    features: Sequence[str] | None = None,
    neighbours: int = 10,
    permutations: int = 199,
    alpha: float = 0.05,
    sample: int = 4000,
    seed: int = 0,
) -> list[Verdict]:
    """Keep the features that agree with the others' neighbour structure.

    Args:
        matrix: One row per person, one column per feature (no missing values).
        names: The columns' names, in column order.
        features: The feature each column belongs to (one-hot columns share
            one); each column is its own feature when omitted.
        neighbours: Neighbours per person in the graph.
        permutations: Shuffles per feature in the permutation test; raised
            when too few could ever meet Holm's bound for this many features.
        alpha: The chance, at most, that any feature without structure is kept.
        sample: People drawn (without replacement) to score on: the test
            needs thousands, not millions.
        seed: Makes the draw and the shuffles reproducible.

    Returns:
        One verdict per feature, in order of first column.
    """
    if matrix.shape[1] != len(names):
        raise ValueError("one name per column")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    groups = _feature_columns(names, features)
    rng = np.random.default_rng(seed)
    data = _canonical(matrix)
    rows = data.shape[0]
    if rows > sample:
        data = data[np.sort(rng.choice(rows, size=sample, replace=False))]
    spread = data.std(axis=0)

    def cols(feature: str) -> tuple[str, ...]:
        return tuple(names[i] for i in groups[feature])

    if len(groups) < 2 or data.shape[0] <= neighbours + 1:
        return [
            Verdict(
                f, True, None, None, "too few features or people to test", None, cols(f)
            )
            for f in groups
        ]
    varying = spread > 0
    live = {
        f: [i for i in columns if varying[i]]
        for f, columns in groups.items()
        if varying[columns].any()
    }
    scaled = _balanced(data, live)
    shuffles = max(permutations, math.ceil(len(live) / alpha) - 1)
    tested: dict[str, tuple[float, float, float]] = {}
    verdicts: dict[str, Verdict] = {}
    for feature in groups:
        if feature not in live:
            verdicts[feature] = Verdict(
                feature, False, None, None, "constant", None, cols(feature)
            )
            continue
        others = [i for f, columns in live.items() if f != feature for i in columns]
        if not others:
            verdicts[feature] = Verdict(
                feature, True, None, None, "no other feature", None, cols(feature)
            )
            continue
        graph = neighbour_graph(scaled[:, others], neighbours)
        tested[feature] = _permutation_test(
            data[:, groups[feature]], graph, shuffles, rng
        )
    bounds = _holm({f: p for f, (_, _, p) in tested.items()}, alpha)
    for feature, (score, floor, p_value) in tested.items():
        verdicts[feature] = _verdict(
            feature, cols(feature), score, floor, p_value, bounds[feature]
        )
    return [verdicts[f] for f in groups]
