"""Fellegi-Sunter linkage on per-field keyed encodings, with Splink on DuckDB.

Input: one row per record, ``record_id`` and the columns of
`gateway.linkage.fields` (keyed Bloom filters of names, street and city;
keyed hashes of values and derived parts), optionally ``email_key`` and
``phone_key`` pseudonyms. Output: the scored pairs at or above the match
threshold (`fs_edges`) or ``record_id`` -> ``entity_id`` (`fs_link`, their
connected components), and the model (prior, m and u per comparison level;
`FsModel.to_json` saves it, no data in it). The encodings stay inside a
private in-memory DuckDB database that is closed before returning; only
the pairs above the threshold leave, as record ids and a probability.

The model, per comparison, from most to least specific:

* first and last name: keyed hashes equal (with a term-frequency adjustment:
  "smith" = "smith" is weaker evidence than a rare name; equal hashes are
  equal names, so the hash's frequency is the name's); Dice of the field's
  filters at least 0.9; at least 0.7; phonetic codes equal; Dice at least
  0.5; anything else. Dice is computed in SQL,
  ``2.0*bit_count(a & b)/(|a|+|b|)``, on each filter as four 128-bit
  integers with its bit count precomputed (DuckDB's ``BIT`` type does the
  same six times slower). For the first name each level below "exact" is
  split in two: one of the two names at least ten times rarer in the data
  than the other, or seen once against a name seen more often (a
  misspelling scatters: "jhon" against "john"), or not (two real names:
  "jenna" and "jenny", twins) (`_split_by_rarity`);
* address, one comparison over street, city and postcode (same street and
  postcode; same street; street Dice >= 0.9 or >= 0.7 in the same postcode
  or city; street Dice >= 0.9 elsewhere; same postcode; same city; same
  postcode prefix; else): as three comparisons the model counted one fact,
  "same address", three times;
* birth date: equal; same year and month; same month and day (a mistyped
  year); the same digits in another order (two neighbouring digits
  swapped: 1971-01-18 typed 1970-11-18); same year; same decade; else;
* e-mail and phone pseudonyms, when present: equal; else.

A missing value on either side is a null level (no evidence either way).
u (how often a level happens between two random people) is estimated from
random pairs, m (how often between two records of one person) by
expectation maximisation on blocked pairs (`_EM_SESSIONS`), with no labels,
on blocks chosen so that look-alikes who are not duplicates do not teach
it: twins are kept out of the block the first name is learned on, and the
birth date is learned on pairs sharing an identifier when there is one.

Households. People at one address share a surname, sometimes a birth date
(twins) or a first name (father and son) far more often than two random
people, so a model built on population-wide u merges them. By the chain
rule, P(agreements | non-match) = P(same address) x P(the rest | same
address): for pairs at one address, surname and birth date get a second set
of levels whose u is fitted by EM on the pairs at one street and postcode
(housemates and duplicates), m held at the population model's
(`_with_household`); the birth date's only for pairs at one address that
share a surname. The data decide how much these levels say: EM first
estimates how many of those pairs are housemates from birth dates that
differ beyond a typo, then, with that share held, how housemates compare;
in a population without households (FEBRL: 1 % of its pairs at one
address) the fitted u stay the population's and the levels add nothing.
Without an identifier, the birth date's m is learned on pairs of one name
at one street, fathers and sons of one name among them: the share of
such namesakes that the household fit expects is taken out of its "else"
level (`_birth_else_without_namesakes`).

Known limits: twins at one address with similar first names ("jenna" /
"jenny") look like a duplicate with a typo, and are merged when both names
are common; two namesakes at one address with no birth date on file are
merged; without an identifier, swapped first and last names are missed
(each field has its own key, so a first name cannot be compared with a
surname). `bench/namesakes.py` measures the first two; `bench/fs_dedupe.py`
FEBRL 2 and 3.
"""

import itertools
import json
import logging
import tempfile
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import polars as pl

from gateway.linkage.fields import FILTER_COLUMNS, HASH_COLUMNS
from pipelines.dedupe import dedupe

logger = logging.getLogger(__name__)

IDENTIFIER_COLUMNS = ("email_key", "phone_key")
OUTPUT_SCHEMA = pl.Schema({"record_id": pl.String, "entity_id": pl.String})
EDGE_SCHEMA = pl.Schema(
    {
        "record_id_l": pl.String,
        "record_id_r": pl.String,
        "match_probability": pl.Float64,
    }
)
_MODEL_FORMAT = "gateway.fs_link.model/1"
_NEW = "fs_new"  # the `new` flag inside DuckDB, under a name no input column has
_INPUT_TABLE = "fs_input"
_TRAIN_TABLE = "fs_train"
_IDS_TABLE = "fs_ids"  # unique_id (the row number Splink sees) -> record_id
_NAMES = ("first_name", "last_name")
_RARER_FIELDS = ("first_name",)
_RARER = ", one far rarer"
_RARITY = 10  # how many times rarer one value must be (`_split_by_rarity`)
_LOOSE = "dice>=0.5"  # a name's loosest similarity level (`_text_comparison`)
_EM_ITERATIONS = 25  # Splink's default
_FILTER_BYTES = 64  # the filters of `gateway.linkage.fields`: 512 bits
_WORDS = _FILTER_BYTES // 16  # compared as 128-bit integers (`_dice`)


