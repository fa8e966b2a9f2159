"""The audit log becomes an RFC 6962 Merkle tree: stored subtree hashes, a root.

`audit_nodes` holds the hash of every complete, aligned subtree of 16 leaves
or more (level h >= 4, index i: leaves [i * 2^h, (i + 1) * 2^h)); leaves stay
in `audit_events.leaf_hash`, and smaller subtrees are hashed again from them. Proofs read O(log n) of these rows and appending
writes about one per event, never a rebuild. The head gains the tree's root
and its right frontier (the roots of the complete subtrees that make up the
tree, largest first, after the size), so that an append reads one row.

An existing log is folded into nodes here, once; the fold is written out in
full rather than imported so that this revision means the same thing forever.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 20:30:00
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "audit_nodes is append-only"
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
]
POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION audit_nodes_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$""",
    """CREATE TRIGGER audit_nodes_no_update_delete BEFORE UPDATE OR DELETE
    ON audit_nodes FOR EACH ROW EXECUTE FUNCTION audit_nodes_append_only()""",
    """CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE
    ON audit_nodes FOR EACH STATEMENT EXECUTE FUNCTION audit_nodes_append_only()""",
]
EMPTY_ROOT = hashlib.sha256(b"").digest()
# As gateway.audit.log.STORED_FROM_LEVEL: smaller subtrees are hashed again
# from their leaves when a proof needs them.
STORED_FROM_LEVEL = 4


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _fold_existing_log() -> tuple[bytes, bytes]:
    """Insert the nodes of the log as it stands; return its root and frontier."""
    bind = op.get_bind()
    nodes = sa.table(
        "audit_nodes",
        sa.column("level", sa.Integer()),
        sa.column("idx", sa.BigInteger()),
        sa.column("hash", sa.LargeBinary()),
    )
    leaves = bind.execute(sa.text("SELECT leaf_hash FROM audit_events ORDER BY seq"))
    # The right frontier: (level, hash) of complete subtrees, largest first.
    frontier: list[tuple[int, bytes]] = []
    rows: list[dict[str, object]] = []
    size = 0
    for (leaf,) in leaves:
        level, current = 0, bytes(leaf)
        size += 1
        while frontier and frontier[-1][0] == level:
            _, left = frontier.pop()
            current = _node(left, current)
            level += 1
            if level >= STORED_FROM_LEVEL:
                rows.append({"level": level, "idx": (size >> level) - 1, "hash": current})
        frontier.append((level, current))
        if len(rows) >= 5000:
            op.bulk_insert(nodes, rows)
            rows = []
    if rows:
        op.bulk_insert(nodes, rows)
    # Serialized as gateway.audit.merkle.Frontier.to_bytes writes it: the
    # size as 8 bytes big-endian, then the hashes.
    serialized = size.to_bytes(8, "big") + b"".join(h for _, h in frontier)
    if not frontier:
        return EMPTY_ROOT, serialized
    root = frontier[-1][1]
    for _, left in reversed(frontier[:-1]):
        root = _node(left, root)
    return root, serialized


def upgrade() -> None:
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("root_hash", sa.LargeBinary(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("frontier", sa.LargeBinary(), nullable=True))
    root, frontier = _fold_existing_log()
    op.execute(
        sa.text("UPDATE audit_head SET root_hash = :root, frontier = :frontier").bindparams(
            root=root, frontier=frontier
        )
    )
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.alter_column("root_hash", nullable=False)
        batch_op.alter_column("frontier", nullable=False)
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_nodes_no_truncate ON audit_nodes")
        op.execute("DROP TRIGGER IF EXISTS audit_nodes_no_update_delete ON audit_nodes")
        op.execute("DROP FUNCTION IF EXISTS audit_nodes_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_nodes_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_nodes_no_delete")
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("frontier")
        batch_op.drop_column("root_hash")
    op.drop_table("audit_nodes")
