"""The frames that pass between the segmentation stages: columns, types, levels.

After extract and dedupe, the quality and features stages receive two frames,
both pseudonymous (opaque record and entity ids, no clear values): customer
profiles (one row per partner record of an entity) and behavioural events.
Their columns are named after the field roles of the policies
(`gateway.policy.segmentation`), whatever the dataset calls its fields. The
allowed levels of their enumerated columns come from the policy alone
(`Levels`), so that the check in `quality` and the one-hot encoding in
`features` can never disagree with it, nor with each other.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from gateway.policy.audiences import Audience
from gateway.policy.models import PolicySet
from gateway.policy.segmentation import (
    UNKNOWN,
    enum_levels,
    share_names,
)

# The age bands, each with its lower bound (inclusive); "65+" is the rest.
# Their one owner: the feature that bands ages and the one-hot levels read
# them here.
AGE_BAND_BOUNDS: tuple[tuple[int, str], ...] = (
    (0, "<18"),
    (18, "18-24"),
    (25, "25-34"),
    (35, "35-44"),
    (45, "45-54"),
    (55, "55-64"),
    (65, "65+"),
)
AGE_BANDS = (*(label for _, label in AGE_BAND_BOUNDS), UNKNOWN)
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

CUSTOMERS_SCHEMA: Mapping[str, pl.DataType] = {
    "record_id": pl.Utf8(),
    "entity_id": pl.Utf8(),
    "birth_year": pl.Int32(),
    "postal_prefix": pl.Utf8(),
    "gender": pl.Utf8(),
    "loyalty_tier": pl.Utf8(),
}
# No stage reads an event's record id: at ten million events it is half a
# gigabyte of memory for nothing.
EVENTS_SCHEMA: Mapping[str, pl.DataType] = {
    "entity_id": pl.Utf8(),
    "event_type": pl.Utf8(),
    "amount": pl.Float64(),
    "currency": pl.Utf8(),
    "occurred_at": pl.Datetime("us", "UTC"),
    "channel": pl.Utf8(),
    "device": pl.Utf8(),
    "category": pl.Utf8(),
}


@dataclass(frozen=True)
class Levels:
    """The levels of each enumerated column, as the audience's policies say."""

    gender: tuple[str, ...]
    loyalty_tier: tuple[str, ...]
    event_type: tuple[str, ...]
    channel: tuple[str, ...]
    device: tuple[str, ...]

    @classmethod
    def of(cls, policies: PolicySet, audience: Audience) -> "Levels":
        """The levels declared by an audience's datasets (empty when absent)."""
        return cls(**enum_levels(policies.datasets, audience.datasets))

    def categorical(self) -> dict[str, tuple[str, ...]]:
        """The categorical features and their levels, in one-hot column order.

        Gender and loyalty tier may be null until imputed (then "unknown");
        age band and region never are.
        """
        return {
            "age_band": AGE_BANDS,
            "region": REGIONS,
            "gender": _with_unknown(self.gender),
            "loyalty_tier": _with_unknown(self.loyalty_tier),
        }

    def share_columns(self) -> tuple[str, ...]:
        """The share features, channel and device levels first."""
        return share_names({"channel": self.channel, "device": self.device})

    def features_schema(self) -> dict[str, pl.DataType]:
        """The feature frame's columns and types for these levels."""
        return {
            "entity_id": pl.Utf8(),
            **{name: pl.Utf8() for name in self.categorical()},
            "recency_days": pl.Float64(),
            "frequency": pl.UInt32(),
            "monetary_total": pl.Float64(),
            "monetary_mean": pl.Float64(),
            "n_events": pl.UInt32(),
            **{name: pl.Float64() for name in self.share_columns()},
        }


def _with_unknown(levels: tuple[str, ...]) -> tuple[str, ...]:
    # Imputation fills a missing value with "unknown": it must be a level.
    return levels if UNKNOWN in levels else (*levels, UNKNOWN)


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
