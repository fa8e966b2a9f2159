"""Proof of consent for consent events that came as a TCF TC string.

Three nullable columns on `consent_events`: the SHA-256 (hex) of the TC string
exactly as received, the id of the CMP that made it, and the LastUpdated time
it carries. The string itself is not kept: it is an identifier-like value,
and whoever holds it (the CMP and the partner must) can prove against the
hash that it is the one the gateway relied on. Null on every other event.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tcf_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("tcf_cmp_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("tcf_last_updated", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_column("tcf_last_updated")
        batch_op.drop_column("tcf_cmp_id")
        batch_op.drop_column("tcf_sha256")
