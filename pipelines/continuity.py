"""continuity: segment ids that last from run to run, and who moved (pure).

A destination keys what it does with a segment (a campaign, a suppression
list) on the segment's id. Were every run to hand out new ids, each run would
flood it with segments it has never seen although most are the same people
as before. So a new segment takes the public id of the previous run's
segment of the same level that it overlaps most, by membership (Jaccard
index over entity ids, which last across runs), when the two are essentially
the same segment; otherwise it gets a new id and the old one is retired.

Beside the ids, the run records how many people moved between which
segments, and how many entered or left the audience: counts only, each
under the floor shown as suppressed, since these figures land in the run's
summary and audit trail, where a cell of two would single those two out.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment

# Hennig (2007) reads a Jaccard of 0.5 or less between a cluster and its best
# match as the cluster having dissolved (pipelines.stability uses the same
# scale for bootstrap stability), so a segment keeps an id only above it.
# Above it, most of either segment is the other: at most one segment of a
# partition can match a given one, and an even split hands the id to neither.
MATCH_MIN_JACCARD = 0.5

PREVIOUS_SCHEMA = {"public_id": pl.String, "level": pl.Int64, "entity_id": pl.String}
CURRENT_SCHEMA = {"segment_id": pl.String, "level": pl.Int64, "entity_id": pl.String}


def overlaps(previous: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """Shared members and Jaccard index of every overlapping pair, level by level.

    Args:
        previous: ``public_id``, ``level``, ``entity_id`` of the last run.
        current: ``segment_id`` (label), ``level``, ``entity_id`` of this run.

    Returns:
        ``level``, ``public_id``, ``segment_id``, ``shared``, ``jaccard``:
        one row per pair of segments of a level with a member in common.
    """
    before = previous.lazy().group_by("public_id").agg(pl.len().alias("before"))
    after = current.lazy().group_by("segment_id").agg(pl.len().alias("after"))
    return (
        previous.lazy()
        .join(current.lazy(), on=["level", "entity_id"])
        .group_by("level", "public_id", "segment_id")
        .agg(pl.len().alias("shared"))
        .join(before, on="public_id")
        .join(after, on="segment_id")
        .with_columns(
            (
                pl.col("shared")
                / (pl.col("before") + pl.col("after") - pl.col("shared"))
            ).alias("jaccard")
        )
        .select("level", "public_id", "segment_id", "shared", "jaccard")
        .sort("level", "public_id", "segment_id")
        .collect()
    )


def audience_flow(previous: pl.DataFrame, current: pl.DataFrame) -> tuple[int, int]:
    """People who entered (in no previous segment) and left (in no new one)."""
    before = previous.lazy().select("entity_id").unique()
    after = current.lazy().select("entity_id").unique()
    entered, left = pl.collect_all(
        [
            after.join(before, on="entity_id", how="anti").select(pl.len()),
            before.join(after, on="entity_id", how="anti").select(pl.len()),
        ]
    )
    return int(entered.item()), int(left.item())


def match_segments(
    pairs: pl.DataFrame, min_jaccard: float = MATCH_MIN_JACCARD
) -> dict[str, str]:
    """Label -> previous public id of each new segment that continues an old one.

    One to one within a level: the assignment maximising the summed Jaccard
    index (`overlaps` rows), of which only pairs over `min_jaccard` count.
    """
    kept: dict[str, str] = {}
    for level_pairs in pairs.partition_by("level", maintain_order=True):
        olds = level_pairs["public_id"].unique(maintain_order=True).to_list()
        news = level_pairs["segment_id"].unique(maintain_order=True).to_list()
        score = np.zeros((len(olds), len(news)))
        old_at = {old: i for i, old in enumerate(olds)}
        new_at = {new: j for j, new in enumerate(news)}
        for old, new, jaccard in level_pairs.select(
            "public_id", "segment_id", "jaccard"
        ).iter_rows():
            score[old_at[old], new_at[new]] = jaccard
        rows, cols = linear_sum_assignment(score, maximize=True)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            if score[i, j] > min_jaccard:
                kept[news[j]] = olds[i]
    return kept


def suppressed(count: int, k_min: int) -> int | None:
    """The count, or None when it is under the floor (zero tells of nobody)."""
    return count if count == 0 or count >= k_min else None


def _suppress_cells(cells: list[dict[str, Any]], k_min: int) -> list[dict[str, Any]]:
    """Cells under the floor, then the smallest others until the hidden sum is safe.

    Safe is nobody or at least `k_min` people: each cell a total is published
    for, hidden alone, would be that total minus the cells shown.
    """
    hidden = [c for c in cells if suppressed(c["entities"], k_min) is None]
    shown = sorted(
        (c for c in cells if suppressed(c["entities"], k_min) is not None),
        key=lambda c: c["entities"],
    )
    while shown and 0 < sum(c["entities"] for c in hidden) < k_min:
        hidden.append(shown.pop(0))
    out = [c | {"entities": None} for c in hidden] + shown
    return sorted(out, key=lambda c: (c["level"], c["from"], c["to"]))


@dataclass(frozen=True)
class Continuity:
    """What a run kept of the previous one: ids, and movement (counts only).

    Attributes:
        public_ids: Label -> public id of every new segment (kept or new).
        kept: New segments that kept a previous id.
        retired: Previous public ids no segment of this run continues.
        moves: ``level``, ``from``, ``to``, ``entities``: people in both runs
            whose segment at a level changed, per pair of public ids.
        entered: People of this run in none of the previous run's segments.
        left: People of the previous run in none of this run's segments.
    """

    public_ids: dict[str, str]
    kept: int
    retired: int
    moves: pl.DataFrame
    entered: int
    left: int

    def as_dict(self, k_min: int) -> dict[str, Any]:
        """The summary's figures, each count of people under `k_min` suppressed.

        The moved total is published, so its cells are suppressed further
        (`_suppress_cells`). Entered and left are shown together or not at
        all: their difference is the change in audience size, which the
        runs' summaries already show.
        """
        cells = _suppress_cells(self.moves.to_dicts(), k_min)
        both = suppressed(self.entered, k_min) is not None and (
            suppressed(self.left, k_min) is not None
        )
        return {
            "match_min_jaccard": MATCH_MIN_JACCARD,
            "k_min": k_min,
            "segments_kept": self.kept,
            "segments_new": len(self.public_ids) - self.kept,
            "segments_retired": self.retired,
            "public_ids": dict(sorted(self.public_ids.items())),
            "moved": suppressed(int(self.moves["entities"].sum()), k_min),
            "moves": cells,
            "entered": self.entered if both else None,
            "left": self.left if both else None,
        }


def continuity(
    previous: pl.DataFrame, current: pl.DataFrame, new_ids: dict[str, str]
) -> Continuity:
    """Match this run's segments to the previous run's and count who moved.

    Args:
        previous: ``public_id``, ``level``, ``entity_id`` of the last run
            (empty for a first run).
        current: ``segment_id`` (label), ``level``, ``entity_id``.
        new_ids: Label -> the id a segment gets when it continues none;
            every label of `current` is in it.
    """
    previous = previous.select(list(PREVIOUS_SCHEMA)).cast(PREVIOUS_SCHEMA)
    current = current.select(list(CURRENT_SCHEMA)).cast(CURRENT_SCHEMA)
    pairs = overlaps(previous, current)
    kept = match_segments(pairs)
    public_ids = {label: kept.get(label, new_id) for label, new_id in new_ids.items()}
    moves = (
        pairs.with_columns(
            pl.col("segment_id")
            .replace_strict(public_ids, return_dtype=pl.String)
            .alias("to")
        )
        .filter(pl.col("public_id") != pl.col("to"))
        .select(
            "level",
            pl.col("public_id").alias("from"),
            "to",
            pl.col("shared").alias("entities"),
        )
    )
    entered, left = audience_flow(previous, current)
    return Continuity(
        public_ids=public_ids,
        kept=len(kept),
        retired=previous["public_id"].n_unique() - len(kept),
        moves=moves,
        entered=entered,
        left=left,
    )
