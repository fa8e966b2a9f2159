"""Signed checkpoints of the audit log, kept as they were signed.

Each row is a C2SP tlog-checkpoint note the gateway signed: its tree size,
root hash and note text. Append-only, as the log: the gateway checks every new
checkpoint against the last one it signed, so that it never signs two trees
of which one is not a prefix of the other.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 20:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "audit_checkpoints is append-only"
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
]
POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$""",
    """CREATE TRIGGER audit_checkpoints_no_update_delete BEFORE UPDATE OR DELETE
    ON audit_checkpoints FOR EACH ROW
    EXECUTE FUNCTION audit_checkpoints_append_only()""",
    """CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE
    ON audit_checkpoints FOR EACH STATEMENT
    EXECUTE FUNCTION audit_checkpoints_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size"),
    )
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP TRIGGER IF EXISTS audit_checkpoints_no_truncate ON audit_checkpoints"
        )
        op.execute(
            "DROP TRIGGER IF EXISTS audit_checkpoints_no_update_delete"
            " ON audit_checkpoints"
        )
        op.execute("DROP FUNCTION IF EXISTS audit_checkpoints_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_delete")
    op.drop_table("audit_checkpoints")
