from collections.abc import Mapping, Sequence

import polars as pl
import pytest

from gateway.linkage import BlockKeyer, ClkEncoder
from pipelines.dedupe import OUTPUT_SCHEMA, dedupe
from tests.factories import JEAN, MARIE, PAUL

KEY = bytes(range(32))
SCHEMA = {
    "record_id": pl.String,
    "email_key": pl.String,
    "phone_key": pl.String,
    "clk": pl.Binary,
    "block_keys": pl.List(pl.String),
}
PARAMS = {"threshold": 0.7, "max_block": 100, "max_component": 20}


def make_records(people: Mapping[str, Mapping[str, str | None]]) -> pl.DataFrame:
    """Encode people as the gateway would: record id -> fields (+ identifier keys)."""
    encode, keyer = ClkEncoder(KEY), BlockKeyer(KEY)
    rows = [
        {
            "record_id": record_id,
            "email_key": fields.get("email_key"),
            "phone_key": fields.get("phone_key"),
            "clk": encode(fields),
            "block_keys": keyer(fields),
        }
        for record_id, fields in people.items()
    ]
    return pl.DataFrame(rows, schema=SCHEMA)


def make_raw(clks: Sequence[bytes], blocks: Sequence[list[str]]) -> pl.DataFrame:
    """Records from hand-made bit patterns: ids r00, r01, ... in order."""
    return pl.DataFrame(
        {
            "record_id": [f"r{i:02d}" for i in range(len(clks))],
            "email_key": [None] * len(clks),
            "phone_key": [None] * len(clks),
            "clk": list(clks),
            "block_keys": list(blocks),
        },
        schema=SCHEMA,
    )


