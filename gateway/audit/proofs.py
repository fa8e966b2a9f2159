"""Inclusion and consistency proofs of the audit log, from its stored subtrees.

Every range a proof needs splits into O(log n) perfect subtrees
(`merkle.perfect_subtrees`): those of `STORED_FROM_LEVEL` and up are read from
`audit_nodes`, smaller ones are hashed again from their leaves.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit import merkle
from gateway.errors import GatewayError, InvalidRequestError
from gateway.storage import audit_repo

# Subtrees of 16 leaves and more are stored; smaller ones are hashed again from
# their leaves when a proof needs them (15 leaf hashes at most per proof
# level, three levels): an eighth of the rows a full tree would write per
# event, for a few more leaf reads per proof. Migration 0005 follows it.
STORED_FROM_LEVEL = 4


class AuditLogError(GatewayError):
    """The stored log cannot answer: a subtree a proof needs is missing."""

    status, slug, title = 500, "audit-log-damaged", "The audit log is damaged"


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """RFC 6962 inclusion proof of one event in a tree of `tree_size` events."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    audit_path: list[bytes]

    def document(self) -> dict[str, Any]:
        """The published shape (CONTRACT.md): hashes in hex."""
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "audit_path": [h.hex() for h in self.audit_path],
        }


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """RFC 6962 proof that the tree of `first` events is a prefix of `second`."""

    first: int
    second: int
    proof: list[bytes]

    def document(self) -> dict[str, Any]:
        """The published shape (CONTRACT.md): hashes in hex."""
        return {
            "first": self.first,
            "second": self.second,
            "proof": [h.hex() for h in self.proof],
        }


def _sizes_within(session: Session, *sizes: int) -> int:
    """The log's size, after checking every requested size fits in it."""
    size = audit_repo.read_head(session).size
    for requested in sizes:
        if not 0 <= requested <= size:
            raise InvalidRequestError(
                f"tree size {requested} is outside the log (0..{size})"
            )
    return size


def _stored_as(start: int, end: int) -> list[tuple[int, int]]:
    """The (level, index) rows that hold the perfect subtree [start, end).

    From `STORED_FROM_LEVEL` up, its own node; below, its leaves (at most
    2^STORED_FROM_LEVEL - 1 of them), hashed again here.
    """
    level = (end - start).bit_length() - 1
    if level == 0 or level >= STORED_FROM_LEVEL:
        return [(level, start >> level)]
    return [(0, seq) for seq in range(start, end)]


def _range_hashes(session: Session, ranges: list[tuple[int, int]]) -> list[bytes]:
    """The Merkle hash of each leaf range, from O(log n) stored hashes each."""
    parts = {r: merkle.perfect_subtrees(*r) for r in ranges}
    wanted = {
        row
        for pieces in parts.values()
        for piece in pieces
        for row in _stored_as(*piece)
    }
    stored = audit_repo.node_hashes(session, sorted(wanted))
    if len(stored) != len(wanted):
        raise AuditLogError("a subtree hash the proof needs is missing")
    hashes = []
    for r in ranges:
        pieces = []
        for piece in parts[r]:
            rows = _stored_as(*piece)
            if len(rows) == 1:
                pieces.append(stored[rows[0]])
            else:
                pieces.append(merkle.root_from_leaf_hashes([stored[k] for k in rows]))
        hashes.append(merkle.range_hash(pieces))
    return hashes


def inclusion_proof(
    session: Session, seq: int, tree_size: int | None = None
) -> InclusionProof:
    """Prove that event `seq` is in the tree of `tree_size` events (default: all).

    Raises:
        InvalidRequestError: If the sizes do not fit the log or seq >= tree_size.
    """
    size = _sizes_within(session, *(() if tree_size is None else (tree_size,)))
    size = size if tree_size is None else tree_size
    if not 0 <= seq < size:
        raise InvalidRequestError(f"event {seq} is not in a tree of {size} events")
    leaf, *path = _range_hashes(
        session, [(seq, seq + 1), *merkle.inclusion_ranges(seq, size)]
    )
    return InclusionProof(seq, size, leaf, path)


def root_at(session: Session, size: int) -> bytes:
    """The Merkle root of the log's first `size` events, from stored subtrees.

    Raises:
        InvalidRequestError: If `size` is outside the log.
    """
    _sizes_within(session, size)
    if size == 0:
        return merkle.EMPTY_ROOT
    return merkle.range_hash(_range_hashes(session, merkle.perfect_subtrees(0, size)))


def consistency_proof(session: Session, first: int, second: int) -> ConsistencyProof:
    """Prove that the log of `second` events extends the log of `first` events.

    Raises:
        InvalidRequestError: If a size does not fit the log or first > second.
    """
    _sizes_within(session, first, second)
    if first > second:
        raise InvalidRequestError("first must not be larger than second")
    proof = _range_hashes(session, merkle.consistency_ranges(first, second))
    return ConsistencyProof(first, second, proof)
