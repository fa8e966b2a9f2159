"""Throwaway databases for tests: an SQLite file, or a PostgreSQL database."""

import atexit
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import (
    AbstractContextManager,
    ExitStack,
    closing,
    contextmanager,
    nullcontext,
)
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from gateway.bootstrap import build_context
from gateway.context import GatewayContext
from gateway.crypto.keyring import ensure_keyring
from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine

PROJECT_ROOT = Path(__file__).resolve().parents[1]
POLICIES = PROJECT_ROOT / "policies"
# For tests that take a `fresh_database` (or `fresh_ctx`) of their own, on
# both backends.
BOTH = pytest.mark.parametrize(
    "fresh_database",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)


@dataclass(frozen=True)
class Database:
    """A migrated test database."""

    backend: str
    url: str


def in_ci() -> bool:
    """Whether the tests run in CI, where a missing service fails, never skips."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_admin_url() -> str:
    """The PostgreSQL URL tests may create databases with; fails under CI if unset."""
    url = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
    if not url:
        if in_ci():
            pytest.fail("GATEWAY_TEST_POSTGRES_URL is required in CI")
        pytest.skip("GATEWAY_TEST_POSTGRES_URL unset")
    return url


@contextmanager
def scratch_postgres(
    admin_url: str, prefix: str = "gateway_test", template: str | None = None
) -> Iterator[str]:
    """Create a PostgreSQL database, yield its URL, drop it (WITH FORCE) after.

    Shared with bench/, whose scripts make their own databases the same way.
    With `template`, the new database is a copy of that one.
    """
    admin = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def _migrate(url: str, migrate_to: str) -> None:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, migrate_to)
    finally:
        engine.dispose()


# A database migrated to head once per test process and backend, which each
# test's database then copies (a file copy, or CREATE DATABASE ... TEMPLATE):
# the same schema and alembic_version that the migrations give, without
# running them again for each of several hundred tests (0.1 s on SQLite,
# 0.3 s on PostgreSQL). The migrations themselves are tested on their own
# (`tests/gateway/storage/test_migrations.py`).
_HEAD_TEMPLATES: dict[str, str] = {}


def _sqlite_head_template() -> Path:
    if "sqlite" not in _HEAD_TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="gateway-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "gateway.db"
        _migrate(f"sqlite:///{path}", "head")
        # Everything in the database file itself, so that a copy of the file
        # alone is the whole database.
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _HEAD_TEMPLATES["sqlite"] = str(path)
    return Path(_HEAD_TEMPLATES["sqlite"])


def _postgres_head_template() -> str:
    if "postgres" not in _HEAD_TEMPLATES:
        dropped = ExitStack()
        atexit.register(dropped.close)
        url = dropped.enter_context(
            scratch_postgres(postgres_admin_url(), "gateway_template")
        )
        _migrate(url, "head")
        _HEAD_TEMPLATES["postgres"] = make_url(url).database or ""
    return _HEAD_TEMPLATES["postgres"]


@contextmanager
def throwaway_database(
    backend: str, directory: Path, migrate_to: str = "head"
) -> Iterator[Database]:
    """A new database migrated to `migrate_to`, removed afterwards."""
    at_head = migrate_to == "head"
    if backend == "sqlite":
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "gateway.db"
        if at_head:
            shutil.copyfile(_sqlite_head_template(), path)
        urls: AbstractContextManager[str] = nullcontext(f"sqlite:///{path}")
    else:
        template = _postgres_head_template() if at_head else None
        urls = scratch_postgres(postgres_admin_url(), template=template)
    with urls as url:
        if migrate_to and not at_head:
            _migrate(url, migrate_to)
        yield Database(backend, url)


def settings_for(database: Database, home: Path, **overrides: object) -> Settings:
    """Settings for a test: its own home, the project's policies, a test keyring."""
    values: dict[str, object] = {
        "home": home,
        "database_url": database.url,
        "policies": POLICIES,
        "keyring": home / "keys" / "keyring.json",
        "rate_limit_per_minute": 1_000_000,
        "rate_limit_unauthenticated_per_minute": 1_000_000,
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


@contextmanager
def gateway_context(
    database: Database, home: Path, **overrides: object
) -> Iterator[GatewayContext]:
    """A context with keys made for the test, over a migrated database."""
    settings = settings_for(database, home, **overrides)
    ensure_keyring(settings.keyring_path, datetime.now(UTC))
    context = build_context(settings)
    try:
        yield context
    finally:
        context.dispose()
