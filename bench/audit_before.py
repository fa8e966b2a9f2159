"""The audit log's append as it was before the Merkle tree (issue 12's baseline).

Issue 12 asks that appending a batch with the tree "costs no more than
today's chain", measured in the same run. "Today's chain" is this code, frozen
as it stood at commit e6e9284 (the last before the tree: gateway/audit/event.py
`seal`, gateway/ids.py `uuid7`, gateway/storage/bulk.py `insert_rows` and
gateway/storage/audit_repo.py `append`), so that speeding up the live path
cannot speed up its own baseline. It runs on a database at the schema of
that time (`BEFORE_REVISION`), through the same driver, with the same lock.
"""

import hashlib
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from gateway.audit.event import AuditEvent
from gateway.storage.models import AuditEventRow

# The last revision before the Merkle tree (migration 0005).
BEFORE_REVISION = "0004"
_HEAD = Table(
    "audit_head",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("size", BigInteger),
    Column("chain_hash", LargeBinary(32)),
)

_MILLIS_MASK = (1 << 48) - 1
_CLEAR_VERSION_VARIANT = ~((0xF << 76) | (0x3 << 62))
_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0x2 << 62


def _uuid7(now: datetime) -> str:
    millis = int(now.timestamp() * 1000) & _MILLIS_MASK
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & _CLEAR_VERSION_VARIANT) | _VERSION_7 | _VARIANT_RFC
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _canonical_json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _seal(
    seq: int, event_id: str, occurred_at: str, event: AuditEvent, previous: bytes
) -> tuple[int, str, str, AuditEvent, bytes, bytes, bytes]:
    data = _canonical_json(
        {
            "v": 1,
            "seq": seq,
            "event_id": event_id,
            "occurred_at": occurred_at,
            "actor": event.actor,
            "action": event.action,
            "subject_id": event.subject_id,
            "purpose": event.purpose,
            "dataset": event.dataset,
            "record_id": event.record_id,
            "reason": event.reason,
            "policy_version": event.policy_version,
            "details": event.details,
        }
    )
    leaf = hashlib.sha256(b"\x00" + data).digest()
    chain = hashlib.sha256(previous + leaf).digest()
    return seq, event_id, occurred_at, event, data, leaf, chain


def _insert_rows(
    session: Session, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    connection = session.connection()
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    order: list[str] = list(compiled.positiontup or []) if compiled.positional else []
    if not compiled.positional:
        order = list(rows[0])
    processors: list[Callable[[Any], Any] | None] = [
        table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in order
    ]
    columns = [
        [row[key] for row in rows]
        if processor is None
        else [processor(row[key]) for row in rows]
        for key, processor in zip(order, processors, strict=True)
    ]
    if compiled.positional:
        params: Sequence[Any] = list(zip(*columns, strict=True))
    else:
        rows_of = zip(*columns, strict=True)
        params = [dict(zip(order, values, strict=True)) for values in rows_of]
    connection.exec_driver_sql(str(compiled), params)


def append_before(
    session: Session, events: Sequence[AuditEvent], now: datetime
) -> None:
    """Seal and append events as the chain-only log did."""
    size, previous = session.execute(
        select(_HEAD.c.size, _HEAD.c.chain_hash)
        .where(_HEAD.c.id == 1)
        .with_for_update()
    ).one()
    occurred_at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sealed = []
    for offset, event in enumerate(events):
        item = _seal(size + offset, _uuid7(now), occurred_at, event, previous)
        sealed.append(item)
        previous = item[6]
    rows = [
        {
            "seq": seq,
            "event_id": event_id,
            "occurred_at": at,
            "actor": event.actor,
            "action": event.action,
            "subject_id": event.subject_id,
            "purpose": event.purpose,
            "dataset": event.dataset,
            "record_id": event.record_id,
            "reason": event.reason,
            "policy_version": event.policy_version,
            "details": _canonical_json(event.details).decode(),
            "canonical": data,
            "leaf_hash": leaf,
            "chain_hash": chain,
        }
        for seq, event_id, at, event, data, leaf, chain in sealed
    ]
    _insert_rows(session, AuditEventRow.__table__, rows)
    last = sealed[-1]
    session.execute(
        update(_HEAD)
        .where(_HEAD.c.id == 1)
        .values(size=last[0] + 1, chain_hash=last[6])
    )
