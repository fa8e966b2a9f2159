"""The DuckDB input table `pipelines.fs_link` scores pairs on.

Each keyed Bloom filter of `gateway.linkage.fields` is loaded as its bit
count and four 128-bit integers, so that Dice is computed in SQL on
integers (`dice_sql`); records are numbered, and a name's count over the
whole frame is kept for the rarity levels (`pipelines.fs_comparisons`).
"""

import duckdb
import polars as pl

from gateway.linkage.fields import FILTER_COLUMNS, HASH_COLUMNS

NEW_FLAG = "fs_new"  # the `new` flag inside DuckDB, under a name no input column has


INPUT_TABLE = "fs_input"


IDS_TABLE = "fs_ids"  # unique_id (the row number Splink sees) -> record_id


RARER_FIELDS = ("first_name",)


_FILTER_BYTES = 64  # the filters of `gateway.linkage.fields`: 512 bits


_WORDS = _FILTER_BYTES // 16  # compared as 128-bit integers (`dice_sql`)


def dice_sql(column: str) -> str:
    """SQL for the Dice coefficient of one filter between the two sides of a pair."""
    # Each filter is four 128-bit words and its bit count (`load_input`): DuckDB's
    # BIT operators allocate a new bitstring per value, and Dice on BIT
    # columns cost six times as much (25 s against 3.9 s for 17 million
    # pairs, measured): the largest cost of linking a million records.
    common = " + ".join(
        f"CAST(bit_count({_word(column, i)}_l & {_word(column, i)}_r) AS INTEGER)"
        for i in range(_WORDS)
    )
    return f"2.0 * ({common}) / ({column}_l + {column}_r)"


def _word(column: str, index: int) -> str:
    """The input table's column holding 128-bit word `index` of a filter."""
    return f"{column}_q{index}"


def count_column(field: str) -> str:
    """The input table's column counting the records that share the field's value."""
    return f"{field}_n"


def filter_columns() -> list[str]:
    """The input table's columns of each filter: its bit count, then its words."""
    return [
        name
        for column in FILTER_COLUMNS
        for name in (column, *(_word(column, i) for i in range(_WORDS)))
    ]


def filter_halves(frame: pl.DataFrame) -> list[pl.Series]:
    """Each filter as the 64-bit halves of its 128-bit words (null stays null).

    Arrow has no 128-bit integer: the halves go in, the words are made in
    DuckDB (`filter_sql`).

    Raises:
        ValueError: A filter is not `_FILTER_BYTES` long.
    """
    out = []
    for column in FILTER_COLUMNS:
        sizes = frame[column].bin.size().drop_nulls().unique().to_list()
        if sizes not in ([], [_FILTER_BYTES]):
            raise ValueError(f"{column} must hold {_FILTER_BYTES}-byte filters")
        halves = frame[column].bin.reinterpret(
            dtype=pl.Array(pl.Int64, 2 * _WORDS), endianness="big"
        )
        out.extend(
            halves.arr.get(i, null_on_oob=True).alias(f"{column}_w{i}")
            for i in range(2 * _WORDS)
        )
    return out


def filter_sql() -> list[str]:
    """SELECT items making each filter's bit count and 128-bit words.

    A word is its high half times 2**64 plus its low half read as unsigned.
    DuckDB refuses to shift a negative number and checks the product
    against a bound one short of the type's, so the high half is multiplied
    by 2**64 - 1 and added once more.
    """
    items = []
    for column in FILTER_COLUMNS:
        count = " + ".join(
            f"CAST(bit_count({column}_w{i}) AS INTEGER)" for i in range(2 * _WORDS)
        )
        items.append(f"{count} AS {column}")
        items.extend(
            f"CAST({column}_w{2 * i} AS HUGEINT) * 18446744073709551615 + "
            f"(CAST({column}_w{2 * i + 1} AS HUGEINT) & 18446744073709551615) + "
            f"CAST({column}_w{2 * i} AS HUGEINT) AS {_word(column, i)}"
            for i in range(_WORDS)
        )
    return items


def load_input(
    con: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    ids: tuple[str, ...],
    new: str | None,
) -> None:
    """Load `frame` into DuckDB as `INPUT_TABLE` (and `IDS_TABLE`).

    `ids` are the identifier columns to keep; `new` names the Boolean column
    marking new records (incremental linkage), if any.
    """
    # Each filter becomes its bit count, under the filter's own name (null
    # when there is no filter, so the null levels read as before), and four
    # 128-bit words (`dice_sql`). Records are numbered: Splink's tables of
    # candidate pairs (tens of millions at a million records) then hold two
    # integers per pair, not two record ids; `IDS_TABLE` names them back.
    columns = [
        "fs_row AS unique_id",
        *filter_sql(),
        *HASH_COLUMNS,
        *ids,
        # Records sharing each name (`pipelines.fs_comparisons`), over the whole
        # frame: the training sample and the new records see the same counts.
        *(
            f"count(*) OVER (PARTITION BY {f}_h) AS {count_column(f)}"
            for f in RARER_FIELDS
        ),
    ]
    picked = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("fs_row"),
        "record_id",
        *filter_halves(frame),
        *HASH_COLUMNS,
        *ids,
    )
    if new is not None:
        columns.append(NEW_FLAG)
        picked = picked.with_columns(frame[new].fill_null(False).alias(NEW_FLAG))
    con.register("fs_raw", picked.to_arrow())
    con.execute(
        f"CREATE TABLE {INPUT_TABLE} AS SELECT {', '.join(columns)} FROM fs_raw"  # noqa: S608 - fixed column names, no data
    )
    con.execute(
        f"CREATE TABLE {IDS_TABLE} AS SELECT fs_row AS unique_id, "  # noqa: S608 - fixed column names, no data
        "CAST(record_id AS VARCHAR) AS record_id FROM fs_raw"
    )
    con.unregister("fs_raw")
