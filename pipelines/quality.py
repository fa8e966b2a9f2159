"""Data quality for segmentation: checks, cleaning, outliers, imputation (pure).

`assess` checks the deduplicated customer and event frames against their
schemas and allowed values, drops the rows that cannot be used and nulls the
values that are implausible, winsorizes event amounts at Tukey's fences, and
counts what is still missing. `impute` later fills the feature matrix's gaps,
one stated strategy per feature.

What is dropped and what is nulled: a row goes only when it has no use at all
(no id, or an event without a known type or time, or one after ``as_of``); a
bad attribute is nulled and the row kept, since its other columns still count.
The report holds counts, rates, fences and strategies only, never a value or
an id from a row (CONVENTIONS R6), so it can go into the run summary as is.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import polars as pl

from gateway.policy.segmentation import REFUND, UNKNOWN
from pipelines.features import REGION_OF_PREFIX
from pipelines.frames import (
    CUSTOMERS_SCHEMA,
    EVENTS_SCHEMA,
    Levels,
    check_schema,
)

Strategy = Literal["median", "mean", "max", "zero", "unknown"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)


def default_strategies(features: Mapping[str, pl.DataType]) -> dict[str, Strategy]:
    """One strategy for every feature of a feature schema, and why.

    Args:
        features: The feature frame's schema (`Levels.features_schema`).

    Returns:
        Column to strategy, for every column but ``entity_id``.
    """
    strategies: dict[str, Strategy] = {
        # A missing category is information ("did not say"), not noise: its
        # own level. Counts, totals and shares of an entity without events:
        # nothing happened.
        name: "unknown" if dtype == pl.Utf8 else "zero"
        for name, dtype in features.items()
        if name != "entity_id"
    }
    # Never purchased is the stalest a customer can be: the median would seat
    # never-buyers among the regulars. "max" puts them with the oldest buyers.
    strategies["recency_days"] = "max"
    # No purchase, no basket: zero, in line with frequency and total.
    strategies["monetary_mean"] = "zero"
    return strategies


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds of `assess`.

    Attributes:
        iqr_k: Tukey's multiplier: fences at Q1 - k·IQR and Q3 + k·IQR.
        min_birth_year: The earliest plausible birth year.
        currency: Amounts in another currency are nulled, since summing them
            with this one would be meaningless; None keeps every amount. A
            null currency is taken to be this one.
    """

    iqr_k: float = 1.5
    min_birth_year: int = 1900
    currency: str | None = "EUR"


