"""Which segments a destination may see now: the k-anonymity floor at pull time (pure).

Shared by the pipelines (at run time) and the export routes (at pull time),
so both apply exactly one rule.
"""

from collections.abc import Iterable, Mapping, Sequence


def remainder_ok(parent_size: int, kid_sizes: Iterable[int], floor: int) -> bool:
    """Whether a parent's members outside its shown children are none or enough.

    Showing a parent and some of its children tells, by subtraction, how many
    members the rest of the parent holds: that rest must pass the floor too.
    """
    remainder = parent_size - sum(kid_sizes)
    return remainder == 0 or remainder >= floor


def visible_ids(
    segments: Sequence[tuple[str, int, str | None]],
    sizes_now: Mapping[str, int],
    floor: int,
) -> set[str]:
    """The ids of the segments that may be shown under `floor`.

    A segment is withheld when it is under the floor, when its parent is
    withheld, or, with its siblings, when the parent's members outside its
    shown children are fewer than the floor but not none.

    Args:
        segments: ``(segment_id, level, parent_id)`` of every segment of a run.
        sizes_now: Current member count per segment id; a missing id counts 0.
        floor: The strictest floor that applies, at least 1.
    """
    if floor < 1:
        raise ValueError("the floor must be a positive integer")
    now = {sid: int(sizes_now.get(sid, 0)) for sid, _, _ in segments}
    visible: set[str] = set()
    for level in sorted({level for _, level, _ in segments}):
        shown: dict[str | None, list[str]] = {}
        for sid, row_level, parent in segments:
            parent_shown = parent is None or parent in visible
            if row_level == level and now[sid] >= floor and parent_shown:
                shown.setdefault(parent, []).append(sid)
        for parent, kids in shown.items():
            if parent is None or remainder_ok(
                now[parent], [now[k] for k in kids], floor
            ):
                visible.update(kids)
    return visible
