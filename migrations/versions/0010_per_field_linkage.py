"""Per-field linkage encodings, sealed; what incremental linkage keeps per run.

The record-level CLK and its block keys give way to one sealed blob of
per-field encodings (`gateway.linkage.sealed`). The old encodings cannot be
turned into the new ones without the clear values, so they are dropped and
every record's `linkage_kid` is cleared: `gateway linkage backfill` rebuilds
them from the vault (audited), and until it has, those records link only
through their identifier pseudonyms.

`run_linkage` keeps, for the latest run of each audience, the learned model
and each record's entity, so that the next run links new records to them
instead of relinking everything.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_fields", sa.LargeBinary(), nullable=True))
        batch_op.drop_column("block_keys")
        batch_op.drop_column("clk")
    op.execute("UPDATE records SET linkage_kid = NULL")
    op.create_table(
        "run_linkage",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("linkage_kid", sa.String(length=16), nullable=True),
        sa.Column("model", JSON_TYPE, nullable=False),
        sa.Column("incremental_runs", sa.Integer(), nullable=False),
        sa.Column("record_entities", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["pipeline_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_index(
        op.f("ix_run_linkage_audience"), "run_linkage", ["audience"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_run_linkage_audience"), table_name="run_linkage")
    op.drop_table("run_linkage")
    op.execute("UPDATE records SET linkage_kid = NULL")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clk", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("block_keys", JSON_TYPE, nullable=True))
        batch_op.drop_column("link_fields")