@dataclass(frozen=True)
class QualityReport:
    """What `assess` (and `impute`) found and did, as counts and rates.

    Keys are ``"<frame>.<column>"`` or ``"<frame>.<reason>"``; nothing in here
    comes from a single row except through an aggregate.

    Attributes:
        rows: Per frame, rows ``in`` and ``out``.
        dropped: Rows dropped, per frame and reason.
        nulled: Values set to null as invalid, per column (and reason for
            ``events.amount``).
        missing: Per column of the cleaned frames, null ``count`` and ``rate``.
        fences: Per winsorized column, ``q1``, ``q3``, ``k``, ``low``, ``high``
            (empty when the column had no values).
        winsorized: Per winsorized column, values clipped ``below`` and ``above``.
        refund_signs_flipped: Negative refund amounts made positive (a refund
            is stored as a magnitude; its type gives the sign).
        imputation: Per feature, ``strategy``, fill ``value`` and ``filled``
            count (see `with_imputation`).
    """

    rows: Mapping[str, Mapping[str, int]]
    dropped: Mapping[str, int]
    nulled: Mapping[str, int]
    missing: Mapping[str, Mapping[str, float]]
    fences: Mapping[str, Mapping[str, float]]
    winsorized: Mapping[str, Mapping[str, int]]
    refund_signs_flipped: int
    imputation: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def with_imputation(
        self, imputation: Mapping[str, Mapping[str, Any]]
    ) -> "QualityReport":
        """Return a copy that also states the imputation done by `impute`."""
        return replace(self, imputation=imputation)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able figures for the run summary and the report."""
        nested = ("rows", "missing", "fences", "winsorized", "imputation")
        out: dict[str, Any] = {name: _plain(getattr(self, name)) for name in nested}
        out["dropped"] = dict(self.dropped)
        out["nulled"] = dict(self.nulled)
        out["refund_signs_flipped"] = self.refund_signs_flipped
        return out


def _plain(mapping: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {key: dict(inner) for key, inner in mapping.items()}


def _count(frame: pl.DataFrame, masks: Mapping[str, pl.Expr]) -> dict[str, int]:
    """Count the rows matching each mask, in one pass over the frame."""
    if not masks:
        return {}
    sums = frame.select(
        **{name: mask.fill_null(False).sum() for name, mask in masks.items()}
    )
    return {name: int(value) for name, value in sums.row(0, named=True).items()}


def _invalid(column: str, allowed: pl.Expr) -> pl.Expr:
    """True where a value is present but not allowed."""
    return pl.col(column).is_not_null() & ~allowed.fill_null(False)


def _clean_customers(
    customers: pl.DataFrame, as_of_year: int, cfg: QualityConfig, levels: Levels
) -> tuple[pl.DataFrame, dict[str, int], dict[str, int]]:
    """Drop customer rows without ids; null implausible attributes."""
    no_id = pl.any_horizontal(pl.col("record_id", "entity_id").is_null())
    dropped = _count(customers, {"customers.missing_id": no_id})
    kept = customers.filter(~no_id)
    checks = {
        "birth_year": pl.col("birth_year").is_between(cfg.min_birth_year, as_of_year),
        "postal_prefix": pl.col("postal_prefix").is_in(list(REGION_OF_PREFIX)),
        "gender": pl.col("gender").is_in(levels.gender),
        "loyalty_tier": pl.col("loyalty_tier").is_in(levels.loyalty_tier),
    }
    masks = {column: _invalid(column, ok) for column, ok in checks.items()}
    nulled = _count(kept, {f"customers.{c}": mask for c, mask in masks.items()})
    cleaned = kept.with_columns(
        pl.when(mask).then(None).otherwise(pl.col(c)).alias(c)
        for c, mask in masks.items()
    )
    return cleaned, dropped, nulled


def _drop_events(
    events: pl.DataFrame, as_of: datetime, event_types: tuple[str, ...]
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Drop events without ids, a known type or a time, or after ``as_of``.

    Each dropped row is counted under the first reason that applies.
    """
    required = ("entity_id", "event_type", "occurred_at")
    missing = pl.any_horizontal(pl.col(*required).is_null())
    bad_type = ~missing & ~pl.col("event_type").is_in(event_types)
    future = ~missing & ~bad_type & (pl.col("occurred_at") > pl.lit(as_of))
    reasons = {
        "events.missing_required": missing,
        "events.event_type_invalid": bad_type,
        "events.occurred_after_as_of": future,
    }
    dropped = _count(events, reasons)
    return events.filter(~(missing | bad_type | future)), dropped


def _amount_masks(cfg: QualityConfig) -> dict[str, pl.Expr]:
    """Why an amount is nulled; each amount counted under its first reason."""
    amount = pl.col("amount")
    not_finite = amount.is_not_null() & ~amount.is_finite()
    other = (
        pl.col("currency").is_not_null() & (pl.col("currency") != cfg.currency)
        if cfg.currency is not None
        else pl.lit(False)
    )
    currency = amount.is_finite() & other
    # Only a refund may be sent negative (some partners sign them); a negative
    # purchase or view price is an error, not a sign convention.
    negative = (
        amount.is_finite() & ~other & (amount < 0) & (pl.col("event_type") != REFUND)
    )
    return {
        "events.amount:not_finite": not_finite,
        "events.amount:other_currency": currency,
        "events.amount:negative": negative,
    }


