"""Per-entity features for segmentation (pure: frames in, frame out).

One row per entity: demographic (age band, region, gender, loyalty tier),
behavioural RFM (recency, frequency, monetary) and contextual shares (channel,
device, time of day, weekend). Everything is vectorized Polars, so the stage
runs on millions of entities without a Python loop over rows.

Input frames are expected to have been through `pipelines.quality.assess`:
values outside their allowed levels are not re-checked here, and an unknown
postal prefix simply maps to the ``"unknown"`` region. The output keeps nulls
where a value is missing (gender, loyalty tier, recency, mean basket) so that
`pipelines.quality.impute` can fill them under a stated strategy.
"""

from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np
import polars as pl
from numpy.typing import NDArray

from gateway.policy.segmentation import DAYPARTS, PURCHASE, REFUND, UNKNOWN
from pipelines.frames import (
    AGE_BAND_BOUNDS,
    CUSTOMERS_SCHEMA,
    EVENTS_SCHEMA,
    Levels,
    check_schema,
)

# Metropolitan départements (2016 regions) by the first two characters of the
# postal code. "20" is Corsica's postal prefix; "2A"/"2B" its département codes.
_REGION_PREFIXES: Mapping[str, tuple[str, ...]] = {
    "auvergne_rhone_alpes": (
        "01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",
    ),
    "bourgogne_franche_comte": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "bretagne": ("22", "29", "35", "56"),
    "centre_val_de_loire": ("18", "28", "36", "37", "41", "45"),
    "corse": ("20", "2A", "2B"),
    "grand_est": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "hauts_de_france": ("02", "59", "60", "62", "80"),
    "ile_de_france": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "normandie": ("14", "27", "50", "61", "76"),
    "nouvelle_aquitaine": (
        "16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87",
    ),
    "occitanie": (
        "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82",
    ),
    "pays_de_la_loire": ("44", "49", "53", "72", "85"),
    "provence_alpes_cote_dazur": ("04", "05", "06", "13", "83", "84"),
    # 971-976 (Guadeloupe to Mayotte, and Saint-Pierre-et-Miquelon). "98" is
    # left unknown: it mixes Monaco (980) with the Pacific collectivities.
    "overseas": ("97",),
}  # fmt: skip
REGION_OF_PREFIX: Mapping[str, str] = {
    prefix: region
    for region, prefixes in _REGION_PREFIXES.items()
    for prefix in prefixes
}
_DAYPART_STARTS = (0, 6, 12, 18)  # UTC hours, see frames.DAYPARTS
_COUNTS = ("frequency", "n_events")
# Indicator families turned into shares of the entity's events.
_SHARED = ("channel", "device", "daypart", "weekend")


def age_band(birth_year: pl.Expr, as_of_year: int) -> pl.Expr:
    """Band the age reached during ``as_of_year`` (``"unknown"`` when not known).

    Birth dates are stored generalized to a year, so the age is the one the
    person reaches in the reference year: up to a year more than on the day.
    """
    age = pl.lit(as_of_year) - birth_year.cast(pl.Int64)
    band = pl.when(age.is_null() | (age < 0)).then(pl.lit(UNKNOWN))
    for low, label in reversed(AGE_BAND_BOUNDS[1:]):
        band = band.when(age >= low).then(pl.lit(label))
    return band.otherwise(pl.lit(AGE_BAND_BOUNDS[0][1]))


def region(postal_prefix: pl.Expr) -> pl.Expr:
    """Map a 2-character postal prefix to its region slug, else ``"unknown"``.

    Prefixes are matched as stored (upper case, as ingest normalizes postal
    codes), the same way `quality` checks them.
    """
    return postal_prefix.replace_strict(
        REGION_OF_PREFIX, default=UNKNOWN, return_dtype=pl.Utf8
    ).fill_null(UNKNOWN)


def _vote(column: str) -> pl.Expr:
    """The most frequent non-null value of a group; ties go to the smallest."""
    return pl.col(column).drop_nulls().mode().min()


def _demographics(customers: pl.LazyFrame, as_of_year: int) -> pl.LazyFrame:
    """One row per entity with customer records, combining them per column.

    Each column is voted on its own, so an entity's gender may come from one
    partner and its tier from another. Entities with a single record (most of
    them) skip the vote: `mode` per group costs about five times `first`.
    """
    columns = ("birth_year", "postal_prefix", "gender", "loyalty_tier")
    per_entity = customers.group_by("entity_id").agg(
        pl.len().alias("_records"), pl.col(*columns).first()
    )
    single = per_entity.filter(pl.col("_records") == 1).drop("_records")
    several = per_entity.filter(pl.col("_records") > 1).select("entity_id")
    voted = (
        customers.join(several, "entity_id", "semi")
        .group_by("entity_id")
        .agg(*(_vote(column) for column in columns))
    )
    return pl.concat([single, voted]).select(
        "entity_id",
        age_band(pl.col("birth_year"), as_of_year).alias("age_band"),
        region(pl.col("postal_prefix")).alias("region"),
        "gender",
        "loyalty_tier",
    )


