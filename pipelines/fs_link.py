"""Fellegi-Sunter linkage on per-field keyed encodings, with Splink on DuckDB.

Input: one row per record, ``record_id`` and the columns of
`gateway.linkage.fields` (keyed Bloom filters of names, street and city;
keyed hashes of values and derived parts), optionally ``email_key`` and
``phone_key`` pseudonyms. Output: ``record_id`` -> ``entity_id``, and the
learned model (m and u per comparison level), nothing else: the encodings
and every pairwise score stay inside a private in-memory DuckDB database
that is closed before returning, because a pairwise similarity tells
whoever reads it how close two people's names and addresses are.

The model, per field, from most to least specific:

* names, street, city: keyed hashes equal; Dice of the field's filters at
  least 0.9; at least 0.7; (names) phonetic codes equal; anything else.
  Dice is computed in SQL on DuckDB ``BIT`` columns,
  ``2.0*bit_count(a & b)/(bit_count(a)+bit_count(b))``;
* postcode: equal; same three-character prefix; else;
* birth date: equal; same year and month; same month and day (a mistyped
  year); same year; same decade; else;
* e-mail and phone pseudonyms, when present: equal; else.

A missing value on either side is a null level (no evidence either way).
u (how often a level happens between two random people) is estimated from
random pairs, m (how often between two records of one person) by
expectation maximisation on blocked pairs, with no labels; Splink then
scores candidate pairs from blocking rules on hashed parts only, and
clusters the pairs at a match-probability threshold (connected
components).

Known limit: two namesakes in one town whose only difference on file is
the birth date (same address, or no street) are merged. EM learns how
often true pairs disagree on the birth date from the very pairs it takes
for matches, so such namesakes teach it that birth dates often differ.
Term-frequency adjustments on names or a fixed prior on the birth date's
"else" level are the candidates (issue 13, item 3).
"""

import logging
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from gateway.linkage.fields import FILTER_COLUMNS, HASH_COLUMNS

logger = logging.getLogger(__name__)

IDENTIFIER_COLUMNS = ("email_key", "phone_key")
OUTPUT_SCHEMA = pl.Schema({"record_id": pl.String, "entity_id": pl.String})
_INPUT_TABLE = "fs_input"
_NAMES = ("first_name", "last_name")
_EM_ITERATIONS = 25  # Splink's default


@dataclass(frozen=True, slots=True)
class FsConfig:
    """Knobs of one linkage run.

    Attributes:
        match_threshold: Match probability at or above which a pair is linked.
        u_pairs: Random pairs drawn to estimate u.
        seed: Seed of that random draw (runs are repeatable).
        prior_recall: Assumed recall of the deterministic rules used to
            estimate the prior probability that two random records match.
    """

    match_threshold: float = 0.9
    u_pairs: float = 1e6
    seed: int = 20240611
    prior_recall: float = 0.7


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


def _dice(column: str) -> str:
    left, right = f"{column}_l", f"{column}_r"
    return (
        f"2.0 * bit_count({left} & {right}) / (bit_count({left}) + bit_count({right}))"
    )


def _level(sql: str, label: str, *, null: bool = False) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    return level


def _else() -> dict[str, Any]:
    return _level("ELSE", "else")


def _text_comparison(field: str) -> dict[str, Any]:
    bf, h = f"{field}_bf", f"{field}_h"
    levels = [
        _level(f"{bf}_l IS NULL OR {bf}_r IS NULL", "null", null=True),
        _level(f"{h}_l = {h}_r", "exact"),
        _level(f"{_dice(bf)} >= 0.9", "dice>=0.9"),
        _level(f"{_dice(bf)} >= 0.7", "dice>=0.7"),
    ]
    if field in _NAMES:
        ph = f"{field}_ph_h"
        levels.append(_level(f"{ph}_l = {ph}_r", "phonetic"))
    levels.append(_else())
    return {"output_column_name": field, "comparison_levels": levels}


