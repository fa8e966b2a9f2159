"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# WAL pages at which a committing writer copies the WAL into the database
# itself (SQLite's default is 1000): far above what the background
# checkpointer lets the WAL reach, a net for when it falls behind or is gone.
WAL_AUTOCHECKPOINT_PAGES = 10_000
# WAL size from which the background checkpointer copies it into the database.
# Smaller write-ahead logs are left alone: most of a test's databases never
# reach it, so their own explicit checkpoints never meet this one.
BACKGROUND_CHECKPOINT_BYTES = 4 << 20


class _Checkpointer:
    """Copies an SQLite database's WAL into its file beside the writers.

    With SQLite's own automatic checkpoint, the commit that takes the WAL
    past 1000 pages copies it all into the database file and syncs it before
    its request can answer: an ingested batch of 500 records writes about
    1500 pages (keyed-hash indexes put each insert on a page of its own), so
    every batch paid for a checkpoint on top of its own write. Here a thread
    runs a PASSIVE checkpoint after writes instead, on a connection of its
    own: it never waits for, nor blocks, a writer or a reader (the sqlite3
    module releases the GIL while SQLite copies), and durability is the
    WAL's, synced at every commit as before.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._wal = Path(f"{path}-wal")
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Note a write: the thread (started on first use) looks at the WAL."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._stop = threading.Event()
                    self._thread = threading.Thread(
                        target=self._run,
                        args=(self._stop,),
                        name="sqlite-checkpoint",
                        daemon=True,
                    )
                    self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """End the thread and close its connection; a later write starts another.

        Called when the engine is disposed of (its connections closed) or
        collected.
        """
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def _run(self, stop: threading.Event) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if stop.is_set():
                    return
                try:
                    if self._wal.stat().st_size < BACKGROUND_CHECKPOINT_BYTES:
                        continue
                    if connection is None:
                        connection = sqlite3.connect(
                            self._path,
                            timeout=0,
                            isolation_level=None,
                            check_same_thread=False,
                        )
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except (OSError, sqlite3.Error):
                    # Another process's checkpoint holds the lock, or the
                    # file is gone: the next write tries again, and the
                    # writers' own checkpoint is the net.
                    continue
        finally:
            if connection is not None:
                connection.close()


def _checkpoint_beside(engine: Engine) -> None:
    """Give a writing engine over an SQLite file its background checkpointer."""
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    checkpointer = _Checkpointer(path)

    # After the connection is back in the pool: its transaction is over, so
    # the checkpoint can copy all of it and the next writer restart the WAL.
    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, _record: Any) -> None:
        checkpointer.wake()

    @event.listens_for(engine, "engine_disposed")
    def _on_dispose(_engine: Engine) -> None:
        checkpointer.stop()

    weakref.finalize(engine, checkpointer.stop)


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
        if not read_only:
            # A net only: the background checkpointer keeps the WAL short.
            cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers need no write lock: in WAL mode they see a snapshot.
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    if not read_only:
        _checkpoint_beside(engine)


def _configure_postgres(engine: Engine) -> None:
    # Arrays go in binary: psycopg writes a list in text form element by
    # element in Python (quoting each string, hex-escaping each bytea), about
    # 3 us an element, and an ingested batch sends some 4,000 (its keys'
    # lookups, the data keys it stores). Binary costs a tenth of that, and
    # PostgreSQL reads the same typed array either way: only the wire changes.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


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
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if engine.dialect.driver == "psycopg":
        _configure_postgres(engine)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (responses are built after it)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