def _indicators(levels: Levels) -> dict[str, pl.Expr]:
    """Per-event columns whose per-entity sums (or max) make the behaviour.

    Computed before grouping so that the group-by only sums plain columns: a
    filter or a condition evaluated per group is several times slower on
    millions of groups. 0/1 flags are UInt8 (Polars sums them as Int64).
    """
    kind, amount, at = pl.col("event_type"), pl.col("amount"), pl.col("occurred_at")
    purchase = kind == PURCHASE
    hour = at.dt.hour()
    ends = (*_DAYPART_STARTS[1:], 24)
    flags = {
        "frequency": purchase,
        "_priced_purchases": purchase & amount.is_not_null(),
        **{f"channel_{c}": pl.col("channel") == c for c in levels.channel},
        f"channel_{UNKNOWN}": pl.col("channel").is_null(),
        **{f"device_{d}": pl.col("device") == d for d in levels.device},
        f"device_{UNKNOWN}": pl.col("device").is_null(),
        **{
            f"daypart_{part}": (hour >= start) & (hour < end)
            for part, start, end in zip(DAYPARTS, _DAYPART_STARTS, ends, strict=True)
        },
        # ISO weekday: Saturday is 6, Sunday 7.
        "weekend": at.dt.weekday() >= 6,
    }
    return {
        # A null comparison (no channel) is false: the share's denominator
        # stays "all the entity's events".
        **{name: flag.fill_null(False).cast(pl.UInt8) for name, flag in flags.items()},
        # A refund lowers the total whatever sign the partner sent it with.
        "monetary_total": pl.when(purchase)
        .then(amount)
        .when(kind == REFUND)
        .then(-amount.abs()),
        "_purchase_amount": pl.when(purchase).then(amount),
        "_last_purchase": pl.when(purchase).then(at),
    }


def _behaviour(events: pl.LazyFrame, as_of: datetime, levels: Levels) -> pl.LazyFrame:
    """One row per entity with events: RFM figures and contextual shares."""
    indicators = _indicators(levels)
    sums = [name for name in indicators if name != "_last_purchase"]
    shares = [name for name in indicators if name.split("_")[0] in _SHARED]
    n_events = pl.col("n_events")
    return (
        events.select("entity_id", **indicators)
        .group_by("entity_id")
        .agg(
            pl.len().alias("n_events"),
            pl.col(*sums).sum(),
            pl.col("_last_purchase").max(),
        )
        .with_columns(
            (pl.lit(as_of) - pl.col("_last_purchase"))
            .dt.total_days()
            .alias("recency_days"),
            pl.when(pl.col("_priced_purchases") > 0)
            .then(pl.col("_purchase_amount") / pl.col("_priced_purchases"))
            .alias("monetary_mean"),
            *((pl.col(name) / n_events).alias(f"share_{name}") for name in shares),
        )
    )


def build_features(
    customers: pl.DataFrame, events: pl.DataFrame, as_of: datetime, levels: Levels
) -> pl.DataFrame:
    """Build one feature row per entity from its customer records and events.

    Every entity of either frame gets a row. Recency is whole days from the
    last purchase to ``as_of`` (null without purchases); frequency counts
    purchases; ``monetary_total`` is purchase amounts minus refund amounts
    (a refund counts negative whatever its sign); ``monetary_mean`` is the
    mean purchase amount (null without a purchase that has one). Shares are
    fractions of all the entity's events; an entity without events gets 0
    counts and 0 shares.

    Args:
        customers: Frame of `frames.CUSTOMERS_SCHEMA`, several rows per entity
            allowed (combined per column: most common value, ties to the
            smallest).
        events: Frame of `frames.EVENTS_SCHEMA`, UTC timestamps.
        as_of: The reference instant (time zone aware), e.g. the run's clock.
        levels: The enum levels of the policy: one channel and one device
            share per level (plus "unknown").

    Returns:
        A frame of ``levels.features_schema()``, sorted by ``entity_id``.

    Raises:
        ValueError: A frame does not match its schema, or ``as_of`` is naive.
    """
    check_schema(customers, CUSTOMERS_SCHEMA, "customers")
    check_schema(events, EVENTS_SCHEMA, "events")
    if as_of.tzinfo is None:
        raise ValueError("as_of must be time zone aware")
    as_of = as_of.astimezone(UTC)
    schema = levels.features_schema()
    shares = list(levels.share_columns())
    # A full join gives every entity of either side a row, without a third
    # pass over the ten-million-row events just to list entity ids.
    frame = (
        _demographics(customers.lazy(), as_of.year)
        .join(
            _behaviour(events.lazy(), as_of, levels), "entity_id", "full", coalesce=True
        )
        .with_columns(
            pl.col(*_COUNTS).fill_null(0),
            pl.col("monetary_total").fill_null(0.0),
            pl.col(*shares).fill_null(0.0),
            # An entity known only from events has no demographics at all.
            pl.col("age_band", "region").fill_null(UNKNOWN),
        )
        .select([pl.col(n).cast(t) for n, t in schema.items()])
        .sort("entity_id")
    )
    return frame.collect()


