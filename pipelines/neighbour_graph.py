"""A k-nearest-neighbour graph in which ties share (pure: NumPy, scikit-learn).

Categorical data is full of ties: hundreds of people share an age band,
tier and gender. A plain k-nearest-neighbour graph breaks them by row order,
and rows come in the order of keyed pseudonyms, so anything computed on
the graph would change with the key. It also piles the edges on whoever
comes first. Here a person's k neighbour slots go to everyone strictly
nearer than the k-th distance, and the slots left are shared evenly by
everyone at exactly that distance. The graph is then a function of the data
alone, and people with the same features form one node of it, which keeps it
small however many share a profile.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.metrics.pairwise import paired_euclidean_distances
from sklearn.neighbors import KDTree, NearestNeighbors

# Distances within this relative tolerance of the k-th are ties: equal
# distances computed in a different order differ in their last bits.
_TIE_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class NeighbourGraph:
    """A symmetric weighted neighbour graph on people, held per distinct point.

    `node[i]` is person i's distinct point; every person of point u is
    linked to every other person of point v with weight `weights[u, v]`
    (to the others of their own point with `weights[u, u]`). `degree[i]` is
    person i's total weight and `within` the diagonal of `weights`, kept
    since every score on the graph (hundreds per feature) needs them.
    """

    weights: sparse.csr_matrix
    node: np.ndarray
    size: np.ndarray
    degree: np.ndarray
    within: np.ndarray

    @classmethod
    def of(
        cls, weights: sparse.csr_matrix, node: np.ndarray, size: np.ndarray
    ) -> "NeighbourGraph":
        """The graph of these point weights, its people's degrees computed."""
        weights = sparse.csr_matrix(weights)
        within = weights.diagonal()
        per_point = weights @ size - within
        return cls(weights, node, size, np.asarray(per_point)[node], within)

    @classmethod
    def of_people(cls, graph: sparse.csr_matrix) -> "NeighbourGraph":
        """A graph given person by person (no diagonal), as it is."""
        rows = graph.shape[0]
        return cls.of(graph, np.arange(rows), np.ones(rows))


def _slack(kth: np.ndarray) -> np.ndarray:
    """How far from the k-th distance a distance still ties with it."""
    return _TIE_TOLERANCE * np.maximum(1.0, kth)


def _candidates(
    distinct: np.ndarray, people: np.ndarray, neighbours: int, want: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of points (from, to, exact distance) and each point's k-th distance.

    The nearest points by fast distances first; a point whose list may miss
    some tied at its k-th distance gets everyone within it from a tree.
    """
    count = len(distinct)
    here = np.arange(count)
    take = min(count, 3 * neighbours + 1)
    finder = NearestNeighbors(n_neighbors=take, algorithm="brute").fit(distinct)
    near = finder.kneighbors(distinct, return_distance=False)
    # Distances of the pairs found, as the norm of their difference: the fast
    # (BLAS) form expands |a - b|^2 and loses the last digits, so equal
    # distances would stop being equal, and ties are judged on these.
    near_distance = paired_euclidean_distances(
        distinct[here.repeat(take)], distinct[near.ravel()]
    ).reshape(count, take)
    order = np.argsort(near_distance, axis=1, kind="stable")
    near = np.take_along_axis(near, order, axis=1)
    near_distance = np.take_along_axis(near_distance, order, axis=1)
    # People each point reaches, nearest first (a person is not their own).
    reached = np.cumsum(people[near] - (near == here[:, None]), axis=1)
    kth = near_distance[here, np.argmax(reached >= want, axis=1)]
    # The fast distances err far less than `error`: a list whose farthest
    # is beyond the k-th by more holds everyone tied at the k-th.
    error = 1e-6 * (1.0 + float(np.abs(distinct).max()) * math.sqrt(distinct.shape[1]))
    whole = (take == count) | (near_distance[:, -1] > kth + _slack(kth) + 2 * error)
    rows, cols, dist = (
        [here[whole].repeat(take)],
        [near[whole].ravel()],
        [near_distance[whole].ravel()],
    )
    if not whole.all():
        short = here[~whole]
        found, found_distance = KDTree(distinct).query_radius(
            distinct[short],
            r=kth[short] + _slack(kth[short]),
            return_distance=True,
        )
        rows.append(short.repeat([len(f) for f in found]))
        cols.append(np.concatenate(found))
        dist.append(np.concatenate(found_distance))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(dist), kth


def neighbour_graph(points: np.ndarray, neighbours: int) -> NeighbourGraph:
    """Each person's `neighbours` nearest others, ties at the k-th shared evenly.

    Symmetrised as the mean of the two directions. Distances are taken
    between distinct points only.
    """
    distinct, node, size = np.unique(
        points, axis=0, return_inverse=True, return_counts=True
    )
    count = len(distinct)
    people = size.astype(float)
    # Slots per person: fewer only when there are fewer others.
    want = min(neighbours, people.sum() - 1)
    rows, cols, distance, kth = _candidates(distinct, people, neighbours, want)
    others = people[cols] - (cols == rows)
    bound = kth[rows]
    slack = _slack(bound)
    nearer = (distance < bound - slack) & (others > 0)
    tied = ~nearer & (np.abs(distance - bound) <= slack) & (others > 0)
    taken = np.bincount(rows, weights=others * nearer, minlength=count)
    at = np.bincount(rows, weights=others * tied, minlength=count)
    share = (want - taken) / np.where(at > 0, at, 1.0)
    weight = np.where(nearer, 1.0, np.where(tied, share[rows], 0.0))
    keep = weight > 0
    one_way = sparse.csr_matrix(
        (weight[keep], (rows[keep], cols[keep])), shape=(count, count)
    )
    return NeighbourGraph.of(((one_way + one_way.T) / 2).tocsr(), node.ravel(), size)
