"""Alembic environment: the URL comes from the gateway's settings or the caller."""

from alembic import context
from sqlalchemy import Connection

from gateway.settings import get_settings
from gateway.storage.db import make_engine
from gateway.storage.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over a connection handed in by the caller, or one made from settings."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or (
        get_settings().resolved_database_url
    )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported: run against a database")
run_migrations_online()
