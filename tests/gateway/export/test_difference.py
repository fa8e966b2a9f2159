"""Difference protection on small sets with known answers."""

import pytest

from gateway.export.difference import (
    Held,
    held_back,
    merged,
    next_delivery,
    sorted_differences,
    under_floor,
)

K = 3


def people(*numbers: int) -> frozenset[str]:
    return frozenset(f"e{n}" for n in numbers)


def test_first_delivery_sends_everyone_current() -> None:
    new = next_delivery(set(), people(1, 2, 3, 4), set(), K)
    assert new.delivered == people(1, 2, 3, 4)
    assert new.held == Held(0, 0)


def test_holds_back_fewer_entrants_than_the_floor() -> None:
    new = next_delivery(people(1, 2, 3, 4), people(1, 2, 3, 4, 5, 6), set(), K)
    assert new.delivered == people(1, 2, 3, 4)
    assert new.held == Held(entering=2, leaving=0)


def test_sends_entrants_once_they_reach_the_floor() -> None:
    new = next_delivery(people(1, 2, 3, 4), people(1, 2, 3, 4, 5, 6, 7), set(), K)
    assert new.delivered == people(1, 2, 3, 4, 5, 6, 7)
    assert new.held == Held(0, 0)


def test_keeps_fewer_leavers_than_the_floor() -> None:
    new = next_delivery(people(1, 2, 3, 4, 5), people(1, 2, 3), set(), K)
    assert new.delivered == people(1, 2, 3, 4, 5)
    assert new.held == Held(entering=0, leaving=2)


def test_lets_leavers_go_once_they_reach_the_floor() -> None:
    new = next_delivery(people(1, 2, 3, 4, 5, 6), people(1, 2, 3), set(), K)
    assert new.delivered == people(1, 2, 3)
    assert new.held == Held(0, 0)


def test_lapsed_leave_at_once_and_are_not_counted_as_leavers() -> None:
    # Person 5 lapsed: gone at once although alone. Person 4 left the
    # segment: one leaver, under the floor, kept.
    new = next_delivery(people(1, 2, 3, 4, 5), people(1, 2, 3), people(5), K)
    assert new.delivered == people(1, 2, 3, 4)
    assert new.held == Held(entering=0, leaving=1)


def test_a_held_leaver_that_lapses_is_never_delivered() -> None:
    held = next_delivery(people(1, 2, 3, 4), people(1, 2, 3), set(), K)
    assert "e4" in held.delivered
    later = next_delivery(held.delivered, people(1, 2, 3), people(4), K)
    assert later.delivered == people(1, 2, 3)
    assert later.held == Held(0, 0)


def test_lapsed_entrants_are_never_sent_nor_counted() -> None:
    # Three entrants, one lapsed: two remain, under the floor, held back.
    new = next_delivery(people(1, 2, 3), people(1, 2, 3, 4, 5, 6), people(6), K)
    assert new.delivered == people(1, 2, 3)
    assert new.held == Held(entering=2, leaving=0)


def test_entrants_and_leavers_are_decided_separately() -> None:
    new = next_delivery(
        people(1, 2, 3, 4), people(1, 2, 3, 5, 6, 7), set(), K
    )  # 3 enter (sent), 1 leaves (kept)
    assert new.delivered == people(1, 2, 3, 4, 5, 6, 7)
    assert new.held == Held(entering=0, leaving=1)


def test_every_difference_is_none_or_at_least_the_floor() -> None:
    seen = people(*range(10))
    for current in (people(*range(2, 12)), people(*range(5)), people(*range(1, 14))):
        new = next_delivery(seen, current, set(), K)
        for delta in (new.delivered - seen, seen - new.delivered):
            assert not under_floor(len(delta), K)


def test_held_back_counts_and_refuses_a_floor_under_one() -> None:
    assert held_back(2, 5, 3) == Held(entering=2, leaving=0)
    assert held_back(0, 0, 3) == Held(0, 0)
    assert held_back(3, 1, 3) == Held(entering=0, leaving=1)
    with pytest.raises(ValueError, match="positive"):
        held_back(1, 1, 0)


def test_sorted_differences_names_entrants_and_leavers_in_order() -> None:
    seen = ["a", "b", "d", "f"]
    current = ["b", "c", "d", "e", "g"]
    assert list(sorted_differences(seen, current)) == [
        (False, "a"),
        (True, "c"),
        (True, "e"),
        (False, "f"),
        (True, "g"),
    ]
    assert list(sorted_differences([], ["a"])) == [(True, "a")]
    assert list(sorted_differences(["a"], [])) == [(False, "a")]


def test_sorted_differences_refuses_a_stream_out_of_order() -> None:
    with pytest.raises(ValueError, match="entity order"):
        list(sorted_differences(["b", "a"], ["a", "b"]))


def test_merged_keeps_entity_order() -> None:
    assert list(merged(["b", "d"], ["e", "a", "c"])) == ["a", "b", "c", "d", "e"]
    assert list(merged([], ["b", "a"])) == ["a", "b"]