def _postcode_comparison() -> dict[str, Any]:
    return {
        "output_column_name": "postal_code",
        "comparison_levels": [
            _level(
                "postal_code_h_l IS NULL OR postal_code_h_r IS NULL", "null", null=True
            ),
            _level("postal_code_h_l = postal_code_h_r", "exact"),
            _level("postal_code_p3_h_l = postal_code_p3_h_r", "prefix"),
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


def _check(frame: pl.DataFrame, config: FsConfig) -> tuple[str, ...]:
    for name in ("record_id", *FILTER_COLUMNS, *HASH_COLUMNS):
        if name not in frame.columns:
            raise ValueError(f"fs_link needs column {name!r}")
    if frame["record_id"].null_count() or frame["record_id"].n_unique() != frame.height:
        raise ValueError("record_id must be present and unique")
    if not 0.0 < config.match_threshold < 1.0:
        raise ValueError("match_threshold must be in (0, 1)")
    return tuple(
        c
        for c in IDENTIFIER_COLUMNS
        if c in frame.columns and frame[c].null_count() < frame.height
    )


def _load(
    con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, ids: tuple[str, ...]
) -> None:
    # The filters go in as BLOB and become BIT here: only a DuckDB table can
    # carry that type (pandas and Arrow cannot), and Splink reads the table
    # by name.
    columns = [
        "CAST(record_id AS VARCHAR) AS unique_id",
        *(f"CAST({c} AS BIT) AS {c}" for c in FILTER_COLUMNS),
        *HASH_COLUMNS,
        *ids,
    ]
    con.register(
        "fs_raw",
        frame.select(["record_id", *FILTER_COLUMNS, *HASH_COLUMNS, *ids]).to_arrow(),
    )
    con.execute(
        f"CREATE TABLE {_INPUT_TABLE} AS SELECT {', '.join(columns)} FROM fs_raw"  # noqa: S608 - fixed column names, no data
    )
    con.unregister("fs_raw")


# Candidate pairs: each rule on hashed parts only, each small enough per
# block at a million records; together they reach nearly every true pair of
# FEBRL 2 and 3 even without an e-mail (bench/fs_dedupe.py).
BLOCKING_ON_PARTS: tuple[tuple[str, ...], ...] = (
    ("last_name_p3_h", "birth_year_h"),
    ("first_name_p3_h", "birth_year_h"),
    ("first_name_ph_h", "last_name_ph_h"),
    ("birth_date_h",),
    ("birth_year_h", "postal_code_h"),
    ("street_h", "birth_month_h"),
    ("street_h", "postal_code_h"),
    ("last_name_p3_h", "postal_code_p3_h"),
    ("first_name_p3_h", "postal_code_p3_h"),
    ("last_name_p3_h", "city_h"),
)


def _settings(ids: tuple[str, ...]) -> dict[str, Any]:
    blocking = [*(list(rule) for rule in BLOCKING_ON_PARTS), *([c] for c in ids)]
    comparisons = [
        _text_comparison("first_name"),
        _text_comparison("last_name"),
        _text_comparison("street"),
        _text_comparison("city"),
        _postcode_comparison(),
        _birth_comparison(),
        *(_identifier_comparison(c) for c in ids),
    ]
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": [_rule(cols) for cols in blocking],
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


def _em_session(linker: Any, columns: tuple[str, ...], table: Any) -> Any:
    """One EM session blocked on `columns`; the linker to go on with.

    When no pair of a level looks like a match, EM drives its m towards 0,
    a little more each iteration, and Splink 5.0 refuses the subnormal value
    it reaches ("m_probability ... below the minimum allowed value"), having
    changed the linker's settings in place. The session is then rerun from
    the parameters before it with half as many iterations (m of such a
    level is tiny either way, which is right), and dropped if even one
    iteration underflows.
    """
    from splink import Linker, block_on

    before = linker.misc.save_model_to_json()
    if before.get("max_iterations") != _EM_ITERATIONS:
        # A shorter run forced on an earlier session does not carry over.
        before = {**before, "max_iterations": _EM_ITERATIONS}
        linker = Linker(table(), before, log_level=logging.ERROR)
    iterations = _EM_ITERATIONS
    while True:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*columns)
            )
        except ValueError as err:
            if "below the minimum allowed" not in str(err):
                raise
            iterations //= 2
            logger.warning(
                "EM blocked on %s underflowed; retried with %d iterations",
                columns,
                iterations,
            )
            linker = Linker(
                table(),
                {**before, "max_iterations": max(iterations, 1)},
                log_level=logging.ERROR,
            )
            if iterations == 0:
                logger.warning("EM blocked on %s dropped", columns)
                return linker
        else:
            return linker


def fs_link(
    frame: pl.DataFrame, config: FsConfig | None = None
) -> tuple[pl.DataFrame, FsModel]:
    """Cluster records into entities with a Fellegi-Sunter model learned without labels.

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
    config = config or FsConfig()
    ids = _check(frame, config)
    if frame.height == 0:
        return pl.DataFrame(schema=OUTPUT_SCHEMA), FsModel(prior=0.0, levels=())
    # Imported here: Splink takes a second to import, and only this stage needs it.
    from splink import DuckDBAPI, Linker, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    con = duckdb.connect(":memory:")
    try:
        _load(con, frame, ids)
        db_api = DuckDBAPI(connection=con)
        linker = Linker(
            db_api.register(_INPUT_TABLE), _settings(ids), log_level=logging.ERROR
        )
        exact = [block_on("first_name_h", "last_name_h", "birth_date_h")]
        exact.extend(block_on(c) for c in ids)
        linker.training.estimate_probability_two_random_records_match(
            exact, recall=config.prior_recall
        )
        linker.training.estimate_u_using_random_sampling(
            max_pairs=config.u_pairs, seed=config.seed
        )
        for columns in (("birth_date_h",), ("first_name_h", "last_name_h")):
            linker = _em_session(linker, columns, lambda: db_api.register(_INPUT_TABLE))
        predictions = linker.inference.predict(threshold_match_probability=0.01)
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=config.match_threshold
        )
        table = con.sql(
            f"SELECT unique_id AS record_id, CAST(cluster_id AS VARCHAR) AS entity_id "  # noqa: S608 - a table name Splink made, no data
            f"FROM {clusters.physical_name} ORDER BY record_id"
        ).pl()
        model = _model(linker.misc.save_model_to_json())
    finally:
        con.close()
    return table.cast(dict(OUTPUT_SCHEMA)), model