def numeric_matrix(
    features: pl.DataFrame, levels: Levels
) -> tuple[NDArray[np.float64], list[str]]:
    """Encode imputed features as a float matrix for clustering.

    Row ``i`` of the matrix is row ``i`` of ``features`` (keep the frame's
    ``entity_id`` column to map labels back). Categoricals are one-hot over
    their full level list (`Levels.categorical`, from the policy), named
    ``"<feature>=<level>"``, so the columns are the same whatever the data;
    the numeric features follow as they are, unscaled, in schema order.

    Args:
        features: The output of `build_features` after `quality.impute`.
        levels: The same levels as given to `build_features`.

    Returns:
        ``(X, names)``: a C-contiguous float64 array of shape
        ``(n_entities, len(names))`` and the column names.

    Raises:
        ValueError: The schema does not match, a value is null (impute
            first) or a categorical value is not one of its levels.
    """
    schema = levels.features_schema()
    categorical = levels.categorical()
    check_schema(features, schema, "features")
    columns = [name for name in schema if name != "entity_id"]
    nulls = features.select(pl.col(columns).null_count()).row(0, named=True)
    if missing := [name for name, count in nulls.items() if count]:
        raise ValueError(f"features: nulls in {missing}; impute them first")
    for name, allowed in categorical.items():
        if not features.get_column(name).is_in(allowed).all():
            raise ValueError(f"features: column {name!r} has an unknown level")
    one_hot = {
        f"{name}={level}": (pl.col(name) == level).cast(pl.Float64)
        for name, allowed in categorical.items()
        for level in allowed
    }
    numeric = {
        name: pl.col(name).cast(pl.Float64)
        for name in columns
        if name not in categorical
    }
    encoded = features.select(**one_hot, **numeric)
    matrix = np.ascontiguousarray(encoded.to_numpy(), dtype=np.float64)
    return matrix, encoded.columns


# Category labels are free text from partners: only labels shared by enough
# people (the audience's floor) become features, so no rare value, which
# could be personal text in the wrong field, ever names a column.
_CATEGORY_TOP = 12
_CATEGORY_SLUG_LENGTH = 40


def category_shares(
    events: pl.DataFrame, entity_ids: pl.Series, *, min_entities: int
) -> tuple[NDArray[np.float64], list[str]]:
    """Each entity's share of events per product category (the preferences).

    Labels are trimmed, lower-cased and slugged (``[a-z0-9_]``); the most
    common labels held by at least `min_entities` people, `_CATEGORY_TOP` at
    most, each get a ``share_category_<slug>`` column, the rest of the
    labelled events ``share_category_other`` (when any). Shares are of all the
    entity's events, like the channel shares; 0 without events.

    Args:
        events: Frame with ``entity_id`` and ``category`` (nullable).
        entity_ids: The feature rows' ids, in matrix row order.
        min_entities: Fewest people a label needs to become a column.

    Returns:
        ``(X, names)`` aligned with `entity_ids`; no column when no label is
        common enough.
    """
    slug = (
        pl.col("category")
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace_all(r"[^a-z0-9]+", "_")
        .str.strip_chars("_")
        .str.slice(0, _CATEGORY_SLUG_LENGTH)
    )
    labelled = events.select("entity_id", slug.alias("slug")).with_columns(
        pl.when(pl.col("slug") != "").then(pl.col("slug")).alias("slug")
    )
    common = (
        labelled.drop_nulls("slug")
        .group_by("slug")
        .agg(pl.col("entity_id").n_unique().alias("people"))
        .filter(pl.col("people") >= min_entities)
        .sort(["people", "slug"], descending=[True, False])
        .head(_CATEGORY_TOP)["slug"]
        .to_list()
    )
    if not common:
        return np.zeros((len(entity_ids), 0)), []
    kept = labelled.with_columns(
        pl.when(pl.col("slug").is_in(common))
        .then(pl.col("slug"))
        .when(pl.col("slug").is_not_null())
        .then(pl.lit("other"))
        .alias("slug")
    )
    names = [*common, *(["other"] if (kept["slug"] == "other").any() else [])]
    per_entity = kept.group_by("entity_id").agg(
        pl.len().alias("_events"),
        *((pl.col("slug") == name).sum().alias(name) for name in names),
    )
    shares = (
        pl.DataFrame({"entity_id": entity_ids})
        .join(per_entity, on="entity_id", how="left")
        .select(
            (pl.col(name) / pl.col("_events")).fill_null(0.0).alias(name)
            for name in names
        )
    )
    matrix = np.ascontiguousarray(shares.to_numpy(), dtype=np.float64)
    return matrix, [f"share_category_{name}" for name in names]
