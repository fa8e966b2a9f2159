"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and verification: pure, hashlib only.

The audit log is a Merkle tree over its leaves (RFC 6962 §2.1): a leaf hashes as
SHA-256(0x00 || data), a node as SHA-256(0x01 || left || right), and the root of n
leaves splits at k, the largest power of two strictly below n. The distinct
prefixes stop a leaf from passing for a node (second-preimage attacks).

Three jobs live here, none touching storage:

- roots: `root_from_leaf_hashes` for a whole log, and a `Frontier` (the roots of
  the perfect subtrees covering [0, size)) so that appending a leaf and reading
  the root cost O(log n) and the state fits in one database row;
- proofs: `inclusion_proof` and `consistency_proof` ask a `subtree(start, end)`
  callback for O(log n) range hashes. The storage layer answers it from stored
  *perfect* subtree hashes (2^h leaves aligned at a multiple of 2^h, produced by
  `append_with_completed`): `subtree_from_perfect` splits each requested range
  with `perfect_subtrees` and folds the parts with `range_hash`;
- verification: `verify_inclusion` and `verify_consistency` follow RFC 9162
  §2.1.3.2 and §2.1.4.2 step for step and return False, never raise, on any
  malformed input.

Every range the proof algorithms request starts at a multiple of the smallest
power of two >= its length: a perfect subtree, or a right-edge range [start, n)
of the tree. Such a range splits into perfect subtrees of strictly decreasing
sizes (the set bits of its length), at most one range per proof is not itself
perfect, so a proof reads at most (proof length + log2 n) stored hashes.
"""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_SIZE_BYTES = 8  # a frontier row stores its size as an unsigned 64-bit integer

# subtree(start, end) -> MTH of leaves [start, end); see the module docstring.
SubtreeHash = Callable[[int, int], bytes]
# (start, end, hash) of a perfect subtree, as the storage layer keeps it.
PerfectSubtree = tuple[int, int, bytes]


def leaf_hash(data: bytes) -> bytes:
    """Hash one leaf's bytes: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two child hashes into their parent: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Compute the Merkle tree hash (MTH) of leaf hashes in log order.

    Returns:
        The 32-byte root; `EMPTY_ROOT` for no leaves.
    """
    if not hashes:
        return EMPTY_ROOT
    # Bottom-up pairing equals RFC 6962's recursive split. Invariant after j
    # rounds: every node but the last is the root of an aligned perfect block of
    # 2^j leaves, and the last covers the remaining 1..2^j leaves. Pairing a
    # perfect block with a shorter tail is exactly the split at k = 2^j (the
    # largest power of two below their combined size); an unpaired last node
    # holds at most 2^j < 2^(j+1) leaves, so carrying it up keeps the invariant.
    sha256, prefix = hashlib.sha256, _NODE_PREFIX
    level = list(hashes)
    while len(level) > 1:
        paired = [
            sha256(prefix + left + right).digest()
            for left, right in zip(level[0::2], level[1::2], strict=False)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split leaves [start, end) into aligned perfect subtrees, left to right.

    Each part is [s, s + 2^h) with s a multiple of 2^h, the largest such block
    that starts where the previous one ended and fits: the greedy, minimal split.

    Raises:
        ValueError: If not 0 <= start <= end.
    """
    if not 0 <= start <= end:
        raise ValueError("need 0 <= start <= end")
    parts = []
    while start < end:
        fits = 1 << ((end - start).bit_length() - 1)
        # start & -start is the alignment of start; 0 is aligned to everything.
        size = min(start & -start, fits) if start else fits
        parts.append((start, start + size))
        start += size
    return parts


