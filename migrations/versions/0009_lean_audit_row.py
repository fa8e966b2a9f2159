"""A leaner audit row: no index on `action`, no unique index on `event_id`.

Every appended event paid for both. `action` takes a handful of values, so
its index helps no query that reads more than a page or two, and the DPO's
searches go by subject (indexed) or read the log in order. `event_id` is a
UUIDv7 made by the gateway and bound into the event's canonical bytes: the
Merkle tree, not a unique index, is what makes it tamper-evident.

SQLite cannot drop a table's UNIQUE constraint: the table is rebuilt, its
append-only triggers set again. PostgreSQL drops the constraint in place.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "audit_events is append-only"
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
]
COLUMNS = (
    "seq, event_id, occurred_at, actor, action, subject_id, purpose, dataset,"
    " record_id, reason, policy_version, details, canonical, leaf_hash, chain_hash"
)


def _sqlite_table(unique_event_id: bool) -> str:
    unique = ", UNIQUE (event_id)" if unique_event_id else ""
    return f"""CREATE TABLE audit_events_rebuilt (
        seq BIGINT NOT NULL,
        event_id VARCHAR(36) NOT NULL,
        occurred_at VARCHAR(32) NOT NULL,
        actor VARCHAR(64) NOT NULL,
        action VARCHAR(48) NOT NULL,
        subject_id VARCHAR(80),
        purpose VARCHAR(64),
        dataset VARCHAR(64),
        record_id VARCHAR(36),
        reason VARCHAR(64),
        policy_version VARCHAR(80),
        details TEXT NOT NULL,
        canonical BLOB NOT NULL,
        leaf_hash BLOB NOT NULL,
        chain_hash BLOB NOT NULL,
        PRIMARY KEY (seq){unique}
    )"""


def _rebuild_sqlite(unique_event_id: bool) -> None:
    """Copy the log into a table with or without the unique event id, guards kept."""
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    op.execute(_sqlite_table(unique_event_id))
    op.execute(
        f"INSERT INTO audit_events_rebuilt ({COLUMNS})"  # noqa: S608 - constants
        f" SELECT {COLUMNS} FROM audit_events ORDER BY seq"
    )
    op.execute("DROP TABLE audit_events")
    op.execute("ALTER TABLE audit_events_rebuilt RENAME TO audit_events")
    op.create_index("ix_audit_events_subject_id", "audit_events", ["subject_id"])
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def _postgres_event_id_constraint() -> str | None:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("audit_events"):
        if constraint["column_names"] == ["event_id"]:
            return constraint["name"]
    return None


def upgrade() -> None:
    op.drop_index("ix_audit_events_action", table_name="audit_events")
    if op.get_bind().dialect.name == "postgresql":
        name = _postgres_event_id_constraint()
        if name is not None:
            op.drop_constraint(name, "audit_events", type_="unique")
    else:
        _rebuild_sqlite(unique_event_id=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_unique_constraint(
            "audit_events_event_id_key", "audit_events", ["event_id"]
        )
    else:
        _rebuild_sqlite(unique_event_id=True)
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
