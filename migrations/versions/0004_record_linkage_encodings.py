"""Linkage encodings on records: a keyed CLK, keyed block keys and the key's id.

Records stored before this revision have none: `gateway linkage backfill`
makes them from the vault (an audited, one-off command).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clk", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("block_keys", JSON_TYPE, nullable=True))
        batch_op.add_column(
            sa.Column("linkage_kid", sa.String(length=16), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("linkage_kid")
        batch_op.drop_column("block_keys")
        batch_op.drop_column("clk")
