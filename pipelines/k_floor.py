"""k_floor: the k-anonymity floor on segments (pure: frames in, frames out).

No segment smaller than k may leave the pipeline: a list of three people is
as good as their names to whoever can join it with anything else. A segment
under the floor is merged into the nearest segment (Euclidean distance between
centroids) of the same level and, below level 1, of the same parent, so the
merged segment stays inside that parent; the smallest goes first, and merging
repeats until every segment reaches the floor. A segment with no such
neighbour, without a centroid to measure by, or defined by a rule (``method``
"rule"), is suppressed, and its descendants with it. Children of a merged
segment follow it to its target.

Nested segments leak by difference: from a parent and its children anyone can
compute the parent's members that no child holds. When that remainder is
non-empty but under the floor, all the parent's children are suppressed (this
only happens below rule-based levels, which need not cover their parent).
A lone child equal to its parent adds nothing and is dropped when it has no
children of its own.

Sizes are always recounted from the memberships, never trusted from the
segment table. The report holds counts only: segment ids are harmless, but a
report that names what was suppressed invites asking who was in it.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import polars as pl
from numpy.typing import NDArray

from gateway.export.floor import remainder_ok, visible_ids

# Measurements of a segment as it was fitted: stale once it absorbs another.
_MEASURED = ("stability", "silhouette", "description")
# A rule segment means its rule ("share_channel_app > 0.5"): adding members
# who fail the rule would make the label lie, so it is never merged.
_UNMERGEABLE = frozenset({"rule"})


@dataclass(frozen=True, slots=True)
class FloorReport:
    """What the floor changed, in counts only.

    Attributes:
        k_min: The floor applied.
        merged_segments: Segments merged into a neighbour.
        merged_members: Membership rows moved to another segment by a merge.
        suppressed_segments: Segments removed, with their members.
        suppressed_members: Membership rows removed with them.
        redundant_segments: Lone children equal to their parent, dropped.
    """

    k_min: int
    merged_segments: int = 0
    merged_members: int = 0
    suppressed_segments: int = 0
    suppressed_members: int = 0
    redundant_segments: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts as a JSON-ready mapping."""
        return asdict(self)


@dataclass(slots=True)
class _Node:
    """Working copy of one segment while merges are decided."""

    level: int
    parent: str | None
    size: int
    centroid: NDArray[np.float64] | None
    mergeable: bool = True
    absorbed: bool = False


@dataclass(slots=True)
class _Plan:
    nodes: dict[str, _Node]
    merged_into: dict[str, str] = field(default_factory=dict)
    suppressed: set[str] = field(default_factory=set)
    redundant: set[str] = field(default_factory=set)


def enforce_floor(
    memberships: pl.DataFrame, segments: pl.DataFrame, k_min: int
) -> tuple[pl.DataFrame, pl.DataFrame, FloorReport]:
    """Merge or suppress every segment with fewer than `k_min` members.

    Args:
        memberships: ``entity_id``, ``segment_id``, ``level`` (``parent_id``
            is recomputed), one row per entity and level.
        segments: ``segment_id``, ``level``, ``parent_id`` and, to allow
            merging, ``centroid`` (list of floats); an optional ``method`` of
            "rule" forbids merging. Other columns are kept; ``stability``,
            ``silhouette`` and ``description`` become null on a segment that
            absorbed another, since they no longer describe it.
        k_min: The floor, at least 1.

    Returns:
        The memberships and segments that remain, every segment with at least
        `k_min` members and inside its parent, and a report of counts.

    Raises:
        ValueError: `k_min` is not a positive integer, or the input is not a
            valid hierarchy (unknown segment, member outside its parent, an
            entity twice at one level, a parent not one level up).
    """
    _check_floor(k_min)
    _check_hierarchy(memberships, segments)
    plan = _Plan(_nodes(memberships, segments))
    for level in sorted({node.level for node in plan.nodes.values()}):
        _floor_level(plan, level, k_min)
    _suppress_remainders(plan, k_min)
    _drop_redundant(plan)
    kept, counts = _apply(memberships, plan)
    report = FloorReport(
        k_min=k_min,
        merged_segments=len(plan.merged_into),
        suppressed_segments=len(plan.suppressed),
        redundant_segments=len(plan.redundant),
        **counts,
    )
    out = _segments_out(segments, plan)
    if (out["size"] < k_min).any():  # unreachable unless the logic above breaks
        raise RuntimeError("a segment under the floor survived enforce_floor")
    return kept, out, report


