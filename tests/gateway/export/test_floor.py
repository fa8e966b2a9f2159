import pytest

from gateway.export.floor import remainder_ok, visible_ids

TREE = [("a", 1, None), ("a.1", 2, "a"), ("a.2", 2, "a"), ("b", 1, None)]


def test_segments_under_the_floor_and_their_children_are_withheld() -> None:
    sizes = {"a": 300, "a.1": 180, "a.2": 120, "b": 90}
    assert visible_ids(TREE, sizes, 100) == {"a", "a.1", "a.2"}
    assert visible_ids(TREE, sizes | {"a": 99}, 100) == set()  # children go too


def test_children_are_withheld_when_the_rest_of_the_parent_is_too_small() -> None:
    # a.2 lost members: showing a.1 beside a would reveal a group of 60.
    sizes = {"a": 240, "a.1": 180, "a.2": 60, "b": 150}
    assert visible_ids(TREE, sizes, 100) == {"a", "b"}
    assert remainder_ok(240, [180], 100) is False
    assert remainder_ok(240, [180, 60], 100) is True  # nothing left over
    assert remainder_ok(300, [180], 100) is True


def test_floor_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        visible_ids(TREE, {}, 0)
