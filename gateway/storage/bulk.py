"""Bulk inserts: one executemany of driver-ready tuples per table."""

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows with one executemany, binding values column by column.

    `session.execute(insert(table), rows)` spends more time on SQLAlchemy's
    per-row parameter handling than SQLite spends inserting: here each column's
    bind processor (JSON serializer, date format...) is looked up once per
    batch and the driver gets plain tuples. Every row must have the same keys.
    """
    if not rows:
        return
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
