"""Difference protection: what a destination may learn by comparing two pulls (pure).

A segment keeps its public id from run to run, so a destination can diff the
ids of two pulls. If two people entered, the diff names those two: whatever
the segment means (a propensity, a cluster of behaviour) is then known of
each of them, however large the segment is. So between two deliveries of a
segment to one destination, the ids that enter are either none or at least
the floor k, and so are the ids that leave: a smaller group is held back
(entrants not yet sent, leavers still sent) until it grows to k. A diff then
always points at no one or at a crowd of at least k.

Consent wins over the rule: an entity that lapsed (consent withdrawn,
erased) or that the gateway may no longer send for any other reason leaves
at once, however few leave with it. That tells the destination nothing
the revocations feed (Art. 19) does not already tell it, and a lapsed
entity is never kept in a delivery to hide a count.

`next_delivery` states the rule on sets. The export edge
(`gateway.export.delivery`) applies the same `held_back` while it walks the
last delivery and the segment side by side, both in entity order
(`sorted_differences`): a segment of a million members is never held in
memory, and no query plan can turn the comparison quadratic.
"""

import heapq
from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Held:
    """How many entrants and leavers a delivery holds back (counts only)."""

    entering: int
    leaving: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """The new delivery, and how many entrants and leavers it holds back."""

    delivered: frozenset[str]
    held: Held


def under_floor(count: int, floor: int) -> bool:
    """Whether a group of `count` ids would single out fewer than `floor` people."""
    if floor < 1:
        raise ValueError("the floor must be a positive integer")
    return 0 < count < floor


def held_back(entering: int, leaving: int, floor: int) -> Held:
    """How many of `entering` entrants and `leaving` leavers must wait.

    Each group is held as a whole or not at all: sending part of a small
    group would be the very diff the rule forbids. `leaving` counts only
    leavers that may still be sent; lapsed ones leave regardless.
    """
    return Held(
        entering=entering if under_floor(entering, floor) else 0,
        leaving=leaving if under_floor(leaving, floor) else 0,
    )


def next_delivery(
    seen: Set[str], current: Set[str], lapsed: Set[str], floor: int
) -> Delivery:
    """What to deliver now, given what the destination was last delivered.

    Args:
        seen: The destination's last delivery of the segment.
        current: The segment's members now, lapsed entities already left out.
        lapsed: Entities revoked or lapsed since: removed at once, always.
        floor: The destination's floor for the segment, at least 1.

    Returns:
        The new delivery: every id entering or leaving relative to `seen`
        belongs to a group of none or at least `floor`, lapsed ids aside.
    """
    deliverable = frozenset(current) - lapsed
    entering = deliverable - seen
    # Lapsed ids leave whatever their number: they are not part of the count.
    leaving = frozenset(seen) - deliverable - lapsed
    held = held_back(len(entering), len(leaving), floor)
    delivered = deliverable | (leaving if held.leaving else frozenset())
    return Delivery(delivered - entering if held.entering else delivered, held)


def _ordered(entities: Iterable[str]) -> Iterator[str]:
    last: str | None = None
    for entity in entities:
        if last is not None and entity <= last:
            raise ValueError("a stream compared must be strictly in entity order")
        last = entity
        yield entity


def sorted_differences(
    seen: Iterable[str], current: Iterable[str]
) -> Iterator[tuple[bool, str]]:
    """The entities in only one of two streams sorted by entity id, in order.

    Yields ``(True, entity)`` for an entity only `current` holds (entering)
    and ``(False, entity)`` for one only `seen` holds (leaving).

    Raises:
        ValueError: A stream is not strictly increasing.
    """
    old, new = _ordered(seen), _ordered(current)
    a, b = next(old, None), next(new, None)
    while a is not None and b is not None:
        if a < b:
            yield False, a
            a = next(old, None)
        elif b < a:
            yield True, b
            b = next(new, None)
        else:
            a, b = next(old, None), next(new, None)
    if a is not None:
        yield False, a
        yield from ((False, entity) for entity in old)
    if b is not None:
        yield True, b
        yield from ((True, entity) for entity in new)


def merged(entities: Iterable[str], extra: Iterable[str]) -> Iterator[str]:
    """Two streams sorted by entity id, and without common entities, as one."""
    return heapq.merge(entities, sorted(extra))
