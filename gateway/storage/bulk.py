"""Bulk inserts: one statement of driver-ready rows per table.

SQLite gets one executemany (its inserts are cheap; the statement is not
what costs). PostgreSQL gets COPY FROM STDIN: psycopg's executemany sends,
and the server executes, one INSERT per row. An ingested batch of 500 (four
tables) spent 160 us per record in the driver with executemany and 96 with
COPY, statements and commit together (bench/profile_ingest.py --postgres,
same machine, same load).
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Dialect, LargeBinary, Table, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

# Rows per executemany when copying into SQLite.
COPY_CHUNK = 50_000
# SQLite page cache while a bulk write runs (`bulk_cache`).
BULK_CACHE_MIB = 768


def bind_processor(
    column_type: TypeEngine[Any], dialect: Dialect
) -> Callable[[Any], Any] | None:
    """The column's bind processor, or None where the driver takes the value as is.

    Both drivers take `bytes` for a binary column; SQLAlchemy's processor
    would copy every value into the driver's Binary wrapper first (a tenth of
    an audit batch's Python time: three hashes and the canonical bytes per
    event).
    """
    if isinstance(column_type, LargeBinary):
        return None
    processor: Callable[[Any], Any] | None = column_type.dialect_impl(
        dialect
    ).bind_processor(dialect)
    return processor


def insert_rows(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    binary: bool = False,
) -> None:
    """Insert rows with one executemany, binding values column by column.

    `session.execute(insert(table), rows)` spends more time on SQLAlchemy's
    per-row parameter handling than SQLite spends inserting: here each column's
    bind processor (JSON serializer, date format...) is looked up once per
    batch and the driver gets plain tuples. Every row must have the same keys.
    `binary`: see `_copy_in` (PostgreSQL only).
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    sql, positional, order, processors = _compiled_insert(
        table, tuple(rows[0]), dialect
    )
    if dialect.name == "postgresql":
        processed = _processed(rows, order, processors)
        _copy_in(connection, table, order, processed, binary=binary)
        return
    if positional:
        params: Sequence[Any] = _processed(rows, order, processors)
    else:
        rows_of = _processed(rows, order, processors)
        params = [dict(zip(order, values, strict=True)) for values in rows_of]
    connection.exec_driver_sql(sql, params)


_Compiled = tuple[str, bool, list[str], list[Callable[[Any], Any] | None]]
# By dialect object, not name: bind processors hold the engine's own settings
# (its JSON serializer); an engine disposed of takes its entries with it.
_ByColumns = dict[tuple[str, tuple[str, ...]], _Compiled]
_COMPILED: "WeakKeyDictionary[Dialect, _ByColumns]" = WeakKeyDictionary()


def _compiled_insert(
    table: Table, keys: tuple[str, ...], dialect: Dialect
) -> _Compiled:
    """The INSERT for these columns, its parameter order and bind processors.

    Made once per table, column set and dialect: compiling the statement for
    every batch cost about 6 us per record of a 500-record batch (three
    tables). PostgreSQL takes the order and processors only (COPY).
    """
    cache = _COMPILED.setdefault(dialect, {})
    cached = cache.get((table.name, keys))
    if cached is not None:
        return cached
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    positional = bool(compiled.positional)
    order = list(compiled.positiontup or []) if positional else list(keys)
    processors = [bind_processor(table.c[name].type, dialect) for name in order]
    made = (str(compiled), positional, order, processors)
    cache[table.name, keys] = made
    return made


def _processed(
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    processors: Sequence[Callable[[Any], Any] | None],
) -> list[tuple[Any, ...]]:
    """Rows as tuples in `keys` order, each column through its bind processor.

    Column by column; a column that holds one object in every row (a batch's
    timestamp, its policy version) goes through its processor once.
    """
    columns = []
    for key, processor in zip(keys, processors, strict=True):
        column = [row[key] for row in rows]
        if processor is not None:
            first = column[0]
            if all(value is first for value in column):
                column = [processor(first)] * len(column)
            else:
                column = [processor(value) for value in column]
        columns.append(column)
    return list(zip(*columns, strict=True))


def _copy_in(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    binary: bool = False,
) -> None:
    """PostgreSQL: rows into `table` with COPY FROM STDIN, in the open transaction.

    `binary`: COPY in binary format, each column dumped as the table's own
    type, when every one of them is a plain type (`_BINARY_SAFE`). Bytes
    then travel as they are instead of as hex text the server decodes
    again: an ingested batch's audit events and vault rows (hashes,
    canonical bytes, ciphertexts) cost the driver and the server about half
    as much. Only for callers whose values are exactly those types (text,
    int, bytes, bool, timezone-aware datetime, None; for JSONB, the
    object itself or its column's bind processor's wrapper, never JSON
    text, which would be stored as one JSON string): binary COPY refuses
    anything else instead of converting it.

    A driver error (a unique key taken by a concurrent twin, a deadlock) is
    raised as SQLAlchemy's own exception class, as an executemany's would be,
    so the callers' retries see no difference.
    """
    driver = connection.connection.driver_connection
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    types = _binary_types(connection, table, columns) if binary else None
    options = "" if types is None else " (FORMAT BINARY)"
    sql = f"COPY {quote(table.name)} ({names}) FROM STDIN{options}"
    dbapi = connection.dialect.loaded_dbapi
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
            if types is not None:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as err:
        raise DBAPIError.instance(
            sql, None, err, dbapi.Error, dialect=connection.dialect
        ) from err