def range_hash(hashes: Sequence[bytes]) -> bytes:
    """Fold the hashes of a range's perfect subtrees (left to right) into its MTH.

    Folding right to left, node(h1, node(h2, ... node(h_{r-1}, h_r))), equals
    MTH when the sizes strictly decrease, which holds for every range a proof
    requests (module docstring): the largest power of two below the range's
    length is then its first part, so RFC 6962 splits off exactly that part,
    and the rest recurses the same way.

    Returns:
        The range's root; `EMPTY_ROOT` for no hashes.
    """
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def subtree_from_perfect(perfect: Callable[[int, int], bytes]) -> SubtreeHash:
    """Build a `subtree` callback from a lookup of perfect-subtree hashes.

    Args:
        perfect: Returns the stored hash of the aligned perfect subtree
            [start, end), as recorded by `append_with_completed`.
    """

    def subtree(start: int, end: int) -> bytes:
        return range_hash([perfect(s, e) for s, e in perfect_subtrees(start, end)])

    return subtree


@dataclass(frozen=True, slots=True)
class Frontier:
    """The right frontier of a log: enough to append and to compute the root.

    `hashes[i]` is the root of `perfect_subtrees(0, size)[i]`, one per set bit of
    `size`, largest first: O(log n) hashes however long the log grows.
    """

    size: int = 0
    hashes: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.hashes) != self.size.bit_count():
            raise ValueError("a frontier holds one hash per set bit of its size")
        if any(len(h) != HASH_SIZE for h in self.hashes):
            raise ValueError("frontier hashes must be 32 bytes")

    def to_bytes(self) -> bytes:
        """Serialize as the 8-byte big-endian size followed by the hashes."""
        return self.size.to_bytes(_SIZE_BYTES, "big") + b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Read a frontier written by `to_bytes`.

        Raises:
            ValueError: If the bytes are not a well-formed frontier.
        """
        if len(data) < _SIZE_BYTES or (len(data) - _SIZE_BYTES) % HASH_SIZE:
            raise ValueError("not a serialized frontier")
        size = int.from_bytes(data[:_SIZE_BYTES], "big")
        body = data[_SIZE_BYTES:]
        hashes = tuple(body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE))
        return cls(size, hashes)


def append_with_completed(
    frontier: Frontier, leaf: bytes
) -> tuple[Frontier, list[PerfectSubtree]]:
    """Append a leaf hash and list the perfect subtrees it completes.

    The storage layer keeps those (start, end, hash) triples so that proofs can
    later be answered with `subtree_from_perfect`.

    Returns:
        The new frontier and the completed subtrees, smallest (the leaf) first.

    Raises:
        ValueError: If the leaf hash is not 32 bytes.
    """
    end = frontier.size + 1
    grown, completed = extend_with_completed(frontier, [leaf])
    return grown, [(end - 1, end, leaf), *completed]


def extend_with_completed(
    frontier: Frontier, leaves: Sequence[bytes]
) -> tuple[Frontier, list[PerfectSubtree]]:
    """Append many leaf hashes; list the subtrees of 2+ leaves they complete.

    The same fold as `append_with_completed`, on one list for the whole batch:
    a batch of 500 events builds one Frontier, not 500.

    Raises:
        ValueError: If a leaf hash is not 32 bytes.
    """
    hashes = list(frontier.hashes)
    size = frontier.size
    completed: list[PerfectSubtree] = []
    for leaf in leaves:
        if len(leaf) != HASH_SIZE:
            raise ValueError("leaf hashes must be 32 bytes")
        node, width, bits = leaf, 1, size
        size += 1
        while bits & 1:
            node, width, bits = node_hash(hashes.pop(), node), width * 2, bits >> 1
            completed.append((size - width, size, node))
        hashes.append(node)
    return Frontier(size, tuple(hashes)), completed


def append(frontier: Frontier, leaf: bytes) -> Frontier:
    """Return the frontier with one more leaf hash, in O(log n).

    Raises:
        ValueError: If the leaf hash is not 32 bytes.
    """
    return append_with_completed(frontier, leaf)[0]


def frontier_root(frontier: Frontier) -> bytes:
    """Compute the root of the frontier's `size` leaves in O(log n)."""
    # The frontier is the perfect split of the right-edge range [0, size).
    return range_hash(frontier.hashes)


