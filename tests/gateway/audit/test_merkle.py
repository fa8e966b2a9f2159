"""RFC 6962 Merkle tree: public test vectors, reference roots and proof properties."""

import base64
import hashlib
import json
from collections.abc import Callable
from functools import cache, reduce
from pathlib import Path

import pytest

from gateway.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    SubtreeHash,
    append,
    append_with_completed,
    consistency_proof,
    consistency_ranges,
    extend_with_completed,
    frontier_root,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    perfect_subtrees,
    range_hash,
    root_from_leaf_hashes,
    subtree_from_perfect,
    verify_consistency,
    verify_inclusion,
)

# shared/ lies beside the repository (as on CI), as in bench/pii_sets.py.
MERKLE_DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "merkle"
TESTDATA = MERKLE_DATA / "testdata"
MAX_SIZE = 70
Range = tuple[int, int]
LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_SIZE)]


def mth(hashes: list[bytes]) -> bytes:
    """RFC 6962 MTH, recursively, exactly as the RFC writes it."""
    if len(hashes) <= 1:
        return hashes[0] if hashes else EMPTY_ROOT
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


@cache
def mth_of(start: int, end: int) -> bytes:
    """MTH of leaves [start, end), computed naively once per range."""
    return mth(LEAVES[start:end])


ROOTS = [mth_of(0, n) for n in range(MAX_SIZE + 1)]


def stored_subtrees() -> dict[Range, bytes]:
    """What the storage layer holds: every perfect subtree an append completed."""
    store, frontier = {}, Frontier()
    for leaf in LEAVES:
        frontier, completed = append_with_completed(frontier, leaf)
        store.update({(start, end): digest for start, end, digest in completed})
    return store


STORE = stored_subtrees()


def ceil_log2(n: int) -> int:
    return (n - 1).bit_length()


def naive(size: int) -> SubtreeHash:
    def subtree(start: int, end: int) -> bytes:
        assert 0 <= start < end <= size
        return mth_of(start, end)

    return subtree


def recorded(size: int) -> tuple[SubtreeHash, list[Range], list[Range]]:
    """A stored-hash callback that records the ranges and perfect reads it serves."""
    calls: list[Range] = []
    reads: list[Range] = []

    def perfect(start: int, end: int) -> bytes:
        reads.append((start, end))
        return STORE[(start, end)]  # KeyError: not a stored perfect subtree

    stored = subtree_from_perfect(perfect)

    def subtree(start: int, end: int) -> bytes:
        assert 0 <= start < end <= size
        calls.append((start, end))
        return stored(start, end)

    return subtree, calls, reads


def b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def vector_files(kind: str) -> list[Path]:
    files = sorted((TESTDATA / kind).rglob("*.json"))
    # An empty parameter list would make pytest skip; a missing directory must
    # fail, so it becomes one case that cannot be read.
    return files or [TESTDATA / kind / "missing.json"]


def vector_id(path: Path) -> str:
    return str(path.relative_to(TESTDATA))


def test_vector_directories_hold_all_196_files() -> None:
    inclusion = list((TESTDATA / "inclusion").rglob("*.json"))
    consistency = list((TESTDATA / "consistency").rglob("*.json"))
    assert (len(inclusion), len(consistency)) == (98, 98)


@pytest.mark.parametrize("path", vector_files("inclusion"), ids=vector_id)
def test_inclusion_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    verified = verify_inclusion(
        case["leafIdx"],
        case["treeSize"],
        b64(case["leafHash"]),
        [b64(p) for p in case["proof"] or []],
        b64(case["root"]),
    )
    assert verified is not case["wantErr"], case["desc"]


@pytest.mark.parametrize("path", vector_files("consistency"), ids=vector_id)
def test_consistency_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    verified = verify_consistency(
        case["size1"],
        case["size2"],
        b64(case["root1"]),
        b64(case["root2"]),
        [b64(p) for p in case["proof"] or []],
    )
    assert verified is not case["wantErr"], case["desc"]


def test_reference_tree_leaf_hashes_and_roots_for_sizes_0_to_8() -> None:
    ref = json.loads((MERKLE_DATA / "rfc6962_reference_tree.json").read_text())
    hashes = [leaf_hash(bytes.fromhex(leaf)) for leaf in ref["leaves_hex"]]
    assert [h.hex() for h in hashes] == ref["leaf_hashes_hex"]
    frontier = Frontier()
    for size in range(len(hashes) + 1):
        want = ref["root_by_tree_size_hex"][str(size)]
        assert root_from_leaf_hashes(hashes[:size]).hex() == want
        assert frontier_root(frontier).hex() == want
        if size < len(hashes):
            frontier = append(frontier, hashes[size])


