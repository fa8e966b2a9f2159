"""Policy versions are audited once per change, however often the gateway starts."""

from pathlib import Path

from sqlalchemy import select

from gateway.bootstrap import record_policy_version
from gateway.storage.db import transaction
from gateway.storage.models import AuditEventRow
from tests.databases import Database, gateway_context


def test_policy_loaded_is_audited_once_per_version(
    fresh_database: Database, tmp_path: Path
) -> None:
    with gateway_context(fresh_database, tmp_path / "home") as ctx:
        for expected in (True, False, False):
            with transaction(ctx.sessions) as session:
                assert record_policy_version(session, ctx, "test") is expected
        ctx.policies = ctx.policies.model_copy(update={"version": "sha256:changed"})
        with transaction(ctx.sessions) as session:
            assert record_policy_version(session, ctx, "test") is True
        with transaction(ctx.read_sessions) as session:
            versions = session.scalars(
                select(AuditEventRow.policy_version).where(
                    AuditEventRow.action == "policy.loaded"
                )
            ).all()
    assert versions[-1] == "sha256:changed"
    assert len(versions) == 2
