"""A destination's delivery of a segment: computed at its first page, paged after.

The first page of a pull decides what the destination gets this time,
against what it was last delivered (`gateway.export.difference`): entrants
and leavers fewer than the floor are held back. The last delivery and the
segment are walked side by side in entity order, chunk by chunk; only the
first `floor` members of each group are kept (a held group is smaller), so
a segment of a million members never comes into memory. The delivery is
rewritten only when it changes (`_unchanged`).

What may still be sent, and what leaves at once whatever the count:
entities of the audience's latest run that did not lapse since it. A
delivered entity the latest run does not hold at all (its records expired,
its consent was gone before the run) cannot have its consent checked again
at pull time, so it is never held back as a leaver.

Every page, the first and the following ones, skips entities that lapsed
since the run and any the latest run does not hold: consent is checked
again at each page, and a delivery computed before a newer run finished
sends nobody that run dropped.
"""

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from gateway.export.difference import Held, held_back, merged, sorted_differences
from gateway.storage import deliveries_repo, segments_repo
from gateway.storage.models import SegmentRow


@dataclass(frozen=True, slots=True)
class Target:
    """Which delivery: a destination's, of a segment row of the latest run."""

    destination_id: str
    segment: SegmentRow
    run_id: str
    lapsed: frozenset[str]


# Leavers checked against the latest run per query.
CHECK_CHUNK = 5_000


@dataclass
class _Group:
    """A group of entrants or leavers: its size, and its first `floor` members.

    Only a group under the floor is ever held back, so no more of it is kept.
    """

    floor: int
    count: int = 0
    first: list[str] = field(default_factory=list)

    def add(self, entity: str) -> None:
        self.count += 1
        if len(self.first) < self.floor:
            self.first.append(entity)


def _leavers_in_run(
    session: Session, run_id: str, candidates: list[str], group: _Group
) -> int:
    """Count into `group` the candidates the latest run still holds; the others."""
    held_by_run = segments_repo.entities_in_run(session, run_id, candidates)
    for entity in candidates:
        if entity in held_by_run:
            group.add(entity)
    return len(candidates) - len(held_by_run)


def _compare(
    session: Session, target: Target, floor: int
) -> tuple[_Group, _Group, int]:
    """Entrants and leavers that may still be sent, walking both in entity order.

    The third figure counts the delivered entities the latest run dropped:
    they leave whatever their number.
    """
    entering, leaving = _Group(floor), _Group(floor)
    dropped = 0
    candidates: list[str] = []
    seen = deliveries_repo.delivered_in_order(
        session, target.destination_id, target.segment.public_id
    )
    current = deliveries_repo.members_in_order(session, target.segment.id)
    for joins, entity in sorted_differences(seen, current):
        if entity in target.lapsed:
            continue
        if joins:
            entering.add(entity)
            continue
        candidates.append(entity)
        if len(candidates) == CHECK_CHUNK:
            dropped += _leavers_in_run(session, target.run_id, candidates, leaving)
            candidates = []
    dropped += _leavers_in_run(session, target.run_id, candidates, leaving)
    return entering, leaving, dropped


def _unchanged(
    session: Session, target: Target, held: Held, found: tuple[_Group, _Group, int]
) -> bool:
    """Whether the new delivery is the stored one exactly; then it is not rewritten.

    It is when no group is released (each empty or held back) and nobody
    must leave at once: none dropped by the latest run, none of the
    delivery lapsed. Not rewriting spares a re-pull of a million members
    the delete and insert of a million rows. A lapsed member must go from
    the stored delivery, not only be skipped at each page: if they consent
    again, they come back as an entrant, held back under the floor.
    """
    entering, leaving, dropped = found
    released = (entering.count and not held.entering) or (
        leaving.count and not held.leaving
    )
    return (
        not released
        and dropped == 0
        and not deliveries_repo.delivers_any(
            session, target.destination_id, target.segment.public_id, target.lapsed
        )
    )


def deliver(session: Session, target: Target, floor: int) -> Held:
    """Replace the destination's delivery of the segment; how many were held back."""
    deliveries_repo.lock_destination(session, target.destination_id)
    entering, leaving, dropped = _compare(session, target, floor)
    held = held_back(entering.count, leaving.count, floor)
    if _unchanged(session, target, held, (entering, leaving, dropped)):
        return held
    skip = target.lapsed | frozenset(entering.first if held.entering else ())
    members = deliveries_repo.members_in_order(session, target.segment.id)
    deliveries_repo.replace_delivery(
        session,
        target.destination_id,
        target.segment.public_id,
        merged(
            (entity for entity in members if entity not in skip),
            leaving.first if held.leaving else (),
        ),
    )
    return held


def read_page(
    session: Session, target: Target, after: int, size: int
) -> tuple[list[str], int, bool]:
    """Up to `size` delivered entities after position `after` that may go out now.

    Returns:
        The entities, the position of the last one looked at, and whether
        the delivery holds more after it.
    """
    destination, public = target.destination_id, target.segment.public_id
    members: list[str] = []
    last = after
    while len(members) < size:
        rows = deliveries_repo.delivered_after(session, destination, public, last, size)
        if not rows:
            return members, last, False
        held_by_run = segments_repo.entities_in_run(
            session, target.run_id, [entity for _, entity in rows]
        )
        for position, entity in rows:
            last = position
            if entity in held_by_run and entity not in target.lapsed:
                members.append(entity)
                if len(members) == size:
                    break
    more = bool(deliveries_repo.delivered_after(session, destination, public, last, 1))
    return members, last, more
