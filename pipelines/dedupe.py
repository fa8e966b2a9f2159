"""From links between records to entities (pure: frames in, frame out).

Three kinds of link join two records:

* exact: they share an identifier pseudonym (e-mail, phone, the subject
  pseudonym...: a keyed HMAC of the normalized identifier, so equal means
  the same identifier);
* scored: the Fellegi-Sunter model of `pipelines.fs_link` gives the pair a
  match probability at or above its threshold;
* carried: in an incremental run, two records the previous run put in one
  entity and that have not changed since (`pipelines.linking`).

Linked records form a graph; each connected component is one entity. One
wrong link can chain two people's records, and chains of them can glue
thousands of records into one "person". A component above `max_component`
records is split: its weakest links (lowest match probability first, then
carried links, then exact links on identifiers shared by many records) are
dropped, a tenth at a time, until every part fits. Exact links on an
identifier shared by more than `max_component` records are never made:
such a value is a placeholder or a shared switchboard, not a person.

Probabilities never leave this module: the output holds entity labels and
per-entity link counts only, because a pairwise score tells whoever reads
it how close two people's names and addresses are.
"""

import logging
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

logger = logging.getLogger(__name__)

OUTPUT_SCHEMA = pl.Schema(
    {
        "record_id": pl.String,
        "entity_id": pl.String,
        "exact_links": pl.UInt32,
        "scored_links": pl.UInt32,
        "carried_links": pl.UInt32,
    }
)
# Weights order the links for splitting: scored in [0, _SCORED_CAP], carried
# exactly 1, exact above 1.
_SCORED_CAP = 0.999_999
_CARRIED = 1.0
# Share of an oversized component's links dropped per splitting round: small
# enough to keep most true links, large enough to finish in a few dozen rounds.
_SPLIT_FRACTION = 0.1


@dataclass(frozen=True, slots=True)
class _Edges:
    """Undirected links between row positions; the weight says which kind."""

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


def _rows(records: pl.DataFrame) -> pl.DataFrame:
    return records.select(
        "record_id", pl.int_range(pl.len(), dtype=pl.Int64).alias("row")
    )


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
        # Above 1, so every exact link outranks every other; an identifier
        # shared by fewer records is the stronger evidence.
        weight = 1.0 + 1.0 / group["size"].to_numpy().astype(np.float64)
        src = group["first"].to_numpy().astype(np.int64)
        parts.append(_Edges(src, group["row"].to_numpy().astype(np.int64), weight))
    return _Edges.concat(parts)


def _scored_edges(rows: pl.DataFrame, scored: pl.DataFrame) -> _Edges:
    """The model's pairs, as row positions; pairs naming unknown records are dropped."""
    pairs = (
        scored.join(rows, left_on="record_id_l", right_on="record_id")
        .rename({"row": "a"})
        .join(rows, left_on="record_id_r", right_on="record_id")
        .rename({"row": "b"})
    )
    weight = np.minimum(pairs["match_probability"].to_numpy(), _SCORED_CAP)
    return _Edges(
        pairs["a"].to_numpy().astype(np.int64),
        pairs["b"].to_numpy().astype(np.int64),
        weight.astype(np.float64),
    )


def _carried_edges(rows: pl.DataFrame, groups: pl.DataFrame) -> _Edges:
    """Star links inside each carried group (``record_id``, ``group``)."""
    placed = groups.join(rows, on="record_id").with_columns(
        pl.col("row").min().over("group").alias("first")
    )
    placed = placed.filter(pl.col("row") != pl.col("first"))
    src = placed["first"].to_numpy().astype(np.int64)
    return _Edges(
        src,
        placed["row"].to_numpy().astype(np.int64),
        np.full(len(src), _CARRIED, dtype=np.float64),
    )


def _distinct(edges: _Edges, n: int) -> _Edges:
    """One link per pair, the strongest (a pair linked in several ways)."""
    low, high = np.minimum(edges.src, edges.dst), np.maximum(edges.src, edges.dst)
    keep_pair = low != high
    low, high, weight = low[keep_pair], high[keep_pair], edges.weight[keep_pair]
    pair = low * n + high
    order = np.lexsort((-weight, pair))
    pair = pair[order]
    first = np.ones(len(pair), dtype=np.bool_)
    first[1:] = pair[1:] != pair[:-1]
    keep = order[first]
    return _Edges(low[keep], high[keep], weight[keep])


