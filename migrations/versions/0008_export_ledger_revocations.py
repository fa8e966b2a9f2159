"""What each destination was sent, and what it must now delete (GDPR Art. 19).

`export_ledger` keeps, per destination and audience, the entities it pulled;
`revocations` the entities erased or whose consent was withdrawn since. Both
hold gateway pseudonyms only; the feed a destination reads is their join, in
the destination's own ids.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "export_ledger",
        sa.Column("destination_id", sa.String(length=36), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.Column("first_pulled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["destination_id"], ["clients.id"]),
        sa.PrimaryKeyConstraint("destination_id", "audience", "entity_id"),
    )
    op.create_index("ix_export_ledger_entity", "export_ledger", ["entity_id"])
    op.create_table(
        "revocations",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_revocations_entity", "revocations", ["entity_id"])


def downgrade() -> None:
    op.drop_index("ix_revocations_entity", table_name="revocations")
    op.drop_table("revocations")
    op.drop_index("ix_export_ledger_entity", table_name="export_ledger")
    op.drop_table("export_ledger")
