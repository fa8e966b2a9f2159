"""From links to entities: exact, scored and carried links; the giant-chain guard."""

import polars as pl
import pytest

from pipelines.dedupe import OUTPUT_SCHEMA, dedupe

IDS = ("email_key", "phone_key")
EDGE_SCHEMA = {
    "record_id_l": pl.String,
    "record_id_r": pl.String,
    "match_probability": pl.Float64,
}


def records(n: int, **columns: list[str | None]) -> pl.DataFrame:
    """Records r00, r01, ... with the given identifier columns (null elsewhere)."""
    data: dict[str, list[str | None]] = {"record_id": [f"r{i:02d}" for i in range(n)]}
    for name in IDS:
        data[name] = columns.get(name, [None] * n)
    return pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))


def scored(*pairs: tuple[int, int, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [(f"r{a:02d}", f"r{b:02d}", p) for a, b, p in pairs],
        schema=EDGE_SCHEMA,
        orient="row",
    )


def groups(frame: pl.DataFrame) -> set[frozenset[str]]:
    by_entity = frame.group_by("entity_id").agg(pl.col("record_id"))
    return {frozenset(ids) for ids in by_entity["record_id"].to_list()}


def test_exact_and_scored_links_make_entities() -> None:
    frame = records(5, email_key=["e1", "e1", None, None, None])
    out = dedupe(frame, scored((2, 3, 0.97)), max_component=10, identifiers=IDS)
    assert groups(out) == {
        frozenset({"r00", "r01"}),
        frozenset({"r02", "r03"}),
        frozenset({"r04"}),
    }
    row = out.filter(pl.col("record_id") == "r03").row(0, named=True)
    assert (row["exact_links"], row["scored_links"], row["carried_links"]) == (0, 1, 0)
    # The entity is named by its smallest record id.
    assert row["entity_id"] == "r02"


def test_output_has_ids_and_counts_only() -> None:
    out = dedupe(records(3), scored((0, 1, 0.95)), max_component=10, identifiers=IDS)
    assert out.schema == OUTPUT_SCHEMA
    assert out["record_id"].to_list() == ["r00", "r01", "r02"]


def test_carried_groups_stay_together() -> None:
    carried = pl.DataFrame(
        {"record_id": ["r00", "r01", "r02"], "group": ["g", "g", "g"]}
    )
    out = dedupe(
        records(4), scored(), max_component=10, identifiers=IDS, carried=carried
    )
    assert groups(out) == {frozenset({"r00", "r01", "r02"}), frozenset({"r03"})}
    assert out["carried_links"].to_list()[:3] == [2, 2, 2]


def test_a_giant_chain_is_cut_at_its_weakest_links() -> None:
    # Two tight groups of 6 joined by one weak scored link: the guard drops
    # the weak link, not the strong ones.
    strong = [(a, b, 0.99) for a in range(6) for b in range(a + 1, 6)]
    strong += [(a, b, 0.99) for a in range(6, 12) for b in range(a + 1, 12)]
    out = dedupe(
        records(12),
        scored(*strong, (5, 6, 0.91)),
        max_component=6,
        identifiers=IDS,
    )
    assert groups(out) == {
        frozenset(f"r{i:02d}" for i in range(6)),
        frozenset(f"r{i:02d}" for i in range(6, 12)),
    }
    unguarded = dedupe(
        records(12), scored(*strong, (5, 6, 0.91)), max_component=20, identifiers=IDS
    )
    assert len(groups(unguarded)) == 1


def test_exact_links_outrank_scored_ones_when_splitting() -> None:
    # r00-r01 share an e-mail; r01-r02 only a scored link: with room for two,
    # the scored link goes.
    frame = records(3, email_key=["e", "e", None])
    out = dedupe(frame, scored((1, 2, 0.99)), max_component=2, identifiers=IDS)
    assert groups(out) == {frozenset({"r00", "r01"}), frozenset({"r02"})}


def test_an_identifier_shared_by_too_many_records_is_no_evidence() -> None:
    frame = records(8, phone_key=["switchboard"] * 8)
    out = dedupe(frame, scored(), max_component=5, identifiers=IDS)
    assert out["entity_id"].n_unique() == 8


def test_pairs_naming_unknown_records_are_ignored() -> None:
    edges = pl.DataFrame([("r00", "zz", 0.99)], schema=EDGE_SCHEMA, orient="row")
    out = dedupe(records(2), edges, max_component=5, identifiers=IDS)
    assert out["entity_id"].n_unique() == 2


def test_entities_do_not_depend_on_row_order() -> None:
    frame = records(6, email_key=["a", None, "a", None, None, None])
    edges = scored((1, 3, 0.95), (3, 4, 0.93))
    first = dedupe(frame, edges, max_component=10, identifiers=IDS)
    again = dedupe(frame.reverse(), edges.reverse(), max_component=10, identifiers=IDS)
    assert groups(first) == groups(again)
    assert dict(first.select("record_id", "entity_id").iter_rows()) == dict(
        again.select("record_id", "entity_id").iter_rows()
    )


def test_empty_input_gives_empty_output() -> None:
    out = dedupe(records(0), scored(), max_component=5, identifiers=IDS)
    assert out.is_empty()
    assert out.schema == OUTPUT_SCHEMA


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (records(2).with_columns(pl.lit("x").alias("record_id")), "unique"),
        (records(2).drop("email_key"), "email_key"),
    ],
)
def test_rejects_bad_input(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dedupe(frame, scored(), max_component=5, identifiers=IDS)


def test_rejects_a_tiny_max_component() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        dedupe(records(2), scored(), max_component=1, identifiers=IDS)