def visible_segments(
    segments: pl.DataFrame, sizes_now: Mapping[str, int], floor: int
) -> pl.DataFrame:
    """Return the segments a destination may see now, with their current sizes.

    Consent withdrawals and erasures shrink segments after the run, so at pull
    time each segment is checked again against the strictest floor (see
    `strictest_floor`). A segment is withheld when it is under the floor, when
    its parent is withheld, or, with its siblings, when the parent's members
    outside its visible children are fewer than the floor but not none.

    Args:
        segments: ``segment_id``, ``level``, ``parent_id`` (other columns kept).
        sizes_now: Current member count per segment id; a missing id counts 0.
        floor: The floor to apply, at least 1.

    Returns:
        The visible rows of `segments`, in their order, ``size`` set to now.
    """
    _check_floor(floor)
    now = {sid: int(sizes_now.get(sid, 0)) for sid in segments["segment_id"]}
    rows = segments.select("segment_id", "level", "parent_id").rows()
    visible = visible_ids(rows, now, floor)
    kept = segments.filter(pl.col("segment_id").is_in(visible))
    return kept.with_columns(
        pl.col("segment_id").replace_strict(now, return_dtype=pl.Int64).alias("size")
    )


def strictest_floor(*floors: int | None) -> int:
    """Return the largest of the floors given, ignoring None.

    Raises:
        ValueError: No floor is given, or one is not a positive integer.
    """
    given = [floor for floor in floors if floor is not None]
    if not given:
        raise ValueError("at least one floor is required")
    for floor in given:
        _check_floor(floor)
    return max(given)


def _check_floor(floor: int) -> None:
    if isinstance(floor, bool) or not isinstance(floor, int | np.integer) or floor < 1:
        raise ValueError("a floor must be an integer of at least 1")


def _check_hierarchy(memberships: pl.DataFrame, segments: pl.DataFrame) -> None:
    """Refuse input that is not a hierarchy: the floor could not hold on it."""
    ids = segments["segment_id"]
    if ids.null_count() or ids.n_unique() != len(ids):
        raise ValueError("segment ids must be unique and non-null")
    table = segments.select("segment_id", "level", "parent_id")
    parents = table.join(
        table.select(pl.col("segment_id").alias("parent_id"), "level"),
        on="parent_id",
        how="left",
        suffix="_parent",
    )
    bad_parent = (pl.col("level") == 1) != pl.col("parent_id").is_null()
    bad_level = pl.col("parent_id").is_not_null() & (
        pl.col("level_parent").is_null()
        | (pl.col("level_parent") != pl.col("level") - 1)
    )
    if parents.filter(bad_parent | bad_level).height:
        raise ValueError("each segment's parent must exist one level up (none at 1)")
    rows = memberships.select("entity_id", "segment_id", "level").join(
        table, on="segment_id", how="left", suffix="_segment"
    )
    if rows.filter(
        pl.col("level_segment").is_null() | (pl.col("level") != pl.col("level_segment"))
    ).height:
        raise ValueError("memberships name unknown segments or the wrong level")
    if rows.select("entity_id", "level").is_duplicated().any():
        raise ValueError("an entity has two segments at one level")
    above = rows.select("entity_id", pl.col("segment_id").alias("parent_id"))
    outside = rows.filter(pl.col("parent_id").is_not_null()).join(
        above, on=["entity_id", "parent_id"], how="anti"
    )
    if outside.height:
        raise ValueError("a member of a segment is missing from its parent")


def _nodes(memberships: pl.DataFrame, segments: pl.DataFrame) -> dict[str, _Node]:
    counts = dict(memberships.group_by("segment_id").len().rows())
    blank = [None] * segments.height
    columns = segments.columns
    centroids = segments["centroid"].to_list() if "centroid" in columns else blank
    methods = segments["method"].to_list() if "method" in columns else blank
    rows = segments.select("segment_id", "level", "parent_id").rows()
    return {
        sid: _Node(
            level=level,
            parent=parent,
            size=int(counts.get(sid, 0)),
            centroid=None if centroid is None else np.asarray(centroid, np.float64),
            mergeable=method not in _UNMERGEABLE,
        )
        for (sid, level, parent), centroid, method in zip(
            rows, centroids, methods, strict=True
        )
    }


def _floor_level(plan: _Plan, level: int, k_min: int) -> None:
    """Merge or suppress the smallest segment under the floor until none is left."""
    while True:
        small = [
            (node.size, sid, node)
            for sid, node in plan.nodes.items()
            if node.level == level and node.size < k_min
        ]
        if not small:
            return
        _, sid, node = min(small, key=lambda item: item[:2])
        target = _nearest(plan, sid, node)
        if target is None:
            _suppress(plan, sid)
        else:
            _merge(plan, sid, target)


def _nearest(plan: _Plan, sid: str, node: _Node) -> str | None:
    if node.centroid is None or not node.mergeable:
        return None
    siblings = [
        (float(np.linalg.norm(other.centroid - node.centroid)), other_id)
        for other_id, other in plan.nodes.items()
        if other_id != sid
        and other.level == node.level
        and other.parent == node.parent
        and other.mergeable
        and other.centroid is not None
        and other.centroid.shape == node.centroid.shape
    ]
    return min(siblings)[1] if siblings else None  # ties go to the smaller id


