"""Entity ids carried from one run to the next by record overlap."""

import random

import polars as pl

from pipelines.entity_ids import carry_entity_ids


def _previous(groups: dict[str, list[str]]) -> pl.DataFrame:
    rows = [(r, e) for e, records in groups.items() for r in records]
    return pl.DataFrame(rows, schema=["record_id", "entity_id"], orient="row")


def _current(clusters: list[list[str]]) -> pl.DataFrame:
    # Label each cluster as the run does: by its smallest record id.
    rows = [(r, min(records)) for records in clusters for r in records]
    return pl.DataFrame(rows, schema=["record_id", "cluster"], orient="row")


def _ids(assigned: pl.DataFrame) -> dict[str, str]:
    return dict(zip(assigned["record_id"], assigned["entity_id"], strict=True))


def test_a_first_run_names_entities_by_their_smallest_record() -> None:
    empty = pl.DataFrame(schema={"record_id": pl.String, "entity_id": pl.String})
    assigned, counts = carry_entity_ids(empty, _current([["r2", "r1"], ["r3"]]))
    assert _ids(assigned) == {"r1": "r1", "r2": "r1", "r3": "r3"}
    assert counts == {"kept": 0, "merged": 0, "split": 0, "new": 2, "gone": 0}


def test_unchanged_and_grown_entities_keep_their_ids() -> None:
    previous = _previous({"E1": ["r1", "r2"], "E2": ["r3"]})
    # r0 is a new record joining E1: smaller than any, it must not rename it.
    assigned, counts = carry_entity_ids(
        previous, _current([["r0", "r1", "r2"], ["r3"], ["r9"]])
    )
    ids = _ids(assigned)
    assert ids["r0"] == ids["r1"] == "E1"
    assert ids["r3"] == "E2"
    assert ids["r9"] == "r9"
    assert counts == {"kept": 2, "merged": 0, "split": 0, "new": 1, "gone": 0}


def test_a_merge_keeps_the_id_it_shares_most_with() -> None:
    previous = _previous({"E1": ["r1", "r2", "r3"], "E2": ["r4"]})
    assigned, counts = carry_entity_ids(previous, _current([["r1", "r2", "r3", "r4"]]))
    assert set(_ids(assigned).values()) == {"E1"}
    assert counts["merged"] == 1
    assert counts["kept"] == 0


def test_a_split_leaves_the_id_with_the_majority_and_never_reuses_it() -> None:
    previous = _previous({"r1": ["r1", "r2", "r3", "r4"]})
    assigned, counts = carry_entity_ids(
        previous, _current([["r2", "r3", "r4"], ["r1"]])
    )
    ids = _ids(assigned)
    assert ids["r2"] == "r1"  # the majority keeps the entity's id
    assert ids["r1"] not in {"r1", ids["r2"]}  # the record that left gets another
    assert counts["split"] == 1


def test_an_even_split_gives_both_halves_new_ids() -> None:
    previous = _previous({"E1": ["a", "b", "c", "d"]})
    assigned, counts = carry_entity_ids(previous, _current([["a", "b"], ["c", "d"]]))
    ids = _ids(assigned)
    assert "E1" not in ids.values()
    assert len(set(ids.values())) == 2
    assert counts["split"] == 1


def test_gone_entities_are_counted_and_ids_stay_unique() -> None:
    previous = _previous({"E1": ["r1"], "E2": ["r2"], "E3": ["r3", "r4"]})
    assigned, counts = carry_entity_ids(previous, _current([["r1"], ["r3"], ["r5"]]))
    assert counts["gone"] == 1  # E2: its only record is not in this run
    # r4 was erased: r3 is all that is left of E3, and keeps its id.
    assert _ids(assigned) == {"r1": "E1", "r3": "E3", "r5": "r5"}
    assert counts["kept"] == 2


def test_random_reclusterings_never_give_one_id_to_two_clusters() -> None:
    rng = random.Random(13)  # noqa: S311 - test data, not secrets
    for _ in range(200):
        records = [f"r{n:03d}" for n in range(rng.randrange(1, 40))]
        before = [rng.randrange(8) for _ in records]
        previous = pl.DataFrame(
            {"record_id": records, "entity_id": [f"E{b}" for b in before]}
        )
        kept = [r for r in records if rng.random() < 0.9] + ["x1", "x2"]
        current = pl.DataFrame(
            {"record_id": kept, "cluster": [str(rng.randrange(6)) for _ in kept]}
        )
        assigned, counts = carry_entity_ids(previous, current)
        per_cluster = current.join(assigned, on="record_id")
        pairs = per_cluster.select("cluster", "entity_id").unique()
        assert (
            pairs["cluster"].n_unique() == pairs.height == pairs["entity_id"].n_unique()
        )
        assert assigned.height == current.height
        assert counts["kept"] + counts["merged"] + counts["new"] <= pairs.height


def test_a_revoked_id_is_never_handed_out_again() -> None:
    # E1 was revoked (its person erased or withdrawn): its remaining record
    # comes back, but not under E1, even though it would have inherited it.
    empty = pl.DataFrame(schema={"record_id": pl.String, "entity_id": pl.String})
    assigned, counts = carry_entity_ids(
        empty, _current([["r1"], ["r2"]]), reserved=frozenset({"r1"})
    )
    ids = _ids(assigned)
    assert ids["r1"] != "r1"
    assert ids["r2"] == "r2"
    assert counts["new"] == 2
