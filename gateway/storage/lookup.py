"""Batch lookups by key, in the form each database plans best."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, String, any_, bindparam, literal
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


def sqlite_rows(
    session: Session, template: str, fixed: tuple[Any, ...], chunk: list[str]
) -> Iterable[Sequence[Any]]:
    """Run an SQLite lookup by the driver: `{marks}` becomes one `?` per key.

    SQLAlchemy's expanding IN renders and binds every key in Python at each
    execution, and its result rows cost more again: for the lookups each
    ingested batch makes, the driver alone takes a fraction of the time.
    `fixed` binds the placeholders written before `{marks}`.
    """
    sql = template.format(marks=", ".join(["?"] * len(chunk)))
    return session.connection().exec_driver_sql(sql, (*fixed, *chunk))


def sqlite_reader(session: Session, column: Any) -> Callable[[Any], Any]:
    """How SQLAlchemy would read a driver value of `column` (e.g. a timestamp).

    SQLite's driver hands timestamps back as text and booleans as integers;
    the column type's own result processor turns them into Python values.
    """
    dialect = session.get_bind().dialect
    processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
    return processor if processor is not None else _same


def _same(value: Any) -> Any:
    return value


def member_of(session: Session, column: Any, keys: list[str]) -> ColumnElement[bool]:
    """`column IN keys`; on PostgreSQL `= ANY(array)`: one parameter, one plan."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(keys, ARRAY(String)))
    result: ColumnElement[bool] = column.in_(keys)
    return result


def member_of_param(dialect_name: str, column: Any, name: str) -> ColumnElement[bool]:
    """`column IN :name`, the keys bound at execution: a statement built once.

    `member_of` coerces every key into the statement each time it is built
    (a tenth of a 500-record batch's consent lookup in SQLAlchemy's Python);
    here the list goes to the driver as a parameter: one `= ANY(array)` on
    PostgreSQL, an expanding IN on SQLite. Bind it with `key_batches` chunks.
    """
    if dialect_name == "postgresql":
        keys: BindParameter[list[str]] = bindparam(name, type_=ARRAY(String))
        return column == any_(keys)
    result: ColumnElement[bool] = column.in_(bindparam(name, expanding=True))
    return result