def _split(width: int) -> int:
    """Return the largest power of two strictly below width (width >= 2)."""
    return 1 << ((width - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """List the leaf ranges whose hashes form the inclusion proof, in proof order.

    Exposed so the storage layer can fetch every needed hash in one query.

    Raises:
        ValueError: If not 0 <= index < size.
    """
    if not 0 <= index < size:
        raise ValueError("need 0 <= index < size")
    ranges = []
    lo, hi = 0, size
    # RFC 6962 PATH, top down; the proof lists the siblings bottom up.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """Build the RFC 6962 §2.1.1 audit path of leaf `index` in a tree of `size`.

    `subtree(start, end)` is called once per element (`inclusion_ranges`).

    Returns:
        Sibling hashes from the leaf up, at most ceil(log2 size) of them.

    Raises:
        ValueError: If not 0 <= index < size.
    """
    return [subtree(s, e) for s, e in inclusion_ranges(index, size)]


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """List the leaf ranges whose hashes form the consistency proof, in order.

    Empty when first == 0 or first == second: there is nothing to prove.

    Raises:
        ValueError: If not 0 <= first <= second.
    """
    if not 0 <= first <= second:
        raise ValueError("need 0 <= first <= second")
    if first in (0, second):
        return []
    ranges = []
    lo, hi, whole = 0, second, True
    # RFC 6962 SUBPROOF(m, D[lo:hi], whole) with m = first - lo, top down.
    while first != hi:
        k = _split(hi - lo)
        if first <= lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, whole = lo + k, False
    # SUBPROOF(m, D[m], false) = {MTH(D[m])}: the old tree is not a node of the
    # new one here, so the verifier needs this node's hash as its starting point.
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def consistency_proof(first: int, second: int, subtree: SubtreeHash) -> list[bytes]:
    """Build the RFC 6962 §2.1.2 proof that tree `first` is a prefix of `second`.

    `subtree(start, end)` is called once per element (`consistency_ranges`).

    Returns:
        At most ceil(log2 second) + 1 hashes; empty if first is 0 or second.

    Raises:
        ValueError: If not 0 <= first <= second.
    """
    return [subtree(s, e) for s, e in consistency_ranges(first, second)]


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _shift_until_odd(fn: int, sn: int) -> tuple[int, int]:
    # RFC 9162: right-shift both until LSB(fn) is set or fn is 0.
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(
    leaf_index: int,
    tree_size: int,
    leaf_hash: bytes,
    proof: Sequence[bytes],
    root: bytes,
) -> bool:
    """Check an inclusion proof exactly as RFC 9162 §2.1.3.2 describes.

    Returns:
        True only if `proof` proves the leaf at `leaf_index` in the tree of
        `tree_size` with `root`; False for any malformed input (index out of
        range, hashes not 32 bytes, missing or extra elements).
    """
    if not 0 <= leaf_index < tree_size:
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and all(map(_is_hash, proof))):
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False  # more elements than levels
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_until_odd(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def _consistency_roots(
    size1: int, size2: int, root1: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes] | None:
    """Run RFC 9162 §2.1.4.2 steps 2-6 for 0 < size1 < size2: (fr, sr) or None."""
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)  # the old tree is a node of the new one
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return None  # more elements than levels
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_until_odd(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return (fr, sr) if sn == 0 else None


def verify_consistency(
    size1: int,
    size2: int,
    root1: bytes,
    root2: bytes,
    proof: Sequence[bytes],
) -> bool:
    """Check a consistency proof exactly as RFC 9162 §2.1.4.2 describes.

    size1 == 0 is always rejected, even against an empty second tree: every
    tree extends the empty one, so such a proof proves nothing, and the
    transparency-dev test vectors require the rejection (a caller that trusts
    nothing yet has no old root to check). size1 == size2 holds only with an
    empty proof and root1 == root2; nothing is hashed then, so the roots are
    compared as given (the vectors accept equal non-32-byte roots here).

    Returns:
        True only if the tree of `size2` with `root2` extends the tree of
        `size1` with `root1`; False for any malformed input.
    """
    if size1 <= 0 or size2 < size1:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if not proof:
        return False  # RFC 9162 step 1
    hashes = (root1, root2, *proof)
    if not all(map(_is_hash, hashes)):
        return False
    roots = _consistency_roots(size1, size2, root1, proof)
    return roots is not None and roots == (root1, root2)