@dataclass(frozen=True, slots=True)
class FsConfig:
    """Knobs of one linkage run.

    Attributes:
        match_threshold: Match probability at or above which a pair is linked.
        u_pairs: Random pairs drawn to estimate u.
        seed: Seed of that random draw (runs are repeatable).
        prior_recall: Assumed recall of the deterministic rules used to
            estimate the prior probability that two random records match.
        households: Model households (same-address levels, and without an
            identifier the namesakes' share taken out of the birth date's
            "else"): keeps namesakes, twins and families apart; fitted to
            the data, so it adds next to nothing where there are no
            households (FEBRL). A model given to `fs_edges` decides for
            itself.
        train_records: The model is learned on a random sample of at most
            this many records (EM needs tens of thousands of pairs, not
            hundreds of millions; the sample keeps pairs of duplicates in
            the same proportion as the whole), then scores every record.
        memory_limit: DuckDB's memory limit; beyond it, it spills to a
            private temporary directory removed afterwards. DuckDB's
            process memory runs about 0.8 GB past it. At a million records,
            3 GB / 2 GB / 1.5 GB took 53 / 56 / 63 s and peaked 3.7 / 2.8 /
            2.4 GB over the frame (measured): 1.5 GB keeps the whole
            pipeline at a million customers well under 6 GiB.
    """

    match_threshold: float = 0.9
    u_pairs: float = 1e6
    seed: int = 20240611
    prior_recall: float = 0.7
    households: bool = True
    train_records: int = 250_000
    memory_limit: str = "1500MB"


@dataclass(frozen=True, slots=True)
class LevelParams:
    """One comparison level's learned parameters (no data in it)."""

    comparison: str
    level: str
    m: float | None
    u: float | None


