"""The frames that pass between the segmentation stages: columns, types, levels.

After extract and dedupe, the quality and features stages receive two frames,
both pseudonymous (opaque record and entity ids, no clear values): customer
profiles (one row per partner record of an entity) and behavioural events. The
allowed levels of their enumerated columns live here too, so that the check in
`quality` and the one-hot encoding in `features` can never disagree.
"""

from collections.abc import Mapping

import polars as pl

GENDERS = ("female", "male", "other", "unknown")
LOYALTY_TIERS = ("none", "bronze", "silver", "gold", "platinum")
EVENT_TYPES = ("view", "add_to_cart", "purchase", "refund", "visit")
CHANNELS = ("web", "app", "store", "email", "social")
DEVICES = ("desktop", "mobile", "tablet", "other")
# UTC hours [0, 6), [6, 12), [12, 18), [18, 24): the data carries no time zone
# per person, and metropolitan France is UTC+1/+2, close enough for quarters.
DAYPARTS = ("night", "morning", "afternoon", "evening")
AGE_BANDS = ("<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
REGIONS = (
    "auvergne_rhone_alpes",
    "bourgogne_franche_comte",
    "bretagne",
    "centre_val_de_loire",
    "corse",
    "grand_est",
    "hauts_de_france",
    "ile_de_france",
    "normandie",
    "nouvelle_aquitaine",
    "occitanie",
    "pays_de_la_loire",
    "provence_alpes_cote_dazur",
    "overseas",
    "unknown",
)
# The level that `quality.impute` gives a missing categorical value.
UNKNOWN = "unknown"

CUSTOMERS_SCHEMA: Mapping[str, pl.DataType] = {
    "record_id": pl.Utf8(),
    "entity_id": pl.Utf8(),
    "birth_year": pl.Int32(),
    "postal_prefix": pl.Utf8(),
    "gender": pl.Utf8(),
    "loyalty_tier": pl.Utf8(),
}
EVENTS_SCHEMA: Mapping[str, pl.DataType] = {
    "record_id": pl.Utf8(),
    "entity_id": pl.Utf8(),
    "event_type": pl.Utf8(),
    "amount": pl.Float64(),
    "currency": pl.Utf8(),
    "occurred_at": pl.Datetime("us", "UTC"),
    "channel": pl.Utf8(),
    "device": pl.Utf8(),
    "category": pl.Utf8(),
}

# The categorical features and their levels, in one-hot column order. Gender
# and loyalty tier may be null until imputed; age band and region never are.
CATEGORICAL_LEVELS: Mapping[str, tuple[str, ...]] = {
    "age_band": AGE_BANDS,
    "region": REGIONS,
    "gender": GENDERS,
    "loyalty_tier": (*LOYALTY_TIERS, UNKNOWN),
}
# Channel and device shares have an "unknown" column for events that did not
# say, so that each family sums to 1 for an entity with events.
SHARE_COLUMNS: tuple[str, ...] = (
    *(f"share_channel_{c}" for c in (*CHANNELS, UNKNOWN)),
    *(f"share_device_{d}" for d in (*DEVICES, UNKNOWN)),
    *(f"share_daypart_{p}" for p in DAYPARTS),
    "share_weekend",
)
FEATURES_SCHEMA: Mapping[str, pl.DataType] = {
    "entity_id": pl.Utf8(),
    **{name: pl.Utf8() for name in CATEGORICAL_LEVELS},
    "recency_days": pl.Float64(),
    "frequency": pl.UInt32(),
    "monetary_total": pl.Float64(),
    "monetary_mean": pl.Float64(),
    "n_events": pl.UInt32(),
    **{name: pl.Float64() for name in SHARE_COLUMNS},
}


def check_schema(
    frame: pl.DataFrame, schema: Mapping[str, pl.DataType], name: str
) -> None:
    """Check that a frame has every column of a schema, with the same type.

    Extra columns are allowed (a stage ignores them). The message names the
    frame, the column and the types, never a value.

    Args:
        frame: The frame to check.
        schema: Column name to expected type, e.g. `CUSTOMERS_SCHEMA`.
        name: The frame's name in messages, e.g. ``"customers"``.

    Raises:
        ValueError: A column is missing or has another type.
    """
    actual = frame.schema
    for column, dtype in schema.items():
        if column not in actual:
            raise ValueError(f"{name}: missing column {column!r}")
        if actual[column] != dtype:
            raise ValueError(
                f"{name}: column {column!r} is {actual[column]}, expected {dtype}"
            )