def window(start: int, width: int = 200, bits: int = 1024) -> bytes:
    """A filter whose set bits are [start, start + width)."""
    value = ((1 << width) - 1) << (bits - start - width)
    return value.to_bytes(bits // 8)


def entity_count(frame: pl.DataFrame, *, max_block: int, max_component: int) -> int:
    result = dedupe(
        frame, threshold=0.7, max_block=max_block, max_component=max_component
    )
    return result["entity_id"].n_unique()


def entities(result: pl.DataFrame) -> list[set[str]]:
    groups = result.group_by("entity_id").agg(pl.col("record_id"))
    return sorted((set(ids) for ids in groups["record_id"]), key=min)


def test_finds_planted_exact_and_fuzzy_duplicates() -> None:
    records = make_records(
        {
            "a1": JEAN | {"email_key": "e-jean"},
            "a2": JEAN | {"last_name": "Martim"},  # typo, no identifier
            "a3": {"first_name": "J.", "email_key": "e-jean"},  # identifier only
            "b1": MARIE | {"phone_key": "p-marie"},
            "b2": MARIE | {"city": "Lyom", "phone_key": "p-marie"},
            "c1": PAUL,
        }
    )
    result = dedupe(records, **PARAMS)
    assert entities(result) == [{"a1", "a2", "a3"}, {"b1", "b2"}, {"c1"}]
    jean = result.filter(pl.col("entity_id") == "a1")
    assert jean["exact_links"].to_list() == [1, 1, 1]
    assert jean["fuzzy_links"].to_list() == [1, 1, 1]


def test_does_not_merge_different_people() -> None:
    people = {
        "a": JEAN,
        "b": MARIE,
        "c": PAUL,
        "d": JEAN | {"first_name": "Jeanne", "birth_date": "1990-07-14"},
        "e": MARIE | {"street": "9 rue Neuve", "birth_date": "1950-01-01"},
    }
    result = dedupe(make_records(people), **PARAMS)
    assert result["entity_id"].to_list() == result["record_id"].to_list()


def test_output_has_ids_and_counts_only() -> None:
    result = dedupe(make_records({"a": JEAN, "b": JEAN | {"city": "Pari"}}), **PARAMS)
    assert result.schema == OUTPUT_SCHEMA
    assert not any(dtype.is_float() for dtype in result.schema.dtypes())


def test_entity_ids_do_not_depend_on_row_order() -> None:
    records = make_records(
        {"z": JEAN, "m": JEAN | {"city": "Pari"}, "q": MARIE, "b": PAUL}
    )
    forward = dedupe(records, **PARAMS).sort("record_id")
    backward = dedupe(records.reverse(), **PARAMS).sort("record_id")
    assert forward.equals(backward)
    assert forward.filter(pl.col("record_id") == "z")["entity_id"].item() == "m"


def test_giant_chain_is_cut_at_its_weakest_link() -> None:
    # Twelve records in one block; each shares 190 of 200 bits with the next
    # (Dice 0.95), except r05 -> r06, which shares 160 (Dice 0.8).
    starts = [10 * i + (30 if i >= 6 else 0) for i in range(12)]
    records = make_raw([window(s) for s in starts], [["b"]] * 12)
    unguarded = dedupe(records, threshold=0.7, max_block=100, max_component=100)
    assert len(entities(unguarded)) == 1
    guarded = dedupe(records, threshold=0.7, max_block=100, max_component=6)
    expected = [{f"r{i:02d}" for i in range(6)}, {f"r{i:02d}" for i in range(6, 12)}]
    assert entities(guarded) == expected


def test_long_exact_chains_are_split_too() -> None:
    # r00-r01 share an e-mail, r01-r02 a phone, r02-r03 an e-mail...
    n = 30
    frame = make_raw([window(0)] * n, [[]] * n).with_columns(
        email_key=pl.Series([f"e{(i + 1) // 2}" for i in range(n)]),
        phone_key=pl.Series([f"p{i // 2}" for i in range(n)]),
    )
    result = dedupe(frame, threshold=0.7, max_block=100, max_component=10)
    sizes = result.group_by("entity_id").len()["len"]
    assert sizes.max() <= 10
    assert sizes.sum() == n


def test_identifier_shared_by_too_many_records_is_no_evidence() -> None:
    n = 25
    frame = make_raw([window(8 * i, 4) for i in range(n)], [[]] * n).with_columns(
        phone_key=pl.lit("p-switchboard")
    )
    assert entity_count(frame, max_block=100, max_component=10) == n


def test_oversized_blocks_are_skipped() -> None:
    records = make_raw([window(0)] * 3, [["big"]] * 3)
    assert entity_count(records, max_block=3, max_component=10) == 1
    assert entity_count(records, max_block=2, max_component=10) == 3


def test_empty_input_gives_empty_output() -> None:
    result = dedupe(pl.DataFrame(schema=SCHEMA), **PARAMS)
    assert result.is_empty()
    assert result.schema == OUTPUT_SCHEMA


def test_records_without_encoding_link_only_exactly() -> None:
    frame = make_raw([window(0)] * 3, [["b"]] * 3).with_columns(
        clk=pl.Series([None, None, None], dtype=pl.Binary),
        email_key=pl.Series(["e1", "e1", None]),
    )
    assert entities(dedupe(frame, **PARAMS)) == [{"r00", "r01"}, {"r02"}]


@pytest.mark.parametrize(
    ("frame", "params", "message"),
    [
        (make_raw([window(0)], [["b"]]).drop("phone_key"), PARAMS, "phone_key"),
        (
            make_raw([window(0)], [["b"]]).with_columns(clk=pl.lit("x")),
            PARAMS,
            "clk",
        ),
        (
            make_raw([window(0)] * 2, [[]] * 2).with_columns(record_id=pl.lit("r")),
            PARAMS,
            "unique",
        ),
        (make_raw([window(0)], [["b"]]), PARAMS | {"threshold": 0.0}, "threshold"),
        (make_raw([window(0)], [["b"]]), PARAMS | {"max_block": 1}, "at least 2"),
    ],
)
def test_rejects_bad_input(
    frame: pl.DataFrame, params: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        dedupe(frame, **params)  # type: ignore[arg-type]


def test_extra_identifier_columns_link_exactly() -> None:
    records = make_records({"a": JEAN, "b": MARIE, "c": PAUL}).with_columns(
        pl.Series("subject_id", ["s1", "s1", "s2"])
    )
    plain = dedupe(records, **PARAMS)
    assert plain["entity_id"].n_unique() == 3
    linked = dedupe(records, **PARAMS, identifiers=("email_key", "subject_id"))
    assert linked["entity_id"].to_list() == ["a", "a", "c"]
    with pytest.raises(ValueError, match="identifier column 'nope'"):
        dedupe(records, **PARAMS, identifiers=("nope",))