@dataclass(frozen=True, slots=True)
class FsModel:
    """The learned model: the prior and m/u per level."""

    prior: float
    levels: tuple[LevelParams, ...]

    def level(self, comparison: str, level: str) -> LevelParams:
        """Return one level's parameters by comparison and level label."""
        for params in self.levels:
            if params.comparison == comparison and params.level == level:
                return params
        raise KeyError(f"{comparison}/{level}")

    def to_json(self) -> str:
        """The prior and m/u per level as JSON (no data): `from_json` reads it back.

        Floats are written as Python's shortest round-trip repr, so a loaded
        model scores exactly as the saved one.
        """
        return json.dumps(
            {
                "format": _MODEL_FORMAT,
                "prior": self.prior,
                "levels": [
                    {"comparison": p.comparison, "level": p.level, "m": p.m, "u": p.u}
                    for p in self.levels
                ],
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> "FsModel":
        """Read a model written by `to_json`.

        Raises:
            ValueError: Not such a model, or a value of the wrong type.
        """
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != _MODEL_FORMAT:
            raise ValueError(f"not a {_MODEL_FORMAT} document")
        levels = []
        for level in data["levels"]:
            m, u = level["m"], level["u"]
            if not all(v is None or isinstance(v, float) for v in (m, u)):
                raise ValueError("m and u must be floats or null")
            levels.append(
                LevelParams(str(level["comparison"]), str(level["level"]), m, u)
            )
        prior = data["prior"]
        if not isinstance(prior, float) or not 0.0 <= prior <= 1.0:
            raise ValueError("prior must be a float in [0, 1]")
        return cls(prior=prior, levels=tuple(levels))


def _dice(column: str) -> str:
    # Each filter is four 128-bit words and its bit count (`_load`): DuckDB's
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


def _level(sql: str, label: str, *, null: bool = False) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    return level


def _else() -> dict[str, Any]:
    return _level("ELSE", "else")


def _text_comparison(
    field: str, *, rarer: bool = False, loose: bool = True
) -> dict[str, Any]:
    bf, h = f"{field}_bf", f"{field}_h"
    differ = [
        _level(f"{_dice(bf)} >= 0.9", "dice>=0.9"),
        _level(f"{_dice(bf)} >= 0.7", "dice>=0.7"),
    ]
    if field in _NAMES:
        ph = f"{field}_ph_h"
        differ.append(_level(f"{ph}_l = {ph}_r", "phonetic"))
        if loose:
            # One letter changed in a short name ("dazid" / "david") leaves
            # about two thirds of the bigrams: without this level such a
            # typo fell to "else", with the surname of one housemate and
            # the birth date of another.
            differ.append(_level(f"{_dice(bf)} >= 0.5", _LOOSE))
    differ.append(_else())
    if rarer and field in _RARER_FIELDS:
        differ = [lv for level in differ for lv in _split_by_rarity(field, level)]
    return {
        "output_column_name": field,
        "comparison_levels": [
            _level(f"{bf}_l IS NULL OR {bf}_r IS NULL", "null", null=True),
            _exact(h, tf=field in _NAMES),
            *differ,
        ],
    }


def _count_column(field: str) -> str:
    return f"{field}_n"


def _split_by_rarity(field: str, level: dict[str, Any]) -> list[dict[str, Any]]:
    """The level for pairs where one value looks like a misspelling, then the level.

    A misspelling scatters: the mistyped value is far rarer in the data
    than the value it misspells ("jhon" against "john"), while two people's
    different names are both established ("jenna" and "jenny", twins). One
    value is taken for a misspelling when it is ten times rarer than the
    other, or seen once against a value seen more often: a typo of a rare
    name ("kirsten", three records, against "kirstin", one) is not ten
    times rarer, but it is unique, which a real name seldom is (on the
    namesake population's pairs of one family at one address born the same
    day, similar names not ten times apart were typos in 117 of 120 pairs
    with a singleton and in 14 of 40 without one: seeds 1, 3 and 4). How
    much rarer is a fact of the data (the records with each keyed hash),
    and EM weighs it: m and u of each half are learned like any level's.
    """
    n = _count_column(field)
    rare = (
        f"(least({n}_l, {n}_r) * {_RARITY} < greatest({n}_l, {n}_r) "
        f"OR (least({n}_l, {n}_r) = 1 AND greatest({n}_l, {n}_r) > 1))"
    )
    cond = level["sql_condition"]
    split = _level(
        rare if cond == "ELSE" else f"({cond}) AND {rare}",
        level["label_for_charts"] + _RARER,
    )
    return [split, level]


def _exact(column: str, *, tf: bool) -> dict[str, Any]:
    level = _level(f"{column}_l = {column}_r", "exact")
    if tf:
        # Equal keyed hashes mean equal values, so the hash's frequency is
        # the name's: "smith" = "smith" is weaker evidence than a rare name.
        level["tf_adjustment_column"] = column
        level["tf_adjustment_weight"] = 1.0
    return level


def _address_comparison() -> dict[str, Any]:
    """Street, city and postcode as one comparison.

    Two records at one street and postcode almost always share the city,
    and street agreement mostly implies postcode agreement: as three
    comparisons the model would count one fact (same address) up to three
    times, which merges members of one household.
    """
    street, pc, city = "street_h", "postal_code_h", "city_h"
    s_ex, pc_ex = f"{street}_l = {street}_r", f"{pc}_l = {pc}_r"
    c_ex = f"{city}_l = {city}_r"
    area = f"({pc_ex} OR {c_ex})"
    null = " AND ".join(
        f"({c}_l IS NULL OR {c}_r IS NULL)" for c in ("street_bf", pc, "city_bf")
    )
    return {
        "output_column_name": "address",
        "comparison_levels": [
            _level(null, "null", null=True),
            _level(f"{s_ex} AND {pc_ex}", "street+postcode"),
            _level(s_ex, "street"),
            _level(f"{_dice('street_bf')} >= 0.9 AND {area}", "street~0.9+area"),
            _level(f"{_dice('street_bf')} >= 0.7 AND {area}", "street~0.7+area"),
            _level(f"{_dice('street_bf')} >= 0.9", "street~0.9"),
            _level(pc_ex, "postcode"),
            _level(f"{c_ex} OR {_dice('city_bf')} >= 0.85", "city"),
            _level("postal_code_p3_h_l = postal_code_p3_h_r", "postcode prefix"),
            _else(),
        ],
    }


def _birth_comparison() -> dict[str, Any]:
    def same(*parts: str) -> str:
        return " AND ".join(f"birth_{p}_h_l = birth_{p}_h_r" for p in parts)

    return {
        "output_column_name": "birth_date",
        "comparison_levels": [
            _level(
                "birth_date_h_l IS NULL OR birth_date_h_r IS NULL", "null", null=True
            ),
            _level("birth_date_h_l = birth_date_h_r", "exact"),
            _level(same("year", "month"), "year+month"),
            _level(same("month", "day"), "month+day"),
            _level(same("digits"), "same digits"),
            _level(same("year"), "year"),
            _level(same("decade"), "decade"),
            _else(),
        ],
    }


def _identifier_comparison(column: str) -> dict[str, Any]:
    return {
        "output_column_name": column,
        "comparison_levels": [
            _level(f"{column}_l IS NULL OR {column}_r IS NULL", "null", null=True),
            _level(f"{column}_l = {column}_r", "exact"),
            _else(),
        ],
    }


def _check(frame: pl.DataFrame, config: FsConfig, new: str | None) -> tuple[str, ...]:
    for name in ("record_id", *FILTER_COLUMNS, *HASH_COLUMNS):
        if name not in frame.columns:
            raise ValueError(f"fs_link needs column {name!r}")
    if frame["record_id"].null_count() or frame["record_id"].n_unique() != frame.height:
        raise ValueError("record_id must be present and unique")
    if not 0.0 < config.match_threshold < 1.0:
        raise ValueError("match_threshold must be in (0, 1)")
    if new is not None and frame.schema.get(new) != pl.Boolean:
        raise ValueError(f"new must name a Boolean column; {new!r} is not one")
    return tuple(
        c
        for c in IDENTIFIER_COLUMNS
        if c in frame.columns and frame[c].null_count() < frame.height
    )


def _filter_columns() -> list[str]:
    """The input table's columns of each filter: its bit count, then its words."""
    return [
        name
        for column in FILTER_COLUMNS
        for name in (column, *(_word(column, i) for i in range(_WORDS)))
    ]


def _filter_halves(frame: pl.DataFrame) -> list[pl.Series]:
    """Each filter as the 64-bit halves of its 128-bit words (null stays null).

    Arrow has no 128-bit integer: the halves go in, the words are made in
    DuckDB (`_filter_sql`).

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


def _filter_sql() -> list[str]:
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


def _load(
    con: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    ids: tuple[str, ...],
    new: str | None,
) -> None:
    # Each filter becomes its bit count, under the filter's own name (null
    # when there is no filter, so the null levels read as before), and four
    # 128-bit words (`_dice`). Records are numbered: Splink's tables of
    # candidate pairs (tens of millions at a million records) then hold two
    # integers per pair, not two record ids; `_IDS_TABLE` names them back.
    columns = [
        "fs_row AS unique_id",
        *_filter_sql(),
        *HASH_COLUMNS,
        *ids,
        # Records sharing each name (`_split_by_rarity`), over the whole
        # frame: the training sample and the new records see the same counts.
        *(
            f"count(*) OVER (PARTITION BY {f}_h) AS {_count_column(f)}"
            for f in _RARER_FIELDS
        ),
    ]
    picked = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("fs_row"),
        "record_id",
        *_filter_halves(frame),
        *HASH_COLUMNS,
        *ids,
    )
    if new is not None:
        columns.append(_NEW)
        picked = picked.with_columns(frame[new].fill_null(False).alias(_NEW))
    con.register("fs_raw", picked.to_arrow())
    con.execute(
        f"CREATE TABLE {_INPUT_TABLE} AS SELECT {', '.join(columns)} FROM fs_raw"  # noqa: S608 - fixed column names, no data
    )
    con.execute(
        f"CREATE TABLE {_IDS_TABLE} AS SELECT fs_row AS unique_id, "  # noqa: S608 - fixed column names, no data
        "CAST(record_id AS VARCHAR) AS record_id FROM fs_raw"
    )
    con.unregister("fs_raw")


# Candidate pairs. A true pair nearly always agrees on two of five things:
# the first name's first three letters, the surname's, the birth date, the
# postcode, the street; so each pair of these is a rule (each small at a
# million records: a few hundred thousand pairs), the two names together
# only within a birth decade, a phonetic code or a town (the commonest names
# would otherwise make tens of millions of pairs). A few cheap rules on
# coarser parts catch pairs with errors in three of the five. At 1.2 million
# records with US name frequencies they give about 17 million candidate
# pairs (the rules before, one per name prefix and birth year, gave 280
# million); on FEBRL 2 and 3 they hold 97.6 % and 96.1 % of the true pairs,
# 99.5 % with the e-mail rule (bench/dedupe.py's data; measured with a
# throwaway count, figures in the README).
_TWO_OF = (
    "first_name_p3_h",
    "last_name_p3_h",
    "birth_date_h",
    "postal_code_h",
    "street_h",
)
BLOCKING_ON_PARTS: tuple[tuple[str, ...], ...] = (
    *(
        pair
        for pair in itertools.combinations(_TWO_OF, 2)
        if pair != ("first_name_p3_h", "last_name_p3_h")
    ),
    ("first_name_p3_h", "last_name_p3_h", "birth_decade_h"),
    ("first_name_ph_h", "last_name_ph_h", "birth_decade_h"),
    ("first_name_p3_h", "last_name_p3_h", "birth_digits_h"),
    ("first_name_p3_h", "last_name_p3_h", "city_h"),
    ("birth_date_h", "postal_code_p3_h"),
    ("last_name_ph_h", "postal_code_h"),
    ("first_name_ph_h", "postal_code_h"),
    ("street_h", "birth_month_h"),
    ("birth_year_h", "postal_code_h"),
    ("street_h", "city_h"),
    ("birth_year_h", "birth_month_h", "postal_code_p3_h"),
    ("last_name_h", "postal_code_p3_h"),
)


def _settings(
    ids: tuple[str, ...],
    new: str | None = None,
    *,
    homes: frozenset[str] = frozenset(),
    rarer: bool = True,
    loose: bool = True,
) -> dict[str, Any]:
    blocking = [*(list(rule) for rule in BLOCKING_ON_PARTS), *([c] for c in ids)]
    # Incremental: only pairs with a new record on at least one side.
    only_new = f" AND (l.{_NEW} OR r.{_NEW})" if new is not None else ""
    comparisons = [
        _text_comparison("first_name", rarer=rarer, loose=loose),
        _text_comparison("last_name", rarer=rarer, loose=loose),
        _address_comparison(),
        _birth_comparison(),
        *(_identifier_comparison(c) for c in ids),
    ]
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": [
            _at_home(c) if c["output_column_name"] in homes else c for c in comparisons
        ],
        "blocking_rules_to_generate_predictions": [
            _rule(cols) + only_new for cols in blocking
        ],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


def _rule(columns: list[str]) -> str:
    return " AND ".join(f"l.{c} = r.{c}" for c in columns)


def _model(settings: dict[str, Any]) -> FsModel:
    levels = tuple(
        LevelParams(
            comparison=comparison["output_column_name"],
            level=level["label_for_charts"],
            m=level.get("m_probability"),
            u=level.get("u_probability"),
        )
        for comparison in settings["comparisons"]
        for level in comparison["comparison_levels"]
        if not level.get("is_null_level")
    )
    return FsModel(
        prior=float(settings["probability_two_random_records_match"]), levels=levels
    )


# Same household: one street (or a typo away: Dice at least 0.7, as the
# address comparison's "street~0.7+area" level) in one postcode or city
# (the postcode may be missing on one side). Within it, people share a
# surname, sometimes a birth date (twins) or a first name (father and son),
# far more often than two random people: the u of those comparisons is
# re-estimated on pairs at one street and postcode (`_with_household`) and
# used for all such pairs. Bigram Dice cannot always tell a typo from
# another house number ("217 daniel summit" / "87 daniel summit": 0.89), so
# neighbours on one street count as housemates; with Dice at least 0.9
# instead, twins one of whose records has a mistyped street ("76 kaern
# ridge") were scored as strangers sharing a birth date and a rare surname,
# and linked at 0.9996 (`bench/namesakes.py`, seed 1: 33 false twin pairs
# against 15).
_SAME_ADDRESS = (
    f"((street_h_l = street_h_r OR {_dice('street_bf')} >= 0.7) AND "
    "(postal_code_h_l = postal_code_h_r OR city_h_l = city_h_r))"
)
# Birth dates are refitted at home only for pairs sharing a surname (any
# level but "else"): twins share one, and two people at one address with
# unrelated surnames (lodgers, a couple) are as unrelated in birth date as
# strangers. Fitted on every pair at one address, the housemates' birth
# date absorbed FEBRL 3's duplicates whose first and last names are both
# wrong (swapped), as if people at one address usually shared a birthday.
_SAME_FAMILY = (
    f"({_SAME_ADDRESS} AND (last_name_h_l = last_name_h_r OR "
    f"{_dice('last_name_bf')} >= 0.7 OR last_name_ph_h_l = last_name_ph_h_r))"
)
# Refitted at home: the surname (shared by a household) and the birth date
# (shared by twins). The first name is evidence in that fit but keeps its
# population-wide u: housemates' first names are as unrelated as
# strangers' (bar a father and son), and refitting it let heavily
# mistyped duplicates (FEBRL 3) pass for housemates.
_HOME = ("last_name", "birth_date")
_HOME_EVIDENCE = ("first_name", *_HOME)
_AT_HOME = " (same address)"
_HOME_EM_ITERATIONS = 100
_HOME_PSEUDO_PAIRS = 10.0  # prior weight of the population-wide u
_HOUSEHOLD_MAX = 50  # records at one address, at most, to count as a household


def _two_part_errors(model: FsModel) -> float | None:
    """The birth date's "else" m that independent clerical errors explain.

    A clerical error changes one part (year, month or day; two swapped
    digits have a level of their own), so for a duplicate each part goes
    wrong on its own: the one-part levels give each part's error rate, and
    a date wrong in the year and in the month or day, which "else" needs,
    happens at the product. None when the model lacks a level it needs.
    """
    m = {p.level: p.m for p in model.levels if p.comparison == "birth_date"}
    needed = ("exact", "year+month", "month+day", "year")
    # A level EM saw no duplicate reach has no m (Splink leaves it out): 0.
    if any(level not in m for level in needed):
        return None
    exact, ym, md, year = (m[lv] or 0.0 for lv in needed)
    if exact + md <= 0.0 or exact + ym <= 0.0:
        return None
    p_year = md / (exact + md)
    p_day = ym / (exact + ym)
    p_month = min(year / (1.0 - p_year), 1.0)
    return p_year * (1.0 - (1.0 - p_month) * (1.0 - p_day))


def _birth_else_without_namesakes(model: FsModel, namesakes: float) -> FsModel:
    """Take out of m of the birth date's "else" what namesakes at home put in.

    Without an identifier, EM learns the birth date's m on pairs agreeing
    on names and street (`_EM_SESSIONS`), and a father and son of one name
    at one address are such a pair, with unrelated birth dates: a share
    `namesakes` of that block (estimated by `_with_household` from the
    housemates it finds) makes "else" look that much likelier for a
    duplicate. That share is removed from "else", down to no less than
    what independent clerical errors explain (`_two_part_errors`): a
    population whose duplicates' dates are often wholly wrong (FEBRL 3:
    5 % of its true pairs) and that has no housemates keeps what EM
    learned. The other levels are rescaled to sum to one.
    """
    floor = _two_part_errors(model)
    old = next(
        (
            p.m
            for p in model.levels
            if (p.comparison, p.level) == ("birth_date", "else")
        ),
        None,
    )
    if floor is None or old is None or namesakes <= 0.0 or old <= floor:
        return model
    new = max(floor, (old - namesakes) / (1.0 - namesakes))
    if new >= old:
        return model
    scale = 1.0 / (1.0 - old + new)
    levels = tuple(
        p
        if p.comparison != "birth_date" or p.m is None
        else LevelParams(
            p.comparison, p.level, (new if p.level == "else" else p.m) * scale, p.u
        )
        for p in model.levels
    )
    return FsModel(prior=model.prior, levels=levels)


def _at_home(comparison: dict[str, Any]) -> dict[str, Any]:
    """The comparison with a copy of its levels for pairs at one address first.

    By the chain rule, P(agreements | non-match) = P(same address) x
    P(the rest | same address): the address comparison counts the first
    factor, these levels the second, with their own u. The birth date's
    copy holds for pairs at one address sharing a surname (`_SAME_FAMILY`).
    """
    where = {
        "last_name": _SAME_ADDRESS,
        "birth_date": _SAME_FAMILY,
    }[comparison["output_column_name"]]
    levels = comparison["comparison_levels"]
    null = [lv for lv in levels if lv.get("is_null_level")]
    rest = [lv for lv in levels if not lv.get("is_null_level")]
    home = [
        {
            **lv,
            "sql_condition": where
            if lv["sql_condition"] == "ELSE"
            else f"({where}) AND ({lv['sql_condition']})",
            "label_for_charts": lv["label_for_charts"] + _AT_HOME,
        }
        for lv in rest
    ]
    # Only the population-wide levels carry term frequencies.
    for lv in home:
        lv.pop("tf_adjustment_column", None)
        lv.pop("tf_adjustment_weight", None)
    return {**comparison, "comparison_levels": [*null, *home, *rest]}


def _level_case(comparison: dict[str, Any]) -> str:
    """SQL giving a pair's level index (-1 for null) in one comparison."""
    whens = []
    index = 0
    for lv in comparison["comparison_levels"]:
        if lv.get("is_null_level"):
            whens.append(f"WHEN {lv['sql_condition']} THEN -1")
        elif lv["sql_condition"] == "ELSE":
            whens.append(f"ELSE {index}")
            index += 1
        else:
            whens.append(f"WHEN {lv['sql_condition']} THEN {index}")
            index += 1
    return "CASE " + " ".join(whens) + " END"


def _with_household(
    con: duckdb.DuckDBPyConnection,
    model: FsModel,
    comparisons: list[dict[str, Any]],
    *,
    birth_from_names: bool,
) -> FsModel:
    """Add the same-address levels: m as elsewhere, u fitted on same-address pairs.

    The pairs at one street and postcode (small blocks: households) mix
    duplicates and housemates; with every m held at the model's value, EM
    separates them in two stages (`_home_em`):

    1. How many housemates there are, and how often they share a surname:
       only the surname's u is fitted, the birth date's is the population's
       (housemates born independently). Housemates are then told from
       duplicates by birth dates that differ beyond a typo, which a
       duplicate's seldom do: the share is the data's, near 0 in a
       population without households (FEBRL: 1 % and 0.1 % of its pairs
       at one address) and most of them in one of families (namesakes
       bench: 83 %).
    2. With that share held, the birth date's u among housemates sharing a
       surname (`_SAME_FAMILY`: twins, parents of an age) and the
       surname's again. With the share free, the housemate class of a
       population without households took in its duplicates the model fits
       worst (swapped names, a date wholly wrong), and the household levels
       then discounted any duplicate at one address.

    Each u is shrunk towards the population-wide u by `_HOME_PSEUDO_PAIRS`
    pairs: with few housemates the levels stay the population's, so the
    household levels add nothing where there are no households.
    `birth_from_names`: the birth date's m was learned on pairs of one name
    at one street (no identifier); the namesakes at home that stage 1
    expects are taken out of its "else" (`_birth_else_without_namesakes`).
    """
    home = [c for c in comparisons if c["output_column_name"] in _HOME_EVIDENCE]
    columns = [
        *_filter_columns(),
        *HASH_COLUMNS,
        *(_count_column(f) for f in _RARER_FIELDS),
    ]
    select = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in columns)
    cases = ", ".join(f"{_level_case(c)} AS g{i}" for i, c in enumerate(home))
    group = ", ".join(f"g{i}" for i in range(len(home)))
    # Addresses held by more than `_HOUSEHOLD_MAX` records (a placeholder, a
    # care home) are left out: they are not households, and their pairs
    # grow with the square of their size.
    counts = con.sql(
        f"WITH homes AS (SELECT street_h, postal_code_h FROM {_INPUT_TABLE} "  # noqa: S608 - fixed column names, no data
        "WHERE street_h IS NOT NULL AND postal_code_h IS NOT NULL "
        f"GROUP BY ALL HAVING count(*) <= {_HOUSEHOLD_MAX}), "
        f"home AS (SELECT t.* FROM {_INPUT_TABLE} t JOIN homes h "
        "ON t.street_h = h.street_h AND t.postal_code_h = h.postal_code_h) "
        f"SELECT {group}, count(*) AS n FROM (SELECT {cases} FROM ("
        f"SELECT {select} FROM home l JOIN home r "
        "ON l.street_h = r.street_h AND l.postal_code_h = r.postal_code_h "
        f"AND l.unique_id < r.unique_id)) GROUP BY {group}"
    ).fetchnumpy()
    n = np.asarray(counts["n"], dtype=float) if len(counts["n"]) else np.zeros(0)
    names = [c["output_column_name"] for c in home]
    g = [np.asarray(counts[f"g{i}"], dtype=int) for i in range(len(home))]

    def params_of(model: FsModel) -> tuple[list[np.ndarray], list[np.ndarray]]:
        levels = [[p for p in model.levels if p.comparison == nm] for nm in names]
        return (
            [np.array([p.m or 1e-6 for p in ps]) for ps in levels],
            [np.array([p.u or 1e-6 for p in ps]) for ps in levels],
        )

    m_of, u0_of = params_of(model)
    u_of = u0_of
    if n.sum() >= 1:
        first, last, birth = (names.index(nm) for nm in _HOME_EVIDENCE)
        everywhere = np.ones(n.shape, dtype=bool)
        # Pairs sharing a surname: any level of it but null and "else".
        family = (g[last] >= 0) & (g[last] < len(u0_of[last]) - 1)
        share, u_of = _home_em(n, g, m_of, u0_of, {last: everywhere}, None)
        if birth_from_names:
            # Housemates of one name: as many as chance gives housemates
            # sharing a surname (the population's u for the first name),
            # against duplicates of one name at home.
            namesakes = (1.0 - share) * u0_of[first][0] * u_of[last][0]
            duplicates = share * m_of[first][0] * m_of[last][0]
            model = _birth_else_without_namesakes(
                model, namesakes / (namesakes + duplicates)
            )
            m_of, _ = params_of(model)
        refit = {last: everywhere, birth: family}
        _, u_of = _home_em(n, g, m_of, u0_of, refit, share)
    extra = [
        LevelParams(name, p.level + _AT_HOME, p.m, float(u_home))
        for i, name in enumerate(names)
        if name in _HOME
        for p, u_home in zip(
            [p for p in model.levels if p.comparison == name], u_of[i], strict=True
        )
    ]
    return FsModel(prior=model.prior, levels=(*model.levels, *extra))


