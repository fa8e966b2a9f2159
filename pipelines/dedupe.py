"""Deduplicate pseudonymous records into entities (pure: frame in, frame out).

Two kinds of evidence link two records. An exact link: they share an e-mail
or phone pseudonym (a keyed HMAC of the normalized identifier, so equal means
same identifier). A fuzzy link: they share a block key and the Dice coefficient
of their keyed Bloom-filter encodings (`gateway.linkage.clk`) reaches the
threshold. Linked records form a graph; each connected component is one entity.

Only pairs that share a block key are ever scored, and a block larger than
`max_block` is skipped rather than compared in full: every record carries
several block keys built from different fields, so a true pair in an
oversized block usually meets again in a smaller one, and an all-pairs block
of a common name would cost quadratic time. Pairs are generated and scored a
segment of blocks at a time, so memory stays flat however many candidates
there are (a million records: about 150 million candidate pairs, 20 seconds
and 500 MiB on top of the input, on one core).

One wrong link can chain two people's records, and chains of them can glue
thousands of records into one "person". A component above `max_component`
records is split: its weakest links (lowest Dice first, then exact links on
identifiers shared by many records) are dropped, a tenth at a time, until
every part fits. Exact links on an identifier shared by more than
`max_component` records are never made: such a value is a placeholder or a
shared switchboard, not a person.

Scores never leave this module: the output holds entity ids and per-entity
link counts only, because a pairwise similarity tells whoever reads it how
close two people's names and addresses are.
"""

import itertools
import logging
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from gateway.linkage.clk import clk_matrix, popcounts

logger = logging.getLogger(__name__)

IDENTIFIER_COLUMNS = ("email_key", "phone_key")
OUTPUT_SCHEMA = pl.Schema(
    {
        "record_id": pl.String,
        "entity_id": pl.String,
        "exact_links": pl.UInt32,
        "fuzzy_links": pl.UInt32,
    }
)
# Block entries per segment: its copy of the encodings (2**18 rows of 128
# bytes) and a pass's two gathered operands stay near 100 MiB.
_CHUNK = 1 << 18
# Share of an oversized component's links dropped per splitting round: small
# enough to keep most true links, large enough to finish in a few dozen rounds.
_SPLIT_FRACTION = 0.1


@dataclass(frozen=True, slots=True)
class _Edges:
    """Undirected links, ``src < dst`` (row positions); weight > 1 means exact."""

    src: NDArray[np.int64]
    dst: NDArray[np.int64]
    weight: NDArray[np.float64]

    @classmethod
    def empty(cls) -> "_Edges":
        none = np.empty(0, dtype=np.int64)
        return cls(none, none, np.empty(0, dtype=np.float64))

    @classmethod
    def concat(cls, parts: list["_Edges"]) -> "_Edges":
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.src for p in parts]),
            np.concatenate([p.dst for p in parts]),
            np.concatenate([p.weight for p in parts]),
        )


def _check(records: pl.DataFrame, threshold: float, sizes: tuple[int, int]) -> None:
    expected = {
        "record_id": pl.String,
        "email_key": pl.String,
        "phone_key": pl.String,
        "clk": pl.Binary,
        "block_keys": pl.List(pl.String),
    }
    for name, dtype in expected.items():
        if records.schema.get(name) != dtype:
            raise ValueError(f"dedupe needs column {name!r} of type {dtype}")
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    if min(sizes) < 2:
        raise ValueError("max_block and max_component must be at least 2")
    ids = records["record_id"]
    if ids.null_count() or ids.n_unique() != records.height:
        raise ValueError("record_id must be present and unique")


def _exact_edges(
    records: pl.DataFrame, max_group: int, identifiers: tuple[str, ...]
) -> _Edges:
    """Star links from each identifier group's first row to the others."""
    parts: list[_Edges] = []
    for column in identifiers:
        group = (
            records.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("row"), column)
            .drop_nulls(column)
            .with_columns(
                pl.col("row").min().over(column).alias("first"),
                pl.len().over(column).alias("size"),
            )
            .filter(pl.col("row") != pl.col("first"), pl.col("size") <= max_group)
        )
        # Above 1, so every exact link outranks every fuzzy one; an identifier
        # shared by fewer records is the stronger evidence.
        weight = 1.0 + 1.0 / group["size"].to_numpy().astype(np.float64)
        src = group["first"].to_numpy().astype(np.int64)
        parts.append(_Edges(src, group["row"].to_numpy().astype(np.int64), weight))
    return _Edges.concat(parts)


