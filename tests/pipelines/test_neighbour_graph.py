"""The neighbour graph shares tied slots and depends on the data alone."""

import numpy as np
import pytest

from pipelines.neighbour_graph import neighbour_graph


def test_tied_neighbours_share_the_slots_they_compete_for() -> None:
    # Two people at 0, five at 1, one at 5; three neighbour slots each.
    points = np.array([[0.0]] * 2 + [[1.0]] * 5 + [[5.0]])
    graph = neighbour_graph(points, 3)
    assert graph.size.tolist() == [2, 5, 1]
    assert graph.node.tolist() == [0, 0, 1, 1, 1, 1, 1, 2]
    weights = graph.weights.toarray()
    # One way: a person at 0 takes the other one at 0, and the two slots
    # left are shared by the five tied at 1 (2/5 each); a person at 1 shares
    # three slots among the four others at 1 (3/4 each); the person at 5
    # shares three among the five at 1 (3/5 each). The graph keeps the mean
    # of the two directions.
    expected = np.array(
        [
            [1.0, (2 / 5) / 2, 0.0],
            [(2 / 5) / 2, 3 / 4, (3 / 5) / 2],
            [0.0, (3 / 5) / 2, 0.0],
        ]
    )
    assert weights == pytest.approx(expected)
    # Eight people, three slots each: no more, no fewer.
    degree = weights @ graph.size - np.diag(weights)
    assert float(degree @ graph.size) == pytest.approx(8 * 3)


def test_the_graph_is_the_same_in_any_order_of_people() -> None:
    rng = np.random.default_rng(5)
    points = rng.integers(0, 3, (300, 3)).astype(float)
    graph = neighbour_graph(points, 10)
    shuffled = neighbour_graph(points[rng.permutation(len(points))], 10)
    # Distinct points come sorted: the same nodes, the same weights.
    assert (graph.weights != shuffled.weights).nnz == 0
    assert sorted(graph.size.tolist()) == sorted(shuffled.size.tolist())


def test_ties_beyond_the_first_candidates_are_all_found() -> None:
    # A hundred corners of a simplex, all at one distance from each other:
    # far more tied at the k-th distance than the fast search lists.
    graph = neighbour_graph(np.eye(100), 10)
    weights = graph.weights.toarray()
    off = weights[~np.eye(100, dtype=bool)]
    assert off == pytest.approx(np.full(off.shape, 10 / 99))
