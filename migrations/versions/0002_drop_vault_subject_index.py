"""Drop the vault's subject index: nothing reads the vault by subject.

Vault rows are read and deleted by record id; a subject's records are found
through `records.subject_id`, and erasure destroys the subject's key in
`subject_keys`. The index cost a random-page write per ingested record (its
keys are keyed hashes, so every insert lands on a different page).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_vault_entries_subject_id", table_name="vault_entries")


def downgrade() -> None:
    op.create_index(
        "ix_vault_entries_subject_id", "vault_entries", ["subject_id"], unique=False
    )
