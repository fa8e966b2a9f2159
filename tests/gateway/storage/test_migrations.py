"""Models and migrations never drift; every revision goes down and back up."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from gateway.storage import migrate
from gateway.storage.db import make_engine
from gateway.storage.models import Base
from tests.databases import BOTH, Database


@BOTH
def test_models_match_migrations(fresh_database: Database) -> None:
    engine = make_engine(fresh_database.url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


@BOTH
def test_downgrade_then_upgrade_round_trips(
    fresh_database: Database, tmp_path: Path
) -> None:
    engine = make_engine(fresh_database.url)
    try:
        migrate.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
