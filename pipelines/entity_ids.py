"""Entity ids that last from one run to the next (pure, Polars).

A run's linkage gives clusters of records. Each cluster takes the id of the
previous run's entity whose records it mostly holds, so a destination keeps
seeing the same id for the same person (its member ids and its revocations
feed derive from the entity id), and only what really changed gets a new one.

Rule: a cluster inherits the id of a previous entity when it holds more than
half of that entity's records still in this run (so at most one cluster
can; records erased or retained out since do not count), choosing, among
such entities, the one it shares most records with (ties: the smallest id).
Every other cluster gets a fresh id: its smallest record id, unless some
previous entity already went by that string (a record that left its entity),
then a digest of its records.

What a run reports, by previous entity and by cluster:
- kept: clusters that inherit an id and hold records of no other previous
  entity;
- merged: clusters holding records of two or more previous entities;
- split: previous entities whose records now lie in two or more clusters;
- new: clusters none of whose records were in the previous run;
- gone: previous entities none of whose records are in this run (erased,
  retained out, or consent withdrawn).
"""

import hashlib

import polars as pl


def _fresh_id(records: list[str], taken: set[str]) -> str:
    smallest = min(records)
    if smallest not in taken:
        return smallest
    digest = hashlib.sha256("\x1f".join(sorted(records)).encode()).hexdigest()
    return f"e-{digest[:40]}"


def carry_entity_ids(
    previous: pl.DataFrame, current: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Give this run's clusters the ids of the entities they continue.

    Args:
        previous: ``record_id``, ``entity_id`` of the previous run (empty for
            a first run).
        current: ``record_id``, ``cluster`` of this run (any cluster label).

    Returns:
        ``record_id``, ``entity_id`` for every current record, and the counts
        kept, merged, split, new and gone.
    """
    prev = previous.select(
        pl.col("record_id").cast(pl.String), pl.col("entity_id").cast(pl.String)
    )
    cur = current.select(
        pl.col("record_id").cast(pl.String), pl.col("cluster").cast(pl.String)
    )
    carried = cur.join(prev, on="record_id")
    # An entity's size counts only its records still here: a record erased
    # since is not a record that went elsewhere.
    sizes = carried.group_by("entity_id").agg(pl.len().alias("entity_size"))
    overlap = (
        carried.group_by("cluster", "entity_id")
        .agg(pl.len().alias("shared"))
        .join(sizes, on="entity_id")
    )
    inherited = (
        overlap.filter(pl.col("shared") * 2 > pl.col("entity_size"))
        .sort(["cluster", "shared", "entity_id"], descending=[False, True, False])
        .group_by("cluster", maintain_order=True)
        .first()
        .select("cluster", "entity_id")
    )
    taken = set(prev["entity_id"].to_list())
    heirs = dict(zip(inherited["cluster"], inherited["entity_id"], strict=True))
    members = cur.group_by("cluster").agg(pl.col("record_id"))
    ids = {
        cluster: heirs.get(cluster) or _fresh_id(records, taken)
        for cluster, records in zip(
            members["cluster"], members["record_id"].to_list(), strict=True
        )
    }
    sources = overlap.group_by("cluster").agg(pl.col("entity_id").n_unique())
    many = set(sources.filter(pl.col("entity_id") > 1)["cluster"].to_list())
    touched = set(sources["cluster"].to_list())
    spread = overlap.group_by("entity_id").agg(pl.col("cluster").n_unique())
    counts = {
        "kept": sum(1 for c in heirs if c not in many),
        "merged": len(many),
        "split": spread.filter(pl.col("cluster") > 1).height,
        "new": sum(1 for c in ids if c not in touched),
        "gone": len(taken - set(overlap["entity_id"].to_list())),
    }
    assigned = cur.with_columns(
        pl.col("cluster").replace_strict(ids, return_dtype=pl.String).alias("entity_id")
    ).select("record_id", "entity_id")
    return assigned, counts