def test_leaf_and_node_hashes_use_the_rfc_prefixes() -> None:
    ref = json.loads((MERKLE_DATA / "rfc6962_reference_tree.json").read_text())
    checks = ref["single_hash_checks"]
    assert leaf_hash(b"L123456").hex() == checks["H(0x00||'L123456')"]
    assert node_hash(b"N123", b"N456").hex() == checks["H(0x01||'N123'||'N456')"]
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert root_from_leaf_hashes([]) == EMPTY_ROOT


def test_bottom_up_root_equals_recursive_split_rule() -> None:
    for n in range(MAX_SIZE + 1):
        assert root_from_leaf_hashes(LEAVES[:n]) == ROOTS[n]


def test_perfect_subtrees_are_aligned_and_greedy() -> None:
    assert perfect_subtrees(0, 13) == [(0, 8), (8, 12), (12, 13)]
    assert perfect_subtrees(3, 11) == [(3, 4), (4, 8), (8, 10), (10, 11)]
    assert perfect_subtrees(5, 5) == []
    with pytest.raises(ValueError, match="start <= end"):
        perfect_subtrees(6, 5)
    for start in range(MAX_SIZE):
        for end in range(start + 1, MAX_SIZE + 1):
            parts = perfect_subtrees(start, end)
            assert [s for s, _ in parts] == [start] + [e for _, e in parts][:-1]
            assert parts[-1][1] == end
            for s, e in parts:
                # Aligned, and greedy: twice the width is misaligned or too long.
                assert is_perfect(s, e)
                assert s % (2 * (e - s)) or s + 2 * (e - s) > end


def is_perfect(start: int, end: int) -> bool:
    width = end - start
    return width > 0 and width & (width - 1) == 0 and start % width == 0


def test_range_hash_of_every_right_edge_range_equals_mth() -> None:
    for n in range(1, MAX_SIZE + 1):
        # Right-edge ranges a proof can ask for start at a multiple of a power
        # of two at least as large as the range.
        for start in range(n):
            width = 1 << ceil_log2(n - start)
            if start % width == 0:
                parts = [STORE[r] for r in perfect_subtrees(start, n)]
                assert range_hash(parts) == mth(LEAVES[start:n])


def test_append_records_every_aligned_perfect_subtree_once() -> None:
    aligned = {
        (start, start + width)
        for width in (1 << h for h in range(MAX_SIZE.bit_length()))
        for start in range(0, MAX_SIZE - width + 1, width)
    }
    assert set(STORE) == aligned
    assert all(STORE[(s, e)] == mth(LEAVES[s:e]) for s, e in STORE)


def test_frontier_root_matches_full_root_for_1000_appends() -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(1000)]
    frontier = Frontier()
    for size in range(1, 1001):
        frontier = append(frontier, hashes[size - 1])
        assert frontier.size == size
        assert frontier_root(frontier) == root_from_leaf_hashes(hashes[:size])
        assert Frontier.from_bytes(frontier.to_bytes()) == frontier


def test_a_batch_extends_as_leaf_by_leaf_appends_do() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(300)]
    one_by_one, expected = Frontier(), []
    for leaf in leaves[:37]:
        one_by_one, _ = append_with_completed(one_by_one, leaf)
    batched = one_by_one
    for leaf in leaves[37:]:
        one_by_one, completed = append_with_completed(one_by_one, leaf)
        expected += completed[1:]  # leaves themselves are not stored as nodes
    batched, got = extend_with_completed(batched, leaves[37:])
    assert batched == one_by_one
    assert got == expected
    assert frontier_root(batched) == root_from_leaf_hashes(leaves)
    with pytest.raises(ValueError, match="32 bytes"):
        extend_with_completed(batched, [b"short"])


def test_frontier_hashes_are_the_perfect_split_of_its_size() -> None:
    frontier = Frontier()
    for size in range(1, MAX_SIZE + 1):
        frontier = append(frontier, LEAVES[size - 1])
        want = [STORE[r] for r in perfect_subtrees(0, size)]
        assert list(frontier.hashes) == want
        assert len(frontier.to_bytes()) == 8 + 32 * size.bit_count()


