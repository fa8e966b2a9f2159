"""Bulk writes: the larger SQLite page cache holds only while the write runs."""

import pytest
from sqlalchemy import text

from gateway.context import GatewayContext
from gateway.storage.bulk import bulk_cache
from gateway.storage.db import transaction


def test_bulk_cache_grows_the_sqlite_cache_only_inside(ctx: GatewayContext) -> None:
    with transaction(ctx.sessions) as session:
        sqlite = session.connection().dialect.name == "sqlite"
        before = session.execute(text("PRAGMA cache_size")).scalar() if sqlite else None
        with bulk_cache(session, mib=256):
            if sqlite:
                inside = session.execute(text("PRAGMA cache_size")).scalar()
                assert inside == -256 * 1024
            # The transaction goes on as usual inside.
            assert session.execute(text("SELECT 1")).scalar() == 1
        if sqlite:
            assert session.execute(text("PRAGMA cache_size")).scalar() == before


def test_bulk_cache_passes_a_failure_on_and_restores_the_cache(
    ctx: GatewayContext,
) -> None:
    with transaction(ctx.sessions) as session:
        sqlite = session.connection().dialect.name == "sqlite"
        before = session.execute(text("PRAGMA cache_size")).scalar() if sqlite else None
        with (
            pytest.raises(RuntimeError, match="the write failed"),
            bulk_cache(session, mib=128),
        ):
            raise RuntimeError("the write failed")
        if sqlite:
            assert session.execute(text("PRAGMA cache_size")).scalar() == before