def _clean_events(
    events: pl.DataFrame, as_of: datetime, cfg: QualityConfig, levels: Levels
) -> tuple[pl.DataFrame, dict[str, int], dict[str, int], int]:
    """Drop unusable events, null invalid values, make refunds magnitudes."""
    kept, dropped = _drop_events(events, as_of, levels.event_type)
    enums = {
        "channel": _invalid("channel", pl.col("channel").is_in(levels.channel)),
        "device": _invalid("device", pl.col("device").is_in(levels.device)),
    }
    amounts = _amount_masks(cfg)
    bad_amount = pl.any_horizontal(*amounts.values())
    flip = (
        ~bad_amount.fill_null(False)
        & (pl.col("event_type") == REFUND)
        & (pl.col("amount") < 0)
    )
    counts = _count(
        kept,
        {f"events.{c}": mask for c, mask in enums.items()}
        | amounts
        | {"flipped": flip},
    )
    flipped = counts.pop("flipped")
    amount = pl.col("amount")
    cleaned = kept.with_columns(
        *(
            pl.when(mask).then(None).otherwise(pl.col(c)).alias(c)
            for c, mask in enums.items()
        ),
        pl.when(bad_amount.fill_null(False))
        .then(None)
        .when(flip)
        .then(-amount)
        .otherwise(amount)
        .alias("amount"),
    )
    return cleaned, dropped, counts, flipped


def winsorize(
    frame: pl.DataFrame, column: str, k: float = 1.5
) -> tuple[pl.DataFrame, dict[str, float], dict[str, int]]:
    """Clip a numeric column to Tukey's fences, Q1 - k·IQR and Q3 + k·IQR.

    Quartiles are linearly interpolated (numpy's default), over non-null
    values; nulls stay null.

    Args:
        frame: The frame holding the column.
        column: A numeric column.
        k: The fence multiplier (1.5 for Tukey's "outliers", 3 for "far out").

    Returns:
        ``(frame, fences, counts)``: the clipped frame; ``q1``, ``q3``, ``k``,
        ``low`` and ``high`` (empty when the column has no values); the
        numbers of values clipped ``below`` and ``above``.

    Raises:
        ValueError: ``k`` is negative or not finite.
    """
    if not (math.isfinite(k) and k >= 0):
        raise ValueError("k must be a finite number >= 0")
    values = pl.col(column)
    q1, q3 = frame.select(
        values.quantile(0.25, "linear"), values.quantile(0.75, "linear").alias("q3")
    ).row(0)
    if q1 is None or q3 is None:
        return frame, {}, {"below": 0, "above": 0}
    low, high = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    counts = _count(frame, {"below": values < low, "above": values > high})
    fences = {"q1": q1, "q3": q3, "k": k, "low": low, "high": high}
    return frame.with_columns(values.clip(low, high)), fences, counts


def missing(frame: pl.DataFrame, name: str) -> dict[str, dict[str, float]]:
    """Null count and rate of every column, keyed ``"<name>.<column>"``."""
    nulls = frame.null_count().row(0, named=True)
    rows = frame.height
    return {
        f"{name}.{column}": {"count": count, "rate": count / rows if rows else 0.0}
        for column, count in nulls.items()
    }


def assess(
    customers: pl.DataFrame,
    events: pl.DataFrame,
    as_of: datetime,
    cfg: QualityConfig | None = None,
    *,
    levels: Levels,
) -> tuple[pl.DataFrame, pl.DataFrame, QualityReport]:
    """Check, clean and winsorize the customer and event frames.

    Customers: rows without ``record_id`` or ``entity_id`` are dropped; a
    birth year outside [``min_birth_year``, ``as_of.year``], a postal prefix
    that is no French département, or a gender or tier outside its levels
    is nulled. Events: rows without ids, type or time, with an unknown type
    or after ``as_of`` are dropped; an unknown channel or device is nulled;
    an amount that is not finite, in another currency, or negative on
    anything but a refund is nulled; a negative refund is made positive.
    Amounts are then clipped to Tukey's fences computed over all events.

    Args:
        customers: Frame of `frames.CUSTOMERS_SCHEMA`.
        events: Frame of `frames.EVENTS_SCHEMA`.
        as_of: The reference instant (time zone aware).
        cfg: Thresholds; the defaults of `QualityConfig` when None.
        levels: The allowed levels of the enum columns, from the policy.

    Returns:
        ``(customers, events, report)``: the cleaned frames (same schemas,
        same row order) and what was done.

    Raises:
        ValueError: A frame does not match its schema, or ``as_of`` is naive.
    """
    cfg = cfg or QualityConfig()
    check_schema(customers, CUSTOMERS_SCHEMA, "customers")
    check_schema(events, EVENTS_SCHEMA, "events")
    if as_of.tzinfo is None:
        raise ValueError("as_of must be time zone aware")
    as_of = as_of.astimezone(UTC)
    people, dropped, nulled = _clean_customers(customers, as_of.year, cfg, levels)
    acts, dropped_events, nulled_events, flipped = _clean_events(
        events, as_of, cfg, levels
    )
    acts, fences, clipped = winsorize(acts, "amount", cfg.iqr_k)
    report = QualityReport(
        rows={
            "customers": {"in": customers.height, "out": people.height},
            "events": {"in": events.height, "out": acts.height},
        },
        dropped=dropped | dropped_events,
        nulled=nulled | nulled_events,
        missing=missing(people, "customers") | missing(acts, "events"),
        fences={"amount": fences} if fences else {},
        winsorized={"amount": clipped},
        refund_signs_flipped=flipped,
    )
    return people, acts, report