def test_frontier_rejects_malformed_state() -> None:
    good = reduce(append, LEAVES[:5], Frontier()).to_bytes()
    for bad in (b"", good[:7], good[:-1], good + bytes(32), good[:8] + good[40:]):
        with pytest.raises(ValueError, match="frontier"):
            Frontier.from_bytes(bad)
    with pytest.raises(ValueError, match="32 bytes"):
        Frontier(1, (b"short",))
    with pytest.raises(ValueError, match="32 bytes"):
        append(Frontier(), b"short")


def test_empty_frontier_has_the_empty_root_and_round_trips() -> None:
    assert frontier_root(Frontier()) == EMPTY_ROOT
    assert Frontier.from_bytes(Frontier().to_bytes()) == Frontier()


def test_every_inclusion_proof_verifies_within_rfc_bounds() -> None:
    for n in range(1, MAX_SIZE + 1):
        for i in range(n):
            subtree, calls, reads = recorded(n)
            proof = inclusion_proof(i, n, subtree)
            assert proof == inclusion_proof(i, n, naive(n))
            assert verify_inclusion(i, n, LEAVES[i], proof, ROOTS[n])
            assert len(proof) <= ceil_log2(n)
            assert len(calls) <= 2 * ceil_log2(n) + 2
            assert len(reads) <= 2 * ceil_log2(n) + 1


def test_inclusion_proof_fails_for_wrong_index_leaf_or_root() -> None:
    other = leaf_hash(b"not in the log")
    for n in range(1, MAX_SIZE + 1):
        for i in range(n):
            proof = inclusion_proof(i, n, naive(n))
            for j in {(i + 1) % n, (i - 1) % n} - {i}:
                assert not verify_inclusion(j, n, LEAVES[i], proof, ROOTS[n])
            assert not verify_inclusion(n, n, LEAVES[i], proof, ROOTS[n])
            assert not verify_inclusion(i, n, other, proof, ROOTS[n])
            assert not verify_inclusion(i, n, LEAVES[i], proof, ROOTS[n - 1])


def test_inclusion_proof_fails_when_an_element_is_flipped_missing_or_extra() -> None:
    for n in range(2, MAX_SIZE + 1):
        for i in range(n):
            proof = inclusion_proof(i, n, naive(n))
            for bad in tampered(proof, seed=i):
                assert not verify_inclusion(i, n, LEAVES[i], bad, ROOTS[n])


def test_every_consistency_proof_verifies_within_rfc_bounds() -> None:
    for n in range(1, MAX_SIZE + 1):
        for m in range(1, n + 1):
            subtree, calls, reads = recorded(n)
            proof = consistency_proof(m, n, subtree)
            assert proof == consistency_proof(m, n, naive(n))
            assert verify_consistency(m, n, ROOTS[m], ROOTS[n], proof)
            assert len(proof) <= ceil_log2(n) + 1
            assert len(calls) <= 2 * ceil_log2(n) + 2
            assert len(reads) <= 2 * ceil_log2(n) + 2


def test_consistency_proof_fails_for_wrong_roots_or_sizes() -> None:
    for n in range(2, MAX_SIZE + 1):
        for m in range(1, n):
            proof = consistency_proof(m, n, naive(n))
            assert not verify_consistency(m, n, ROOTS[m - 1], ROOTS[n], proof)
            assert not verify_consistency(m, n, ROOTS[m], ROOTS[n - 1], proof)
            assert not verify_consistency(m, n, ROOTS[n], ROOTS[m], proof)
            assert not verify_consistency(n, m, ROOTS[n], ROOTS[m], proof)


def test_consistency_proof_fails_when_any_byte_is_flipped() -> None:
    for n in range(2, MAX_SIZE + 1):
        for m in range(1, n):
            proof = consistency_proof(m, n, naive(n))
            # Every byte of every element for small trees; SHA-256 treats all
            # positions alike, so larger trees flip one varying byte each.
            offsets = range(32) if n <= 16 else [(m * 7 + n) % 32]
            for k in range(len(proof)):
                for offset in offsets:
                    bad = [*proof]
                    bad[k] = flip(proof[k], offset)
                    assert not verify_consistency(m, n, ROOTS[m], ROOTS[n], bad)


def test_consistency_proof_fails_when_an_element_is_missing_or_extra() -> None:
    for n in range(2, MAX_SIZE + 1):
        for m in range(1, n):
            proof = consistency_proof(m, n, naive(n))
            for bad in tampered(proof, seed=m):
                assert not verify_consistency(m, n, ROOTS[m], ROOTS[n], bad)