# PostgreSQL types whose binary form psycopg writes from the plain Python
# value a hot path holds.
_BINARY_SAFE = frozenset(
    {
        "bigint",
        "integer",
        "smallint",
        "boolean",
        "text",
        "character varying",
        "bytea",
        "timestamp with time zone",
        # Dumped by psycopg's JSONB dumper with the engine's serializer: the
        # same JSON text, behind JSONB's one-byte version header.
        "jsonb",
    }
)
# Column types as the database has them (not as the models say), by table.
_TYPES: "WeakKeyDictionary[Dialect, dict[str, dict[str, str]]]" = WeakKeyDictionary()


def _binary_types(
    connection: Connection, table: Table, columns: Sequence[str]
) -> list[str] | None:
    """The columns' PostgreSQL types for a binary COPY, or None when one is not plain.

    Read from the catalog once per table and engine: a binary field must be
    exactly its column's type (an int4 column refuses eight bytes).
    """
    known = _TYPES.setdefault(connection.dialect, {})
    types = known.get(table.name)
    if types is None:
        rows = connection.exec_driver_sql(
            "SELECT attname, atttypid::regtype::text FROM pg_attribute"
            " WHERE attrelid = CAST(%(table)s AS regclass)"
            " AND attnum > 0 AND NOT attisdropped",
            {"table": table.name},
        )
        types = {str(row[0]): str(row[1]) for row in rows}
        known[table.name] = types
    wanted = [types.get(column, "") for column in columns]
    return wanted if all(kind in _BINARY_SAFE for kind in wanted) else None


_INSERTS: dict[tuple[str, tuple[str, ...], str], str] = {}


def _positional_insert(table: Table, columns: Sequence[str], dialect: Dialect) -> str:
    """`INSERT ... VALUES (?, ...)` in the driver's own positional placeholders."""
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    marks = ", ".join([mark] * len(columns))
    return f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608 - quoted names


def insert_tuples(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    binary: bool = False,
) -> None:
    """Insert plain rows in `columns` order with one executemany, as they are.

    For hot paths whose values every driver takes unprocessed (text, integers,
    bytes, None): no row dicts, no bind processors, the statement written
    once per process in the driver's positional placeholders (SQLite's `?`);
    COPY on PostgreSQL (`binary`: see `_copy_in`).
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        unknown = set(columns) - set(table.c.keys())
        if unknown:
            raise ValueError(f"no such columns in {table.name}: {sorted(unknown)}")
        _copy_in(connection, table, columns, rows, binary=binary)
        return
    key = (table.name, tuple(columns), dialect.name)
    if key not in _INSERTS:
        unknown = set(columns) - set(table.c.keys())
        if unknown:
            raise ValueError(f"no such columns in {table.name}: {sorted(unknown)}")
        _INSERTS[key] = _positional_insert(table, columns, dialect)
    connection.exec_driver_sql(_INSERTS[key], rows)


def copy_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """Load many plain rows (text and integers) as fast as the database allows.

    PostgreSQL: COPY FROM STDIN, an order of magnitude faster than
    executemany for millions of rows. SQLite: executemany in chunks (it has
    no COPY; inserts inside one transaction are already fast there).
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        names = ", ".join(f'"{name}"' for name in columns)
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return
    order = list(columns)
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=order)
    if list(compiled.positiontup or order) != order:
        raise ValueError("column order must match the compiled insert")
    sql = str(compiled)
    chunk: list[Sequence[Any]] = []
    for row in rows:
        chunk.append(tuple(row))
        if len(chunk) == COPY_CHUNK:
            connection.exec_driver_sql(sql, chunk)
            chunk = []
    if chunk:
        connection.exec_driver_sql(sql, chunk)


@contextmanager
def bulk_cache(session: Session, mib: int = BULK_CACHE_MIB) -> Iterator[None]:
    """On SQLite, a page cache of `mib` MiB for the writes inside, then the old one.

    Millions of rows inserted into a table with text keys and a second index
    touch B-tree pages all over both: with the connection's usual cache
    (64 MiB) each insert reads back a page it evicted moments before, and
    the write takes two to four times as long (a pipeline run's entity keys
    at a million people: measured). Pages are allocated as they are used,
    so the cache grows only as far as the write needs. PostgreSQL: nothing.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{int(mib) * 1024}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")
