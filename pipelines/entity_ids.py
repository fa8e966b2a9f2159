"""Entity ids that last from one run to the next (pure, Polars).

A run's linkage gives clusters of records. Each cluster takes the id of the
previous run's entity whose records it mostly holds, so a destination keeps
seeing the same id for the same person (its member ids and its revocations
feed derive from the entity id), and only what really changed gets a new one.

Rule: a cluster inherits the id of a previous entity when it holds more than
half of that entity's records still in this run (so at most one cluster
can; records erased or retained out since do not count), choosing, among
such entities, the one it shares most records with (ties: the smallest id).
Every other cluster gets a fresh id: its own label (the run's provisional
id, the smallest record id), unless a previous entity, or one destinations
were told to delete, already went by that string; then a digest of it.

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


def _fresh_id(label: str, taken: set[str]) -> str:
    if label not in taken:
        return label
    return "e-" + hashlib.sha256(f"fresh\x1f{label}".encode()).hexdigest()[:40]


def carry_entity_ids(
    previous: pl.DataFrame,
    current: pl.DataFrame,
    reserved: frozenset[str] = frozenset(),
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Give this run's clusters the ids of the entities they continue.

    Args:
        previous: ``record_id``, ``entity_id`` of the previous run (empty for
            a first run).
        current: ``record_id``, ``cluster`` of this run; a cluster's label is
            its id when it continues no entity.
        reserved: Ids never to hand out again (revoked ones).

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
    taken = set(prev["entity_id"].to_list()) | reserved
    heirs = dict(zip(inherited["cluster"], inherited["entity_id"], strict=True))
    ids = {
        cluster: heirs.get(cluster) or _fresh_id(cluster, taken)
        for cluster in cur["cluster"].unique().to_list()
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
        "gone": prev["entity_id"].n_unique() - overlap["entity_id"].n_unique(),
    }
    assigned = cur.with_columns(
        pl.col("cluster").replace_strict(ids, return_dtype=pl.String).alias("entity_id")
    ).select("record_id", "entity_id")
    return assigned, counts


def continue_entities(
    previous_keys: pl.DataFrame,
    current_keys: pl.DataFrame,
    reserved: frozenset[str] = frozenset(),
) -> tuple[dict[str, str], dict[str, int]]:
    """Carry entity ids across runs by the identifier pseudonyms entities share.

    The fallback when the last run kept no record state (`run_linkage`,
    before incremental linkage existed): its identifier pseudonyms last, and
    each is one overlap unit, in one entity per run.

    Args:
        previous_keys: ``identifier_key``, ``entity_id`` kept by the last run.
        current_keys: ``identifier_key``, ``entity_id`` of this run's clusters
            (their provisional ids).
        reserved: Ids never to hand out again (revoked ones).

    Returns:
        This run's provisional id -> lasting id, and the counts of
        `carry_entity_ids`.
    """

    def one_entity_per_key(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.group_by("identifier_key").agg(pl.col("entity_id").min())

    previous = one_entity_per_key(previous_keys).rename({"identifier_key": "record_id"})
    current = one_entity_per_key(current_keys).rename(
        {"identifier_key": "record_id", "entity_id": "cluster"}
    )
    carried, counts = carry_entity_ids(previous, current, reserved)
    pairs = (
        current.join(carried, on="record_id").select("cluster", "entity_id").unique()
    )
    mapping = dict(zip(pairs["cluster"], pairs["entity_id"], strict=True))
    return mapping, counts