def _fill_value(series: pl.Series, strategy: str) -> tuple[float | str | None, bool]:
    """The value a strategy fills with, and whether it fell back to zero."""
    if strategy == "unknown":
        return UNKNOWN, False
    if strategy == "zero":
        return 0, False
    statistic = {"median": series.median, "mean": series.mean, "max": series.max}
    value = statistic[strategy]()
    # All null (say, nobody purchased): no statistic to take, and a column
    # left null would stop clustering; zero is the neutral fill.
    return (0, True) if value is None else (float(value), False)


def _check_strategies(features: pl.DataFrame, strategies: Mapping[str, str]) -> None:
    for column, strategy in strategies.items():
        if column not in features.columns:
            raise ValueError(f"imputation: no feature column {column!r}")
        if strategy not in STRATEGIES:
            raise ValueError(f"imputation: unknown strategy {strategy!r}")
        dtype = features.schema[column]
        fits = dtype == pl.Utf8 if strategy == "unknown" else dtype.is_numeric()
        if not fits:
            raise ValueError(
                f"imputation: strategy {strategy!r} does not fit column {column!r}"
            )
    gaps = [c for c, n in features.null_count().row(0, named=True).items() if n]
    if unplanned := [c for c in gaps if c not in strategies]:
        raise ValueError(f"imputation: no strategy for columns with nulls {unplanned}")


def impute(
    features: pl.DataFrame, strategies: Mapping[str, Strategy] | None = None
) -> tuple[pl.DataFrame, dict[str, dict[str, Any]]]:
    """Fill the feature matrix's nulls, one explicit strategy per column.

    Strategies: ``"median"``, ``"mean"`` and ``"max"`` of the column's
    present values (zero when it has none, reported as a fallback);
    ``"zero"``; ``"unknown"``, the dedicated level of a text column.
    Integer columns get the statistic rounded.

    Args:
        features: Typically the output of `features.build_features`.
        strategies: Column to strategy; when None, `default_strategies` of
            the frame's schema (one for every feature, and why).

    Returns:
        ``(features, imputation)``: the filled frame, and per column of
        ``strategies`` the ``strategy``, the fill ``value``, the number of
        values ``filled`` and whether it fell back to zero (``fallback``).
        Pass it to `QualityReport.with_imputation`.

    Raises:
        ValueError: A strategy is unknown, names a missing column or does not
            fit its type, or a column with nulls has no strategy.
    """
    if strategies is None:
        strategies = default_strategies(dict(features.schema))
    _check_strategies(features, strategies)
    nulls = features.null_count().row(0, named=True)
    fills: list[pl.Expr] = []
    imputation: dict[str, dict[str, Any]] = {}
    for column, strategy in strategies.items():
        dtype = features.schema[column]
        value, fallback = _fill_value(features.get_column(column), strategy)
        if dtype.is_integer() and isinstance(value, float):
            value = round(value)
        fills.append(pl.col(column).fill_null(pl.lit(value, dtype=dtype)))
        imputation[column] = {
            "strategy": strategy,
            "value": value,
            "filled": nulls[column],
            "fallback": fallback,
        }
    return features.with_columns(fills), imputation