def flip(digest: bytes, offset: int) -> bytes:
    return digest[:offset] + bytes([digest[offset] ^ 0x01]) + digest[offset + 1 :]


def tampered(proof: list[bytes], seed: int) -> list[list[bytes]]:
    """One flipped element, then removed, appended, inserted and resized variants."""
    variants = []
    if proof:
        k = seed % len(proof)
        variants += [
            [*proof[:k], flip(proof[k], seed % 32), *proof[k + 1 :]],
            proof[:k] + proof[k + 1 :],
            [*proof[:k], b"", *proof[k:]],
            [p[:31] for p in proof],
            [p + b"\x00" for p in proof],
        ]
    variants += [[*proof, LEAVES[0]], [LEAVES[0], *proof], [*proof, EMPTY_ROOT]]
    return variants


def test_requested_ranges_split_into_few_decreasing_perfect_subtrees() -> None:
    requests: list[tuple[int, list[Range]]] = []
    for n in range(1, MAX_SIZE + 1):
        requests += [(n, inclusion_ranges(i, n)) for i in range(n)]
        requests += [(n, consistency_ranges(m, n)) for m in range(n + 1)]
    for n, ranges in requests:
        assert sum(not is_perfect(s, e) for s, e in ranges) <= 1
        for start, end in ranges:
            assert is_perfect(start, end) or end == n
            widths = [e - s for s, e in perfect_subtrees(start, end)]
            assert widths == sorted(set(widths), reverse=True)
            assert len(widths) <= n.bit_length()


def test_consistency_proof_is_empty_from_the_empty_or_the_same_tree() -> None:
    assert consistency_proof(0, 5, naive(5)) == []
    assert consistency_proof(5, 5, naive(5)) == []
    assert verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])


@pytest.mark.parametrize(
    "call",
    [
        lambda: inclusion_proof(3, 3, naive(3)),
        lambda: inclusion_proof(-1, 3, naive(3)),
        lambda: inclusion_proof(0, 0, naive(0)),
        lambda: consistency_proof(4, 3, naive(3)),
        lambda: consistency_proof(-1, 3, naive(3)),
    ],
)
def test_proof_generation_rejects_impossible_positions(
    call: Callable[[], object],
) -> None:
    with pytest.raises(ValueError, match="need"):
        call()


def test_verify_inclusion_rejects_malformed_input_without_raising() -> None:
    proof = inclusion_proof(2, 5, naive(5))
    assert verify_inclusion(2, 5, LEAVES[2], proof, ROOTS[5])
    assert not verify_inclusion(0, 0, LEAVES[0], [LEAVES[1]], EMPTY_ROOT)
    assert not verify_inclusion(0, 0, LEAVES[0], [], EMPTY_ROOT)
    assert not verify_inclusion(-1, 5, LEAVES[2], proof, ROOTS[5])
    assert not verify_inclusion(5, 5, LEAVES[2], proof, ROOTS[5])
    assert not verify_inclusion(2, 5, LEAVES[2][:31], proof, ROOTS[5])
    assert not verify_inclusion(2, 5, LEAVES[2], proof, ROOTS[5] + b"\x00")
    assert not verify_inclusion(2, 5, LEAVES[2], [*proof[:-1], b"x" * 64], ROOTS[5])
    assert not verify_inclusion(0, 1, LEAVES[0], [LEAVES[0]], ROOTS[1])


def test_verify_consistency_rejects_malformed_input_without_raising() -> None:
    proof = consistency_proof(3, 7, naive(7))
    assert verify_consistency(3, 7, ROOTS[3], ROOTS[7], proof)
    assert not verify_consistency(0, 7, EMPTY_ROOT, ROOTS[7], [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(-1, 7, ROOTS[3], ROOTS[7], proof)
    assert not verify_consistency(7, 3, ROOTS[7], ROOTS[3], proof)
    assert not verify_consistency(3, 7, ROOTS[3], ROOTS[7], [])
    assert not verify_consistency(3, 3, ROOTS[3], ROOTS[3], proof)
    assert not verify_consistency(3, 3, ROOTS[3], ROOTS[4], [])
    assert not verify_consistency(3, 7, ROOTS[3][:31], ROOTS[7], proof)
    assert not verify_consistency(3, 7, ROOTS[3], ROOTS[7] + b"\x00", proof)
    assert not verify_consistency(3, 7, ROOTS[3], ROOTS[7], [*proof, ROOTS[3]])
