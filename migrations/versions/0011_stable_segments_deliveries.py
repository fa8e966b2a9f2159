"""Stable segment ids across runs; what each destination was last delivered.

`segments.public_id` is the id destinations see. A segment that is
essentially the one of the previous run (matched by membership overlap)
keeps the previous run's public id, so destinations are not flooded with new
ids; the row id stays per run. Existing segments keep their row id as their
public id.

`export_deliveries` holds, per destination and segment (public id), the
members it was last delivered, in page order. A new pull is computed against
it: entries and exits smaller than the floor are held back (difference
protection), and pages are read from it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=36), nullable=True))
    op.execute("UPDATE segments SET public_id = id")
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.alter_column(
            "public_id", existing_type=sa.String(length=36), nullable=False
        )
        batch_op.create_unique_constraint("uq_segments_public", ["run_id", "public_id"])
        batch_op.create_index("ix_segments_public", ["public_id"], unique=False)
    op.create_table(
        "export_deliveries",
        sa.Column("destination_id", sa.String(length=36), nullable=False),
        sa.Column("segment_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["destination_id"], ["clients.id"]),
        sa.PrimaryKeyConstraint("destination_id", "segment_id", "position"),
    )
    op.create_index(
        "ix_export_deliveries_entity", "export_deliveries", ["entity_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_export_deliveries_entity", table_name="export_deliveries")
    op.drop_table("export_deliveries")
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_index("ix_segments_public")
        batch_op.drop_constraint("uq_segments_public", type_="unique")
        batch_op.drop_column("public_id")
