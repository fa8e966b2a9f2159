"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(url: str) -> bool:
    """Tell whether a URL names an SQLite database."""
    return url.startswith("sqlite")


def _configure_sqlite(engine: Engine, *, read_only: bool) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take the
    # write lock up front; we issue BEGIN IMMEDIATE ourselves so that a writer
    # holds the lock for its whole transaction (gapless audit sequence, no
    # lost updates between --workers processes).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged commit survives a crash of the machine, not only
        # of the process.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Erasure and retention delete vault rows and wrapped data keys: zero
        # the freed space, so the bytes do not linger in the file's free
        # pages (the WAL's copies go at its next checkpoint).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # 64 MiB of page cache (the default is 2 MiB): index pages of large
        # tables stay in memory between requests.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers need no write lock: in WAL mode they see a snapshot.
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _json_text(value: Any) -> str:
    # orjson is several times faster than json.dumps on the ingest hot path
    # (two JSON columns per record); the stored text is plain JSON either way.
    return orjson.dumps(value).decode()


def make_engine(url: str, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """Create an engine with the settings each backend needs.

    `read_only` engines (SQLite) begin deferred transactions that take no
    write lock; use them only for sessions that never write.
    """
    kwargs.setdefault("json_serializer", _json_text)
    if is_sqlite(url):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(engine, read_only=read_only)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (responses are built after it)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
