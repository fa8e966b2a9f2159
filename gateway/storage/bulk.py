"""Bulk inserts of rows whose values the driver takes as they are."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session


def insert_plain_rows(
    session: Session, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert rows with one executemany, skipping SQLAlchemy's per-value processing.

    For tables whose columns are integers, text and bytes only: those need no
    bind processing, and on the audit log that processing (one call per value,
    fifteen values per event) cost more than the insert itself. Columns with
    JSON, dates or other processed types must go through `session.execute`.
    """
    if not rows:
        return
    connection = session.connection()
    compiled = insert(table).compile(
        dialect=connection.dialect, column_keys=list(rows[0])
    )
    if compiled.positional:
        order = compiled.positiontup or []
        params: Sequence[Any] = [tuple(row[key] for key in order) for row in rows]
    else:
        params = rows
    connection.exec_driver_sql(str(compiled), params)