def _home_em(
    n: np.ndarray,
    g: list[np.ndarray],
    m_of: list[np.ndarray],
    u0_of: list[np.ndarray],
    refit: dict[int, np.ndarray],
    fixed_share: float | None,
) -> tuple[float, list[np.ndarray]]:
    """EM on the pairs at one address: the share of duplicates and housemates' u.

    `n` counts the pairs of each pattern, `g[i]` its level index in the
    i-th comparison (-1: null). Every m is held; u of comparison i is
    fitted where `refit[i]` holds (the population's `u0_of[i]` elsewhere
    and for the other comparisons); the share of duplicates too, unless
    `fixed_share` holds it. Returns the share and the u of every comparison.
    """
    share = 0.5 if fixed_share is None else fixed_share
    u_of = [u0.copy() for u0 in u0_of]
    for _ in range(_HOME_EM_ITERATIONS):
        pm = np.full(n.shape, share)
        pu = np.full(n.shape, 1.0 - share)
        for i, levels in enumerate(g):
            known = levels >= 0
            index = np.maximum(levels, 0)
            u_pair = u0_of[i][index]
            if i in refit:
                u_pair = np.where(refit[i], u_of[i][index], u_pair)
            pm[known] *= m_of[i][levels[known]]
            pu[known] *= u_pair[known]
        match = pm / (pm + pu)
        if fixed_share is None:
            share = float((n * match).sum() / n.sum())
        other = n * (1.0 - match)
        for i, where in refit.items():
            use = (g[i] >= 0) & where
            seen = np.bincount(g[i][use], other[use], minlength=len(u0_of[i]))
            u_of[i] = (seen + _HOME_PSEUDO_PAIRS * u0_of[i]) / (
                seen.sum() + _HOME_PSEUDO_PAIRS
            )
    return share, u_of


