"""Segmentation runs: runs, their segments and members, and entity identifiers.

Members are entity ids, never destination ids: those are derived per
destination at pull time. `run_entity_keys` maps each entity to the
identifier pseudonyms and subjects it was built from, so that consent
withdrawn and subjects erased after a run are honoured at pull time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 22:11:35.657534
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=80), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", JSON_TYPE, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_pipeline_runs_latest", "pipeline_runs", ["audience", "finished_at"]
    )
    op.create_table(
        "run_entity_keys",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("identifier_key", sa.String(length=80), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.Column("subject_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["pipeline_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "identifier_key", "entity_id"),
    )
    op.create_index(
        "ix_run_entity_keys_entity", "run_entity_keys", ["run_id", "entity_id"]
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["pipeline_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "label", name="uq_segments_label"),
    )
    op.create_table(
        "segment_members",
        sa.Column("segment_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("segment_id", "position"),
    )
    op.create_index("ix_segment_members_entity", "segment_members", ["entity_id"])


def downgrade() -> None:
    op.drop_index("ix_segment_members_entity", table_name="segment_members")
    op.drop_table("segment_members")
    op.drop_table("segments")
    op.drop_index("ix_run_entity_keys_entity", table_name="run_entity_keys")
    op.drop_table("run_entity_keys")
    op.drop_index("ix_pipeline_runs_latest", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
