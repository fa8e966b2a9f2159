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
vouch for itself), and compared with the same feature shuffled across
people on that graph: it is kept only when its score is lower than every
one of `permutations` shuffles (a permutation test at level
1 / (permutations + 1); no threshold tuned to any data set).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.neighbors import kneighbors_graph
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one feature is kept for clustering, and why."""

    feature: str
    kept: bool
    score: float | None
    null_min: float | None
    reason: str


def laplacian_score(values: np.ndarray, graph: sparse.csr_matrix) -> float:
    """The Laplacian score of one feature on a symmetric 0/1 neighbour graph.

    Near 0: neighbours share the feature's value; about 1: they do not more
    than strangers do. NaN for a feature constant on the graph.
    """
    degree = np.asarray(graph.sum(axis=1)).ravel()
    centred = values - (values @ degree) / degree.sum()
    spread = float(centred @ (degree * centred))
    if spread <= 0:
        return float("nan")
    roughness = spread - float(centred @ (graph @ centred))
    return roughness / spread


def _graph(matrix: np.ndarray, neighbours: int) -> sparse.csr_matrix:
    knn = kneighbors_graph(matrix, neighbours, mode="connectivity", include_self=False)
    return knn.maximum(knn.T).tocsr()


def select_features(
    matrix: np.ndarray,
    names: Sequence[str],
    *,
    neighbours: int = 10,
    permutations: int = 49,
    sample: int = 4000,
    seed: int = 0,
) -> list[Verdict]:
    """Keep the features that agree with the others' neighbour structure.

    Args:
        matrix: One row per person, one column per feature (no missing values).
        names: The features' names, in column order.
        neighbours: Neighbours per person in the graph.
        permutations: Shuffles per feature in the permutation test.
        sample: People drawn (without replacement) to score on: the test
            needs thousands, not millions.
        seed: Makes the draw and the shuffles reproducible.
    """
    if matrix.shape[1] != len(names):
        raise ValueError("one name per column")
    rng = np.random.default_rng(seed)
    rows = matrix.shape[0]
    if rows > sample:
        matrix = matrix[rng.choice(rows, size=sample, replace=False)]
    data = np.asarray(matrix, dtype=float)
    spread = data.std(axis=0)
    verdicts: list[Verdict] = []
    if data.shape[1] < 2 or data.shape[0] <= neighbours + 1:
        return [
            Verdict(n, True, None, None, "too few features or people to test")
            for n in names
        ]
    scaled = StandardScaler().fit_transform(data[:, spread > 0])
    varying = [i for i, s in enumerate(spread) if s > 0]
    for column, name in enumerate(names):
        if spread[column] == 0:
            verdicts.append(Verdict(name, False, None, None, "constant"))
            continue
        others = [k for k, i in enumerate(varying) if i != column]
        if not others:
            verdicts.append(Verdict(name, True, None, None, "no other feature"))
            continue
        graph = _graph(scaled[:, others], neighbours)
        values = data[:, column]
        score = laplacian_score(values, graph)
        null = [
            laplacian_score(rng.permutation(values), graph) for _ in range(permutations)
        ]
        floor = float(np.nanmin(null))
        kept = score < floor
        reason = (
            "its neighbours agree on it"
            if kept
            else "no more alike between neighbours than between strangers"
        )
        verdicts.append(Verdict(name, kept, score, floor, reason))
    return verdicts
