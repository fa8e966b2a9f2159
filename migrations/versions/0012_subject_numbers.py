"""Subjects numbered when first seen; records and audit events indexed by number.

Records and audit events were indexed by the subject's pseudonym, a keyed
hash: every insert landed on a random page of each index, and an ingested
batch of 500 dirtied about 450 pages per index (issue 14, item 9). Numbers
given in order of first sight land at the right edge instead.

`subject_keys` becomes the registry: an integer `number` as its primary key,
`subject_id` unique, and a row for every subject a record or an audit event
names, with no data key (`master_kid`, `wrapped_key` null) for those that
never had one. `records.subject_no` and `audit_events.subject_no` hold the
number; the pseudonym indexes go.

SQLite cannot change a primary key or add a NOT NULL column without a
default: `subject_keys` and `records` are rebuilt. `vault_entries`, whose
rows cascade from records, is rebuilt with them so that dropping the old
records table (foreign keys are enforced) deletes no vault row. The audit
log's append-only guards are lifted only for the one UPDATE that fills its
new column, in the same transaction.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 05:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "audit_events is append-only"
SQLITE_GUARDS = [
    f"""CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
]
POSTGRES_GUARD = "audit_events_no_update_delete"

KEY_COLUMNS = "subject_id, master_kid, wrapped_key, created_at, destroyed_at"
RECORD_COLUMNS = (
    "id, client_id, dataset, source_id, subject_id, purpose, content_hash,"
    " identifiers, data, policy_version, version, created_at, updated_at,"
    " link_fields, linkage_kid"
)
VAULT_COLUMNS = "record_id, subject_id, ciphertext"


def _sqlite_keys(numbered: bool) -> str:
    if numbered:
        return """CREATE TABLE subject_keys_rebuilt (
            number INTEGER NOT NULL,
            subject_id VARCHAR(80) NOT NULL,
            master_kid VARCHAR(16),
            wrapped_key BLOB,
            created_at DATETIME NOT NULL,
            destroyed_at DATETIME,
            PRIMARY KEY (number),
            UNIQUE (subject_id)
        )"""
    return """CREATE TABLE subject_keys_rebuilt (
        subject_id VARCHAR(80) NOT NULL,
        master_kid VARCHAR(16) NOT NULL,
        wrapped_key BLOB,
        created_at DATETIME NOT NULL,
        destroyed_at DATETIME,
        PRIMARY KEY (subject_id)
    )"""


def _sqlite_records(numbered: bool) -> str:
    number = "subject_no BIGINT NOT NULL," if numbered else ""
    return f"""CREATE TABLE records_rebuilt (
        id VARCHAR(36) NOT NULL,
        client_id VARCHAR(36) NOT NULL,
        dataset VARCHAR(64) NOT NULL,
        source_id VARCHAR(128) NOT NULL,
        subject_id VARCHAR(80) NOT NULL,
        {number}
        purpose VARCHAR(64) NOT NULL,
        content_hash VARCHAR(80) NOT NULL,
        identifiers JSON NOT NULL,
        data JSON NOT NULL,
        policy_version VARCHAR(80) NOT NULL,
        version INTEGER NOT NULL,
        created_at DATETIME NOT NULL,
        updated_at DATETIME NOT NULL,
        link_fields BLOB,
        linkage_kid VARCHAR(16),
        PRIMARY KEY (id),
        CONSTRAINT uq_records_source UNIQUE (source_id, client_id, dataset),
        FOREIGN KEY(client_id) REFERENCES clients (id)
    )"""


SQLITE_VAULT = """CREATE TABLE vault_entries_rebuilt (
    record_id VARCHAR(36) NOT NULL,
    subject_id VARCHAR(80) NOT NULL,
    ciphertext BLOB NOT NULL,
    PRIMARY KEY (record_id),
    FOREIGN KEY(record_id) REFERENCES records_rebuilt (id) ON DELETE CASCADE
)"""


def _register_seen() -> None:
    """Number every subject a record or an audit event names and no key row has."""
    now = sa.bindparam("now", datetime.now(UTC), type_=sa.DateTime(timezone=True))
    op.execute(
        sa.text(
            "INSERT INTO subject_keys (subject_id, created_at)"
            " SELECT seen.subject_id, :now FROM ("
            "   SELECT subject_id FROM records"
            "   UNION SELECT subject_id FROM audit_events"
            "   WHERE subject_id IS NOT NULL"
            " ) AS seen"
            " WHERE NOT EXISTS"
            "   (SELECT 1 FROM subject_keys k WHERE k.subject_id = seen.subject_id)"
            " ORDER BY seen.subject_id"
        ).bindparams(now)
    )


