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
  "jenna" and "jenny", twins) (`_split_by_rarity`); the first name also has
  a level, right after "exact", for names swapped between the two fields
  (the pair of names agrees, in the other order);
* address, one comparison over street, city and postcode (same street and
  postcode; same street; street Dice >= 0.7 at the same house number in
  the same postcode or city, a mistyped street name; street Dice >= 0.9 or
  >= 0.7 in the same postcode or city, which neighbours on one street reach
  too; street Dice >= 0.9 elsewhere; same postcode; same city; same
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
(`pipelines.fs_household`); the birth date's only for pairs at one address that
share a surname. The data decide how much these levels say: EM first
estimates how many of those pairs are housemates from birth dates that
differ beyond a typo, then, with that share held, how housemates compare;
in a population without households (FEBRL: 1 % of its pairs at one
address) the fitted u stay the population's and the levels add nothing.
Without an identifier, the birth date's m is learned on pairs of one name
at one street, fathers and sons of one name among them: the share of
such namesakes that the household fit expects is taken out of its "else"
level (`pipelines.fs_household.birth_else_without_namesakes`).

Known limits: twins at one address with similar first names ("jenna" /
"jenny") look like a duplicate with a typo, and are merged when both names
are common; two namesakes at one address with no birth date on file are
merged; first and last names swapped are found when both are spelled
alike (a keyed hash of the two names as a pair, `name_pair_h`), missed when
one of them also has a typo (each field has its own key, so a first name's
filter is never compared with a surname's). `bench/namesakes.py` measures
the first two; `bench/fs_dedupe.py` FEBRL 1 to 3.
"""

import logging
import tempfile
from typing import Any

import duckdb
import polars as pl

from gateway.linkage.fields import FILTER_COLUMNS, HASH_COLUMNS
from pipelines.dedupe import dedupe
from pipelines.fs_comparisons import (
    AT_HOME,
    BLOCKING_ON_PARTS,
    LOOSE,
    RARER,
    SAME_NUMBER,
    SWAPPED,
    splink_settings,
)
from pipelines.fs_household import with_household
from pipelines.fs_model import FsConfig, FsModel, LevelParams
from pipelines.fs_table import IDS_TABLE, INPUT_TABLE, load_input

# Re-exported: callers import the model and the blocking rules from here.
__all__ = [
    "BLOCKING_ON_PARTS",
    "EDGE_SCHEMA",
    "IDENTIFIER_COLUMNS",
    "OUTPUT_SCHEMA",
    "FsConfig",
    "FsModel",
    "LevelParams",
    "fs_edges",
    "fs_link",
    "model_fits",
]

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


_TRAIN_TABLE = "fs_train"


_EM_ITERATIONS = 25  # Splink's default


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


def _linker(table: Any, settings: dict[str, Any]) -> Any:
    """A Splink linker over `table`, quiet, without its settings validation.

    The validation only logs, at WARNING, the columns a blocking rule or a
    comparison names that the table lacks. At ERROR those lines are never
    seen, yet writing them (sqlglot parsing every SQL string of the
    settings) took 0.77 of the 1.07 s a linker took to build (cProfile, the
    predictive pipeline tests). A missing column still fails, as an error,
    when the SQL runs.
    """
    from splink import Linker

    return Linker(table, settings, log_level=logging.ERROR, validate_settings=False)


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
    from splink import block_on
    from splink.internals.exceptions import EMTrainingException

    before = linker.misc.save_model_to_json()
    if before.get("max_iterations") != _EM_ITERATIONS:
        # A shorter run forced on an earlier session does not carry over.
        before = {**before, "max_iterations": _EM_ITERATIONS}
        linker = _linker(table(), before)
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
            return _linker(table(), before)
        except ValueError as err:
            if "below the minimum allowed" not in str(err):
                raise
            iterations //= 2
            logger.warning(
                "EM blocked on %s underflowed; retried with %d iterations",
                rule,
                iterations,
            )
            linker = _linker(table(), {**before, "max_iterations": max(iterations, 1)})
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
        return INPUT_TABLE, records
    con.execute(
        f"CREATE TABLE {_TRAIN_TABLE} AS SELECT * FROM {INPUT_TABLE} "  # noqa: S608 - fixed names and integers, no data
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
    settings = linker.misc.save_model_to_json()
    if settings["probability_two_random_records_match"] > 0:
        return linker
    pairs = max(records * (records - 1) / 2, 1.0)
    floored = {**settings, "probability_two_random_records_match": 1.0 / pairs}
    logger.warning("no deterministic match found; prior floored at 1 / %.0f", pairs)
    return _linker(table(), floored)


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
    # `birth_else_without_namesakes`).
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
    from splink import DuckDBAPI

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
        load_input(con, frame, ids, new)
        db_api = DuckDBAPI(connection=con)
        if model is None:
            training, records = _training_table(con, frame.height, config)
            linker = _linker(db_api.register(training), splink_settings(ids, new))
            linker = _train(
                linker, config, ids, lambda: db_api.register(training), records
            )
            model = _model(linker.misc.save_model_to_json())
            if config.households:
                model = with_household(
                    con,
                    model,
                    splink_settings(ids)["comparisons"],
                    birth_from_names=not ids,
                )
        settings = _apply(model, _scoring_settings(model, ids, new))
        linker = _linker(db_api.register(INPUT_TABLE), settings)
        predictions = linker.inference.predict(
            threshold_match_probability=config.match_threshold, warning_mode="never"
        )
        # Row numbers back to record ids, the lower record id on the left.
        edges = con.sql(
            "SELECT least(a.record_id, b.record_id) AS record_id_l, "  # noqa: S608 - table names Splink and we made, no data
            "greatest(a.record_id, b.record_id) AS record_id_r, "
            "CAST(p.match_probability AS DOUBLE) AS match_probability "
            f"FROM {predictions.physical_name} p "
            f"JOIN {IDS_TABLE} a ON p.unique_id_l = a.unique_id "
            f"JOIN {IDS_TABLE} b ON p.unique_id_r = b.unique_id "
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
    homes = frozenset(p.comparison for p in model.levels if p.level.endswith(AT_HOME))
    rarer = any(RARER in p.level for p in model.levels)
    loose = any(p.level.startswith(LOOSE) for p in model.levels)
    swapped = any(p.level == SWAPPED for p in model.levels)
    number = any(p.level == SAME_NUMBER for p in model.levels)
    return splink_settings(
        ids,
        new,
        homes=homes,
        rarer=rarer,
        loose=loose,
        swapped=swapped,
        number=number,
    )


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
