"""SQLite engines: the WAL is checkpointed beside the writers, not in their commits."""

import os
import threading
import time
from pathlib import Path

from sqlalchemy import text

from gateway.storage.db import (
    BACKGROUND_CHECKPOINT_BYTES,
    WAL_AUTOCHECKPOINT_PAGES,
    make_engine,
    make_session_factory,
    transaction,
)

CHUNK = 1 << 20


def _checkpointers() -> int:
    return sum(t.name == "sqlite-checkpoint" for t in threading.enumerate())


def _write(url: str, megabytes: int) -> None:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        with transaction(sessions) as session:
            session.execute(text("CREATE TABLE IF NOT EXISTS blobs (b BLOB)"))
        for _ in range(megabytes):
            with transaction(sessions) as session:
                session.execute(
                    text("INSERT INTO blobs VALUES (:b)"), {"b": os.urandom(CHUNK)}
                )
    finally:
        engine.dispose()


def _wait_for(condition: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_long_wal_is_copied_into_the_database_by_the_background(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gateway.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    megabytes = 2 * BACKGROUND_CHECKPOINT_BYTES // CHUNK
    # Far below the writers' own checkpoint: only the background copies it.
    assert megabytes * CHUNK < WAL_AUTOCHECKPOINT_PAGES * 4096
    try:
        with transaction(sessions) as session:
            session.execute(text("CREATE TABLE blobs (b BLOB)"))
        for _ in range(megabytes):
            with transaction(sessions) as session:
                session.execute(
                    text("INSERT INTO blobs VALUES (:b)"), {"b": os.urandom(CHUNK)}
                )
        assert _wait_for(lambda: path.stat().st_size >= (megabytes - 1) * CHUNK), (
            path.stat().st_size
        )
        assert _checkpointers() >= 1
    finally:
        engine.dispose()


def test_a_short_wal_is_left_to_the_writers(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        with transaction(sessions) as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
        time.sleep(0.5)
        # Nothing copied yet: the file holds its first page (the header,
        # written when WAL mode was set), the table is in the WAL only.
        assert path.stat().st_size <= 4096
        assert Path(f"{path}-wal").stat().st_size > 0
    finally:
        engine.dispose()


def test_disposing_of_the_engine_ends_its_checkpointer(tmp_path: Path) -> None:
    before = _checkpointers()
    _write(f"sqlite:///{tmp_path / 'gateway.db'}", 1)
    assert _wait_for(lambda: _checkpointers() == before, 10.0)


def test_read_only_engines_have_none(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db"
    _write(f"sqlite:///{path}", 1)
    before = _checkpointers()
    engine = make_engine(f"sqlite:///{path}", read_only=True)
    try:
        with transaction(make_session_factory(engine)) as session:
            assert session.execute(text("SELECT count(*) FROM blobs")).scalar() == 1
        assert _checkpointers() == before
    finally:
        engine.dispose()