def _rebuild_sqlite_records(numbered: bool) -> None:
    """Copy records (and the vault rows that cascade from them) into new tables."""
    op.execute(_sqlite_records(numbered))
    if numbered:
        op.execute(
            f"INSERT INTO records_rebuilt ({RECORD_COLUMNS}, subject_no)"  # noqa: S608 - constants
            f" SELECT {RECORD_COLUMNS}, (SELECT k.number FROM subject_keys k"
            " WHERE k.subject_id = records.subject_id) FROM records"
        )
    else:
        op.execute(
            f"INSERT INTO records_rebuilt ({RECORD_COLUMNS})"  # noqa: S608 - constants
            f" SELECT {RECORD_COLUMNS} FROM records"
        )
    op.execute(SQLITE_VAULT)
    op.execute(
        f"INSERT INTO vault_entries_rebuilt ({VAULT_COLUMNS})"  # noqa: S608 - constants
        f" SELECT {VAULT_COLUMNS} FROM vault_entries"
    )
    # Nothing references the old tables once the vault's copy points at the
    # new records: dropping them cascades nowhere.
    op.execute("DROP TABLE vault_entries")
    op.execute("DROP TABLE records")
    op.execute("ALTER TABLE records_rebuilt RENAME TO records")
    op.execute("ALTER TABLE vault_entries_rebuilt RENAME TO vault_entries")


def _rebuild_sqlite_keys(numbered: bool) -> None:
    op.execute(_sqlite_keys(numbered))
    # Down, only the subjects that ever had a key keep a row.
    keyed = "" if numbered else " WHERE master_kid IS NOT NULL"
    op.execute(
        f"INSERT INTO subject_keys_rebuilt ({KEY_COLUMNS})"  # noqa: S608 - constants
        f" SELECT {KEY_COLUMNS} FROM subject_keys{keyed}"
        " ORDER BY created_at, subject_id"
    )
    op.execute("DROP TABLE subject_keys")
    op.execute("ALTER TABLE subject_keys_rebuilt RENAME TO subject_keys")


def _number_audit_events() -> None:
    """Fill audit_events.subject_no, with the append-only guards lifted for it."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(f"ALTER TABLE audit_events DISABLE TRIGGER {POSTGRES_GUARD}")
        op.execute(
            "UPDATE audit_events e SET subject_no = k.number FROM subject_keys k"
            " WHERE k.subject_id = e.subject_id"
        )
        op.execute(f"ALTER TABLE audit_events ENABLE TRIGGER {POSTGRES_GUARD}")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    op.execute(
        "UPDATE audit_events SET subject_no = (SELECT k.number FROM subject_keys k"
        " WHERE k.subject_id = audit_events.subject_id)"
        " WHERE subject_id IS NOT NULL"
    )
    for statement in SQLITE_GUARDS:
        op.execute(statement)


def _postgres_key_pk() -> str:
    name = sa.inspect(op.get_bind()).get_pk_constraint("subject_keys")["name"]
    return str(name)


def upgrade() -> None:
    """Number the subjects; index records and audit events by number."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(f"ALTER TABLE subject_keys DROP CONSTRAINT {_postgres_key_pk()}")
        op.execute("ALTER TABLE subject_keys ADD COLUMN number BIGSERIAL NOT NULL")
        op.execute("ALTER TABLE subject_keys ADD PRIMARY KEY (number)")
        op.execute("ALTER TABLE subject_keys ADD UNIQUE (subject_id)")
        op.execute("ALTER TABLE subject_keys ALTER COLUMN master_kid DROP NOT NULL")
        # Room for a registered subject's row to take its key in place (a
        # HOT update, no new index entry).
        op.execute("ALTER TABLE subject_keys SET (fillfactor = 50)")
    else:
        _rebuild_sqlite_keys(numbered=True)
    _register_seen()
    op.drop_index("ix_records_subject_id", table_name="records", if_exists=True)
    if postgres:
        op.add_column("records", sa.Column("subject_no", sa.BigInteger()))
        op.execute(
            "UPDATE records r SET subject_no = k.number FROM subject_keys k"
            " WHERE k.subject_id = r.subject_id"
        )
        op.alter_column("records", "subject_no", nullable=False)
    else:
        _rebuild_sqlite_records(numbered=True)
    op.create_index("ix_records_subject_no", "records", ["subject_no"])
    op.add_column("audit_events", sa.Column("subject_no", sa.BigInteger()))
    _number_audit_events()
    op.drop_index("ix_audit_events_subject_id", table_name="audit_events")
    op.create_index("ix_audit_events_subject_no", "audit_events", ["subject_no"])


def downgrade() -> None:
    """Back to pseudonym indexes; subjects that never had a key lose their row."""
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_audit_events_subject_no", table_name="audit_events")
    op.create_index("ix_audit_events_subject_id", "audit_events", ["subject_id"])
    op.drop_column("audit_events", "subject_no")
    op.drop_index("ix_records_subject_no", table_name="records")
    if postgres:
        op.drop_column("records", "subject_no")
        op.execute("DELETE FROM subject_keys WHERE master_kid IS NULL")
        op.execute(f"ALTER TABLE subject_keys DROP CONSTRAINT {_postgres_key_pk()}")
        op.execute("ALTER TABLE subject_keys DROP COLUMN number")
        op.execute(
            "ALTER TABLE subject_keys DROP CONSTRAINT subject_keys_subject_id_key"
        )
        op.execute("ALTER TABLE subject_keys ADD PRIMARY KEY (subject_id)")
        op.execute("ALTER TABLE subject_keys ALTER COLUMN master_kid SET NOT NULL")
        op.execute("ALTER TABLE subject_keys RESET (fillfactor)")
    else:
        _rebuild_sqlite_records(numbered=False)
        _rebuild_sqlite_keys(numbered=False)
    op.create_index("ix_records_subject_id", "records", ["subject_id"])