def _blocks(
    records: pl.DataFrame, max_block: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Rows of the comparable blocks, block after block, and where blocks start.

    Returns:
        ``(members, starts)``: row positions grouped by block, ascending inside
        a block; ``starts`` holds each block's first index into ``members``,
        then ``len(members)``.
    """
    entries = (
        records.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("row"),
            # A 64-bit hash sorts and groups far faster than the strings; two
            # keys colliding only merge two blocks, costing comparisons, not
            # links, since every link still needs its Dice.
            pl.col("block_keys").list.unique().alias("block"),
        )
        .explode("block")
        .drop_nulls("block")
        .with_columns(pl.col("block").hash(seed=0))
        .filter(pl.len().over("block").is_between(2, max_block))
        .sort("block", "row")
    )
    block = entries["block"].to_numpy()
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    return entries["row"].to_numpy(), np.r_[starts, len(block)].astype(np.int64)


def _segments(starts: NDArray[np.int64]) -> list[tuple[int, int]]:
    """Cut the block list into runs of whole blocks of about `_CHUNK` entries."""
    cuts = [0]
    for start in starts[1:-1].tolist():
        if start - cuts[-1] >= _CHUNK:
            cuts.append(start)
    cuts.append(int(starts[-1]))
    return list(itertools.pairwise(cuts))


def _score_segment(
    local: NDArray[np.uint64],
    ones: NDArray[np.int64],
    ends: NDArray[np.int64],
    threshold: float,
) -> _Edges:
    """Pairs of one segment with Dice >= threshold, as indices into the segment.

    Every pair of a block is visited as (entry, entry + offset) for offset =
    1, 2, ...: one vectorized pass per offset over the entries whose block is
    still long enough, so the work is the number of pairs, not of blocks, and
    rows are read in order from the segment's own copy.
    """
    found: list[_Edges] = []
    active = np.arange(len(local), dtype=np.int64)
    offset = 1
    while True:
        active = active[active + offset < ends[active]]
        if not active.size:
            break
        other = active + offset
        both = np.take(local, active, axis=0)
        np.bitwise_and(both, np.take(local, other, axis=0), out=both)
        shared = np.einsum("ij->i", np.bitwise_count(both), dtype=np.int64)
        total = ones[active] + ones[other]
        score = np.zeros(len(active), dtype=np.float64)
        np.divide(2 * shared, total, out=score, where=total > 0)
        keep = score >= threshold
        found.append(_Edges(active[keep], other[keep], score[keep]))
        offset += 1
    return _Edges.concat(found)


def _fuzzy_edges(records: pl.DataFrame, threshold: float, max_block: int) -> _Edges:
    """Links between rows that share a block and whose Dice reaches the threshold.

    Blocks are taken a segment at a time: the segment's encodings are copied
    once, in block order, so scoring reads memory in sequence rather than
    jumping across the whole matrix for every pair.
    """
    matrix = clk_matrix(records["clk"].to_list())
    ones = popcounts(matrix)
    members, starts = _blocks(records, max_block)
    sizes = np.diff(starts)
    block_end = np.repeat(starts[1:], sizes)
    parts: list[_Edges] = []
    for low, high in _segments(starts):
        rows = members[low:high]
        local = np.take(matrix, rows, axis=0)
        found = _score_segment(local, ones[rows], block_end[low:high] - low, threshold)
        parts.append(_Edges(rows[found.src], rows[found.dst], found.weight))
    return _Edges.concat(parts)


def _distinct(edges: _Edges, n: int) -> _Edges:
    """One link per pair, the strongest (a pair met in several blocks, or twice)."""
    pair = edges.src * n + edges.dst
    order = np.lexsort((-edges.weight, pair))
    pair = pair[order]
    first = np.ones(len(pair), dtype=np.bool_)
    first[1:] = pair[1:] != pair[:-1]
    keep = order[first]
    return _Edges(edges.src[keep], edges.dst[keep], edges.weight[keep])


def _label(n: int, src: NDArray[np.int64], dst: NDArray[np.int64]) -> NDArray[np.int64]:
    graph = coo_array((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def _weakest(
    component: NDArray[np.int64], weight: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Mark each component's weakest links: those at or below its lowest tenth."""
    order = np.lexsort((weight, component))
    sorted_component = component[order]
    starts = np.flatnonzero(np.r_[True, sorted_component[1:] != sorted_component[:-1]])
    counts = np.diff(np.r_[starts, len(order)])
    cut = weight[order[starts + (_SPLIT_FRACTION * (counts - 1)).astype(np.int64)]]
    cut_of = np.zeros(int(component.max()) + 1)
    cut_of[sorted_component[starts]] = cut
    return weight <= cut_of[component]


def _split(
    n: int, edges: _Edges, max_component: int
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Connected components, with oversized ones split by dropping weak links.

    Returns:
        ``(labels, kept)``: a component label per row, and which links survived.
    """
    kept = np.ones(len(edges.src), dtype=np.bool_)
    labels = _label(n, edges.src, edges.dst)
    rounds = 0
    while True:
        too_big = np.bincount(labels)[labels[edges.src]] > max_component
        inside = kept & too_big
        if not inside.any():
            break
        # Raising the bar only ever splits components, so this terminates: each
        # round drops at least the weakest link of every oversized component.
        kept[inside] = ~_weakest(labels[edges.src[inside]], edges.weight[inside])
        labels = _label(n, edges.src[kept], edges.dst[kept])
        rounds += 1
    if rounds:
        logger.info("dedupe: split oversized components in %d rounds", rounds)
    return labels, kept


def _entities(
    record_ids: pl.Series, labels: NDArray[np.int64], edges: _Edges
) -> pl.DataFrame:
    component = labels[edges.src]
    size = int(labels.max()) + 1 if labels.size else 0
    exact = np.bincount(component[edges.weight > 1.0], minlength=size)
    fuzzy = np.bincount(component[edges.weight <= 1.0], minlength=size)
    frame = pl.DataFrame(
        {
            "record_id": record_ids,
            "label": labels,
            "exact_links": exact[labels].astype(np.uint32),
            "fuzzy_links": fuzzy[labels].astype(np.uint32),
        }
    )
    # The smallest record id names the entity: stable across runs on the same
    # records, and computed from the data alone (no counter, no clock).
    entity = pl.col("record_id").min().over("label").alias("entity_id")
    return frame.select("record_id", entity, "exact_links", "fuzzy_links")


def dedupe(
    records: pl.DataFrame,
    *,
    threshold: float,
    max_block: int,
    max_component: int,
    identifiers: tuple[str, ...] = IDENTIFIER_COLUMNS,
) -> pl.DataFrame:
    """Group records of the same person into entities.

    A frame, not a lazy frame as other stages take: connected components need
    the whole link graph at once, so nothing would stay lazy past the first step.

    Args:
        records: One row per record: ``record_id`` (String, unique),
            ``email_key`` and ``phone_key`` (String identifier pseudonyms or
            null), ``clk`` (Binary, one length for all, see
            `gateway.linkage.encode_clk`; null links only exactly) and
            ``block_keys`` (List(String), see `gateway.linkage.block_keys`).
        threshold: Least Dice coefficient for a fuzzy link, in (0, 1].
        max_block: Largest block compared pair by pair; larger ones are skipped.
        max_component: Largest entity; larger components are split.
        identifiers: The String columns whose equal values link exactly; by
            default e-mail and phone, to which a caller may add e.g. the
            subject pseudonym (two records of one partner's customer).

    Returns:
        ``record_id``, ``entity_id`` (the smallest record id of the entity),
        ``exact_links`` and ``fuzzy_links`` (the entity's distinct linked pairs
        of each kind, after splitting), one row per input row, in input order.
        No similarity score.

    Raises:
        ValueError: A missing column or wrong type, a duplicate or null
            record id, encodings of different lengths, or bad parameters.
    """
    _check(records, threshold, (max_block, max_component))
    for column in identifiers:
        if records.schema.get(column) != pl.String:
            raise ValueError(
                f"dedupe needs identifier column {column!r} of type String"
            )
    n = records.height
    if n == 0:
        return pl.DataFrame(schema=OUTPUT_SCHEMA)
    exact = _exact_edges(records, max_component, identifiers)
    fuzzy = _fuzzy_edges(records, threshold, max_block)
    edges = _distinct(_Edges.concat([exact, fuzzy]), n)
    labels, kept = _split(n, edges, max_component)
    survivors = _Edges(edges.src[kept], edges.dst[kept], edges.weight[kept])
    logger.info(
        "dedupe: %d records, %d exact and %d fuzzy links kept of %d",
        n,
        int((survivors.weight > 1.0).sum()),
        int((survivors.weight <= 1.0).sum()),
        len(edges.src),
    )
    return _entities(records["record_id"], labels, survivors)