# EM blocks, each estimating m for the comparisons its rule does not use:
# 1. same birth date and first name (last name, address, identifiers);
# 2. same birth date, different street (first and last name): twins share
#    a street, so they cannot pass for duplicates with another first name;
# 3. same names and street (birth date), only without an identifier: an
#    identifier block replaces it (`_train`). A single column is passed
#    to Splink's block_on, a rule as SQL.
_EM_SESSIONS: tuple[str, ...] = (
    "l.birth_date_h = r.birth_date_h AND l.first_name_h = r.first_name_h",
    "l.birth_date_h = r.birth_date_h AND l.street_h <> r.street_h",
    "l.first_name_h = r.first_name_h AND l.last_name_h = r.last_name_h "
    "AND l.street_h = r.street_h",
)


def _em_session(linker: Any, rule: str, table: Any) -> Any:
    """One EM session blocked on `rule`; the linker to go on with.

    When no pair of a level looks like a match, EM drives its m towards 0,
    a little more each iteration, and Splink 5.0 refuses the subnormal value
    it reaches ("m_probability ... below the minimum allowed value"), having
    changed the linker's settings in place. The session is then rerun from
    the parameters before it with half as many iterations (m of such a
    level is tiny either way, which is right), and dropped if even one
    iteration underflows.
    """
    from splink import Linker, block_on
    from splink.internals.exceptions import EMTrainingException

    before = linker.misc.save_model_to_json()
    if before.get("max_iterations") != _EM_ITERATIONS:
        # A shorter run forced on an earlier session does not carry over.
        before = {**before, "max_iterations": _EM_ITERATIONS}
        linker = Linker(table(), before, log_level=logging.ERROR)
    iterations = _EM_ITERATIONS
    while True:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule if " " in rule else block_on(rule)
            )
        except EMTrainingException:
            # No pair in this block at all (a population without such
            # look-alikes, or a small one): nothing to learn from it; the
            # levels keep what the other sessions (or Splink's defaults) say.
            # Splink may have changed the settings in place before it gave up:
            # go on from the parameters before the session.
            logger.warning("EM blocked on %s: no pairs; session skipped", rule)
            return Linker(table(), before, log_level=logging.ERROR)
        except ValueError as err:
            if "below the minimum allowed" not in str(err):
                raise
            iterations //= 2
            logger.warning(
                "EM blocked on %s underflowed; retried with %d iterations",
                rule,
                iterations,
            )
            linker = Linker(
                table(),
                {**before, "max_iterations": max(iterations, 1)},
                log_level=logging.ERROR,
            )
            if iterations == 0:
                logger.warning("EM blocked on %s dropped", rule)
                return linker
        else:
            return linker


