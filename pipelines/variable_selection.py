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

A categorical feature arrives one-hot encoded ("gender=female",
"gender=male"...): its columns would vouch for one another, so columns are
grouped into features (`features`), a feature is scored as a whole (its
columns' roughness over their spread) on the graph of the other features'
columns, and its columns are shuffled together.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.neighbors import kneighbors_graph
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one feature is kept for clustering, and why.

    `p_value` is the share of shuffles (counting the feature itself) at
    least as smooth on the graph as the feature: 1 / (permutations + 1) at
    best.
    """

    feature: str
    kept: bool
    score: float | None
    null_min: float | None
    reason: str
    p_value: float | None = None
    columns: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """JSON values, for a run's summary."""
        return {
            "feature": self.feature,
            "kept": self.kept,
            "score": None if self.score is None else round(self.score, 4),
            "null_min": None if self.null_min is None else round(self.null_min, 4),
            "p_value": None if self.p_value is None else round(self.p_value, 4),
            "reason": self.reason,
        }


def laplacian_score(values: np.ndarray, graph: sparse.csr_matrix) -> float:
    """The Laplacian score of one feature on a symmetric 0/1 neighbour graph.

    Near 0: neighbours share the feature's value; about 1: they do not more
    than strangers do. NaN for a feature constant on the graph. A 2-D
    `values` (the one-hot columns of one feature) is scored as a whole: the
    sum of its columns' roughness over the sum of their spread.
    """
    columns = values.reshape(len(values), -1)
    degree = np.asarray(graph.sum(axis=1)).ravel()
    centred = columns - (degree @ columns) / degree.sum()
    spread = float(np.sum(centred * (degree[:, None] * centred)))
    if spread <= 0:
        return float("nan")
    roughness = spread - float(np.sum(centred * (graph @ centred)))
    return roughness / spread


def _graph(matrix: np.ndarray, neighbours: int) -> sparse.csr_matrix:
    knn = kneighbors_graph(matrix, neighbours, mode="connectivity", include_self=False)
    return knn.maximum(knn.T).tocsr()


def select_features(
    matrix: np.ndarray,
    names: Sequence[str],
    *,
    features: Sequence[str] | None = None,
    neighbours: int = 10,
    permutations: int = 49,
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
        permutations: Shuffles per feature in the permutation test.
        sample: People drawn (without replacement) to score on: the test
            needs thousands, not millions.
        seed: Makes the draw and the shuffles reproducible.

    Returns:
        One verdict per feature, in order of first column.
    """
    if matrix.shape[1] != len(names):
        raise ValueError("one name per column")
    owner = list(names) if features is None else list(features)
    if len(owner) != len(names):
        raise ValueError("one feature per column")
    groups: dict[str, list[int]] = {}
    for column, feature in enumerate(owner):
        groups.setdefault(feature, []).append(column)
    rng = np.random.default_rng(seed)
    rows = matrix.shape[0]
    if rows > sample:
        matrix = matrix[np.sort(rng.choice(rows, size=sample, replace=False))]
    data = np.asarray(matrix, dtype=float)
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
    verdicts: list[Verdict] = []
    varying = spread > 0
    scaled = np.zeros_like(data)
    scaled[:, varying] = StandardScaler().fit_transform(data[:, varying])
    for feature, own in groups.items():
        if not varying[own].any():
            verdicts.append(
                Verdict(feature, False, None, None, "constant", None, cols(feature))
            )
            continue
        others = [i for i in range(data.shape[1]) if varying[i] and owner[i] != feature]
        if not others:
            verdicts.append(
                Verdict(
                    feature, True, None, None, "no other feature", None, cols(feature)
                )
            )
            continue
        graph = _graph(scaled[:, others], neighbours)
        values = data[:, own]
        score = laplacian_score(values, graph)
        null = np.array(
            [
                laplacian_score(rng.permutation(values), graph)
                for _ in range(permutations)
            ]
        )
        floor = float(np.nanmin(null))
        p_value = (1 + int(np.sum(null <= score))) / (permutations + 1)
        kept = score < floor
        reason = (
            "its neighbours agree on it"
            if kept
            else "no more alike between neighbours than between strangers"
        )
        verdicts.append(
            Verdict(feature, kept, score, floor, reason, p_value, cols(feature))
        )
    return verdicts
