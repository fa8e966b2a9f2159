"""Batch lookups by key, in the form each database plans best."""

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import ColumnElement, String, any_, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

# SQLite binds each IN value as a parameter: keep each list well under its limit.
SQLITE_CHUNK = 500


def key_batches(session: Session, keys: Iterable[str]) -> Iterator[list[str]]:
    """The distinct keys, in one batch on PostgreSQL, in chunks on SQLite."""
    ordered = sorted(set(keys))
    if session.get_bind().dialect.name == "postgresql":
        if ordered:
            yield ordered
        return
    for start in range(0, len(ordered), SQLITE_CHUNK):
        yield ordered[start : start + SQLITE_CHUNK]


def member_of(session: Session, column: Any, keys: list[str]) -> ColumnElement[bool]:
    """`column IN keys`; on PostgreSQL `= ANY(array)`: one parameter, one plan."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(keys, ARRAY(String)))
    result: ColumnElement[bool] = column.in_(keys)
    return result