def _apply(model: FsModel, settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` with the model's prior and m/u: scoring without training."""
    if not model.levels:
        raise ValueError("the model has no levels (trained on too few records)")
    known = {(p.comparison, p.level): p for p in model.levels}
    used: set[tuple[str, str]] = set()
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            ident = (comparison["output_column_name"], level["label_for_charts"])
            params = known.get(ident)
            if params is None:
                raise ValueError(f"the model has no level {ident[0]}/{ident[1]}")
            used.add(ident)
            if params.m is not None:
                level["m_probability"] = params.m
            if params.u is not None:
                level["u_probability"] = params.u
    if extra := sorted(set(known) - used):
        raise ValueError(f"the model has levels this version lacks: {extra}")
    return {**settings, "probability_two_random_records_match": model.prior}


def _training_table(
    con: duckdb.DuckDBPyConnection, records: int, config: FsConfig
) -> tuple[str, int]:
    """The table to learn the model on, and its size: the input, or a sample."""
    if records <= config.train_records:
        return _INPUT_TABLE, records
    con.execute(
        f"CREATE TABLE {_TRAIN_TABLE} AS SELECT * FROM {_INPUT_TABLE} "  # noqa: S608 - fixed names and integers, no data
        f"USING SAMPLE reservoir({int(config.train_records)} ROWS) "
        f"REPEATABLE ({int(config.seed)})"
    )
    return _TRAIN_TABLE, config.train_records


def _with_prior_floor(linker: Any, table: Any, records: int) -> Any:
    """The linker, with a prior of at least one match among all pairs.

    When the deterministic rules find no pair at all (a population without
    exact duplicates), Splink estimates the prior as 0, and a prior of 0
    has no match weight (log of 0). One expected match among all pairs says
    "duplicates are very rare here" and lets strong evidence still link.
    """
    from splink import Linker

    settings = linker.misc.save_model_to_json()
    if settings["probability_two_random_records_match"] > 0:
        return linker
    pairs = max(records * (records - 1) / 2, 1.0)
    floored = {**settings, "probability_two_random_records_match": 1.0 / pairs}
    logger.warning("no deterministic match found; prior floored at 1 / %.0f", pairs)
    return Linker(table(), floored, log_level=logging.ERROR)


def _train(
    linker: Any, config: FsConfig, ids: tuple[str, ...], table: Any, records: int
) -> Any:
    from splink import block_on

    exact = [block_on("first_name_h", "last_name_h", "birth_date_h")]
    exact.extend(block_on(c) for c in ids)
    linker.training.estimate_probability_two_random_records_match(
        exact, recall=config.prior_recall
    )
    linker = _with_prior_floor(linker, table, records)
    linker.training.estimate_u_using_random_sampling(
        max_pairs=config.u_pairs, seed=config.seed
    )
    # With an identifier, pairs sharing it are nearly all duplicates,
    # whatever their names and dates: the cleanest sample of how a
    # duplicate's birth date varies. Without one, pairs of one name at one
    # street stand in, namesakes of two generations included (see
    # `_birth_else_without_namesakes`).
    sessions = (*_EM_SESSIONS[:2], *(ids or _EM_SESSIONS[2:]))
    for columns in sessions:
        linker = _em_session(linker, columns, table)
    return linker


def fs_edges(
    frame: pl.DataFrame,
    config: FsConfig | None = None,
    *,
    model: FsModel | None = None,
    new: str | None = None,
) -> tuple[pl.DataFrame, FsModel]:
    """Score candidate pairs with a Fellegi-Sunter model; keep those at the threshold.

    Args:
        frame: ``record_id`` (unique), the `gateway.linkage.fields` columns,
            and optionally ``email_key`` / ``phone_key``.
        config: Run settings; defaults when None.
        model: A model to score with (no training); when None, one is
            learned from `frame` without labels.
        new: Name of a Boolean column of `frame`: only pairs with at least
            one record where it is true are scored (incremental linkage of
            new records to stored ones). All records still shape the term
            frequencies and, when training, the model.

    Returns:
        ``record_id_l``, ``record_id_r`` (``record_id_l < record_id_r``, each
        pair once), ``match_probability`` (Float64) for every pair at or above
        ``config.match_threshold``; and the model used.

    Raises:
        ValueError: A column is missing, record ids repeat, a setting is out
            of range, or `model` does not fit this version's comparisons.
    """
    config = config or FsConfig()
    ids = _check(frame, config, new)
    if model is not None:
        ids = _model_identifiers(model, frame)
    untrained = FsModel(prior=0.0, levels=())
    if frame.height < 2:
        return pl.DataFrame(schema=EDGE_SCHEMA), model or untrained
    # Imported here: Splink takes a second to import, and only this stage needs it.
    from splink import DuckDBAPI, Linker

    logging.getLogger("splink").setLevel(logging.ERROR)
    # What DuckDB spills (the opened encodings, pairs) goes to a directory of
    # our own, readable by this user only and removed with everything in it
    # when the stage ends, never to DuckDB's default `.tmp` in the working
    # directory; the memory limit makes it spill rather than grow.
    spill = tempfile.TemporaryDirectory(prefix="gateway-linkage-")
    con = duckdb.connect(
        ":memory:",
        config={"temp_directory": spill.name, "memory_limit": config.memory_limit},
    )
    try:
        _load(con, frame, ids, new)
        db_api = DuckDBAPI(connection=con)
        if model is None:
            training, records = _training_table(con, frame.height, config)
            linker = Linker(
                db_api.register(training),
                _settings(ids, new),
                log_level=logging.ERROR,
            )
            linker = _train(
                linker, config, ids, lambda: db_api.register(training), records
            )
            model = _model(linker.misc.save_model_to_json())
            if config.households:
                model = _with_household(
                    con, model, _settings(ids)["comparisons"], birth_from_names=not ids
                )
        settings = _apply(model, _scoring_settings(model, ids, new))
        linker = Linker(
            db_api.register(_INPUT_TABLE), settings, log_level=logging.ERROR
        )
        predictions = linker.inference.predict(
            threshold_match_probability=config.match_threshold, warning_mode="never"
        )
        # Row numbers back to record ids, the lower record id on the left.
        edges = con.sql(
            "SELECT least(a.record_id, b.record_id) AS record_id_l, "  # noqa: S608 - table names Splink and we made, no data
            "greatest(a.record_id, b.record_id) AS record_id_r, "
            "CAST(p.match_probability AS DOUBLE) AS match_probability "
            f"FROM {predictions.physical_name} p "
            f"JOIN {_IDS_TABLE} a ON p.unique_id_l = a.unique_id "
            f"JOIN {_IDS_TABLE} b ON p.unique_id_r = b.unique_id "
            "ORDER BY record_id_l, record_id_r"
        ).pl()
    finally:
        con.close()
        spill.cleanup()
    return edges.cast(dict(EDGE_SCHEMA)), model


def _scoring_settings(
    model: FsModel, ids: tuple[str, ...], new: str | None
) -> dict[str, Any]:
    # What the model has decides: a model saved before a level was added
    # scores as it did.
    homes = frozenset(p.comparison for p in model.levels if p.level.endswith(_AT_HOME))
    rarer = any(_RARER in p.level for p in model.levels)
    loose = any(p.level.startswith(_LOOSE) for p in model.levels)
    return _settings(ids, new, homes=homes, rarer=rarer, loose=loose)


def model_fits(model: FsModel) -> bool:
    """Whether this version can score with `model` (one saved by another may not)."""
    ids = tuple(
        c for c in IDENTIFIER_COLUMNS if any(p.comparison == c for p in model.levels)
    )
    try:
        _apply(model, _scoring_settings(model, ids, None))
    except ValueError:
        return False
    return True


def _model_identifiers(model: FsModel, frame: pl.DataFrame) -> tuple[str, ...]:
    ids = tuple(
        c for c in IDENTIFIER_COLUMNS if any(p.comparison == c for p in model.levels)
    )
    for c in ids:
        if c not in frame.columns:
            raise ValueError(f"the model compares {c!r}: the frame needs that column")
    return ids


def fs_link(
    frame: pl.DataFrame, config: FsConfig | None = None
) -> tuple[pl.DataFrame, FsModel]:
    """Cluster records into entities with a Fellegi-Sunter model learned without labels.

    The connected components of `fs_edges`'s pairs; an entity is named by
    its smallest record id.

    Args:
        frame: ``record_id`` (unique), the `gateway.linkage.fields` columns,
            and optionally ``email_key`` / ``phone_key``.
        config: Run settings; defaults when None.

    Returns:
        (``record_id``, ``entity_id``) for every input record, and the model.

    Raises:
        ValueError: A column is missing, record ids repeat, or a setting is
            out of range.
    """
    edges, model = fs_edges(frame, config)
    if frame.height == 0:
        return pl.DataFrame(schema=OUTPUT_SCHEMA), model
    # The graph step the run uses, with no identifier links and no size cap.
    records = frame.select(pl.col("record_id").cast(pl.String))
    entities = dedupe(
        records, edges, max_component=max(frame.height, 2), identifiers=()
    )
    return (
        entities.select("record_id", "entity_id")
        .sort("record_id")
        .cast(dict(OUTPUT_SCHEMA)),
        model,
    )