def _label(n: int, src: NDArray[np.int64], dst: NDArray[np.int64]) -> NDArray[np.int64]:
    graph = coo_array((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def _weakest(
    component: NDArray[np.int64], weight: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Mark each component's weakest links: its lowest tenth, or at least its minimum.

    Links below the tenth-lowest weight go, and so do those at the
    component's lowest weight: match probabilities tie a lot near 1, and a
    cut at "the tenth or below" would then drop the strong links with the
    weak one.
    """
    order = np.lexsort((weight, component))
    sorted_component = component[order]
    starts = np.flatnonzero(np.r_[True, sorted_component[1:] != sorted_component[:-1]])
    counts = np.diff(np.r_[starts, len(order)])
    cut = weight[order[starts + (_SPLIT_FRACTION * (counts - 1)).astype(np.int64)]]
    lowest = weight[order[starts]]
    cut_of = np.zeros(int(component.max()) + 1)
    low_of = np.zeros(int(component.max()) + 1)
    cut_of[sorted_component[starts]] = cut
    low_of[sorted_component[starts]] = lowest
    return (weight < cut_of[component]) | (weight == low_of[component])


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

    def count(mask: NDArray[np.bool_]) -> NDArray[np.uint32]:
        per = np.bincount(component[mask], minlength=size)
        return per[labels].astype(np.uint32)

    frame = pl.DataFrame(
        {
            "record_id": record_ids,
            "label": labels,
            "exact_links": count(edges.weight > _CARRIED),
            "scored_links": count(edges.weight < _CARRIED),
            "carried_links": count(edges.weight == _CARRIED),
        }
    )
    # The smallest record id names the entity: computed from the data alone
    # (no counter, no clock); `pipelines.entity_ids` then carries lasting ids.
    entity = pl.col("record_id").min().over("label").alias("entity_id")
    return frame.select(
        "record_id", entity, "exact_links", "scored_links", "carried_links"
    )


def dedupe(
    records: pl.DataFrame,
    scored: pl.DataFrame,
    *,
    max_component: int,
    identifiers: tuple[str, ...],
    carried: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Group records of the same person into entities.

    Args:
        records: ``record_id`` (String, unique) and the `identifiers` columns.
        scored: ``record_id_l``, ``record_id_r``, ``match_probability``: the
            pairs the linkage model links (`pipelines.fs_link.fs_edges`).
        max_component: Largest entity; larger components are split.
        identifiers: String columns whose equal values link exactly.
        carried: ``record_id``, ``group``: records kept together from the
            previous run (incremental linkage); None for a full run.

    Returns:
        ``record_id``, ``entity_id`` (the smallest record id of the entity),
        and the entity's links of each kind after splitting, one row per
        input row, in input order. No probability.

    Raises:
        ValueError: A missing or mistyped column, a duplicate or null
            record id, or a bad parameter.
    """
    if max_component < 2:
        raise ValueError("max_component must be at least 2")
    for column in ("record_id", *identifiers):
        if records.schema.get(column) != pl.String:
            raise ValueError(f"dedupe needs column {column!r} of type String")
    ids = records["record_id"]
    if ids.null_count() or ids.n_unique() != records.height:
        raise ValueError("record_id must be present and unique")
    n = records.height
    if n == 0:
        return pl.DataFrame(schema=OUTPUT_SCHEMA)
    rows = _rows(records)
    parts = [
        _exact_edges(records, max_component, identifiers),
        _scored_edges(rows, scored),
    ]
    if carried is not None:
        parts.append(_carried_edges(rows, carried))
    edges = _distinct(_Edges.concat(parts), n)
    labels, kept = _split(n, edges, max_component)
    survivors = _Edges(edges.src[kept], edges.dst[kept], edges.weight[kept])
    logger.info(
        "dedupe: %d records, %d links kept of %d",
        n,
        int(kept.sum()),
        len(edges.src),
    )
    return _entities(ids, labels, survivors)