def _merge(plan: _Plan, sid: str, target: str) -> None:
    src, dst = plan.nodes.pop(sid), plan.nodes[target]
    total = src.size + dst.size
    if total and src.centroid is not None and dst.centroid is not None:
        # Centroids are means, so the merged mean is their size-weighted mean.
        dst.centroid = (src.size * src.centroid + dst.size * dst.centroid) / total
    dst.size = total
    dst.absorbed = True
    for node in plan.nodes.values():
        if node.parent == sid:
            node.parent = target
    plan.merged_into[sid] = target


def _suppress(plan: _Plan, sid: str) -> None:
    plan.nodes.pop(sid)
    plan.suppressed.add(sid)
    for child in [c for c, node in plan.nodes.items() if node.parent == sid]:
        _suppress(plan, child)


def _children(plan: _Plan) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for sid, node in sorted(plan.nodes.items(), key=lambda item: item[1].level):
        if node.parent is not None:
            children.setdefault(node.parent, []).append(sid)
    return children


def _suppress_remainders(plan: _Plan, k_min: int) -> None:
    levels = sorted({node.level for node in plan.nodes.values()})
    for level in levels:
        for parent, kids in _children(plan).items():
            node = plan.nodes.get(parent)
            if node is None or node.level != level:
                continue
            if not remainder_ok(node.size, [plan.nodes[k].size for k in kids], k_min):
                for kid in kids:
                    _suppress(plan, kid)


def _drop_redundant(plan: _Plan) -> None:
    # Deepest first, so a chain of lone children equal to their parent collapses.
    for sid, node in sorted(plan.nodes.items(), key=lambda item: -item[1].level):
        children = _children(plan)
        if (
            node.parent is not None
            and children[node.parent] == [sid]
            and sid not in children
            and node.size == plan.nodes[node.parent].size
        ):
            plan.nodes.pop(sid)
            plan.redundant.add(sid)


def _apply(
    memberships: pl.DataFrame, plan: _Plan
) -> tuple[pl.DataFrame, dict[str, int]]:
    final = {sid: _resolve(plan.merged_into, sid) for sid in plan.merged_into}
    moved = memberships.with_columns(pl.col("segment_id").replace(final))
    suppressed = pl.col("segment_id").is_in(plan.suppressed)
    counts = {
        # A row merged into a segment suppressed later counts in both.
        "merged_members": int(memberships["segment_id"].is_in(final.keys()).sum()),
        "suppressed_members": int(moved.select(suppressed.sum()).item()),
    }
    kept = moved.filter(~suppressed & ~pl.col("segment_id").is_in(plan.redundant))
    ids = list(plan.nodes)
    parents = [plan.nodes[sid].parent for sid in ids]
    parent_id = pl.col("segment_id").replace_strict(
        ids, parents, return_dtype=pl.String
    )
    return kept.with_columns(parent_id.alias("parent_id")), counts


def _resolve(merged_into: Mapping[str, str], sid: str) -> str:
    while sid in merged_into:
        sid = merged_into[sid]
    return sid


def _segments_out(segments: pl.DataFrame, plan: _Plan) -> pl.DataFrame:
    ids = list(plan.nodes)
    update = pl.DataFrame(
        {
            "segment_id": ids,
            "_size": [plan.nodes[s].size for s in ids],
            "_parent": [plan.nodes[s].parent for s in ids],
            "_centroid": [_as_list(plan.nodes[s].centroid) for s in ids],
            "_absorbed": [plan.nodes[s].absorbed for s in ids],
        },
        schema_overrides={
            "segment_id": pl.String,
            "_size": pl.Int64,
            "_parent": pl.String,
            "_centroid": pl.List(pl.Float64),
            "_absorbed": pl.Boolean,
        },
    )
    joined = segments.join(update, on="segment_id", how="inner", maintain_order="left")
    measured = [c for c in segments.columns if c in _MEASURED]
    stale = [
        pl.when(pl.col("_absorbed")).then(None).otherwise(pl.col(c)).alias(c)
        for c in measured
    ]
    fresh = [pl.col("_size").alias("size"), pl.col("_parent").alias("parent_id")]
    if "centroid" in segments.columns:
        fresh.append(pl.col("_centroid").alias("centroid"))
    columns = [*segments.columns, *(["size"] if "size" not in segments.columns else [])]
    return joined.with_columns(*stale, *fresh).select(columns)


def _as_list(centroid: NDArray[np.float64] | None) -> list[float] | None:
    return None if centroid is None else centroid.tolist()
