"""SQL for what each destination was last delivered of a segment.

A delivery is kept per destination and public segment id, in page order,
which is entity order, as a run's segment members are. Both are read as
streams in that order, chunk by chunk, so a delivery is compared with its
segment in one pass (a segment can hold a million members; an anti-join
planned on stale statistics went quadratic on PostgreSQL), and a new one
is written chunk by chunk as it is drawn.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from gateway.storage.bulk import insert_tuples
from gateway.storage.lookup import key_batches, member_of
from gateway.storage.models import (
    ClientRow,
    ExportDeliveryRow,
    PipelineRunRow,
    SegmentMemberRow,
    SegmentRow,
)

# Rows read and written per statement when a delivery is compared and
# replaced: bounded memory whatever the segment's size.
READ_CHUNK = 20_000
WRITE_CHUNK = 20_000
COLUMNS = ("destination_id", "segment_id", "position", "entity_id")


def audiences_of(session: Session, public_id: str) -> list[str]:
    """The audiences of the runs that hold a segment with this public id."""
    stmt = (
        select(PipelineRunRow.audience)
        .join(SegmentRow, SegmentRow.run_id == PipelineRunRow.id)
        .where(SegmentRow.public_id == public_id)
        .distinct()
        .order_by(PipelineRunRow.audience)
    )
    return list(session.scalars(stmt))


def segment_in_run(session: Session, run_id: str, public_id: str) -> SegmentRow | None:
    """The run's segment with this public id, if the run has one."""
    stmt = select(SegmentRow).where(
        SegmentRow.run_id == run_id, SegmentRow.public_id == public_id
    )
    return session.scalars(stmt).first()


def lock_destination(session: Session, destination_id: str) -> None:
    """Serialize deliveries to one destination until the transaction ends.

    Two first pages of one segment pulled at once would each replace the
    delivery: the second would collide on positions. PostgreSQL locks the
    client row; SQLite's single writer already serializes them.
    """
    stmt = select(ClientRow.id).where(ClientRow.id == destination_id)
    session.execute(stmt.with_for_update())


def _delivered(destination_id: str, public_id: str) -> Any:
    return and_(
        ExportDeliveryRow.destination_id == destination_id,
        ExportDeliveryRow.segment_id == public_id,
    )


def _in_order(
    session: Session, column: Any, position: Any, where: Any
) -> Iterator[str]:
    """`column` of the rows matching `where`, by `position`, chunk by chunk.

    Each chunk is read to its end before it is yielded: queries and writes
    the caller makes in between never meet an open read on the connection.
    """
    after = -1
    while True:
        stmt = (
            select(position, column)
            .where(where, position > after)
            .order_by(position)
            .limit(READ_CHUNK)
        )
        rows = session.execute(stmt).all()
        if not rows:
            return
        after = rows[-1][0]
        yield from (entity for _, entity in rows)


def members_in_order(session: Session, segment_row_id: str) -> Iterator[str]:
    """A segment row's members in position order, which is entity order."""
    return _in_order(
        session,
        SegmentMemberRow.entity_id,
        SegmentMemberRow.position,
        SegmentMemberRow.segment_id == segment_row_id,
    )


def delivered_in_order(
    session: Session, destination_id: str, public_id: str
) -> Iterator[str]:
    """A destination's delivery of a segment in position order (entity order)."""
    return _in_order(
        session,
        ExportDeliveryRow.entity_id,
        ExportDeliveryRow.position,
        _delivered(destination_id, public_id),
    )


def replace_delivery(
    session: Session, destination_id: str, public_id: str, entities: Iterable[str]
) -> int:
    """Make these entities, in entity order, the delivery; how many were written.

    Positions run from 0 with no gap, as the run's own member positions
    do: a cursor never hints that someone was left out. `entities` may
    read the database: it is drawn between writes, never during one.
    """
    session.execute(
        delete(ExportDeliveryRow).where(_delivered(destination_id, public_id))
    )
    written = 0
    chunk: list[tuple[str, str, int, str]] = []
    for entity in entities:
        chunk.append((destination_id, public_id, written, entity))
        written += 1
        if len(chunk) == WRITE_CHUNK:
            insert_tuples(session, ExportDeliveryRow.__table__, COLUMNS, chunk)
            chunk = []
    insert_tuples(session, ExportDeliveryRow.__table__, COLUMNS, chunk)
    return written


def delivered_after(
    session: Session, destination_id: str, public_id: str, position: int, limit: int
) -> list[tuple[int, str]]:
    """Up to `limit` (position, entity_id) of the delivery after `position`."""
    stmt = (
        select(ExportDeliveryRow.position, ExportDeliveryRow.entity_id)
        .where(
            _delivered(destination_id, public_id),
            ExportDeliveryRow.position > position,
        )
        .order_by(ExportDeliveryRow.position)
        .limit(limit)
    )
    return [(pos, entity) for pos, entity in session.execute(stmt)]


def delivers_any(
    session: Session, destination_id: str, public_id: str, entities: Iterable[str]
) -> bool:
    """Whether the destination's delivery of the segment holds any of these."""
    for chunk in key_batches(session, entities):
        stmt = (
            select(ExportDeliveryRow.position)
            .where(
                _delivered(destination_id, public_id),
                member_of(session, ExportDeliveryRow.entity_id, chunk),
            )
            .limit(1)
        )
        if session.scalar(stmt) is not None:
            return True
    return False
