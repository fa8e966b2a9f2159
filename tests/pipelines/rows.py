"""Rows and frames in the pipelines' schemas, for tests on small known frames."""

import itertools
from datetime import UTC, datetime
from typing import Any

import polars as pl

from gateway.policy import load_policies
from pipelines.frames import CUSTOMERS_SCHEMA, EVENTS_SCHEMA, Levels
from tests.databases import POLICIES

_POLICIES = load_policies(POLICIES)
# The enum levels of the sample policies: tests take them from the policy, as
# the pipeline does, never from a copy.
LEVELS = Levels.of(_POLICIES, _POLICIES.audiences["retail_default"])
FEATURES_SCHEMA = LEVELS.features_schema()
CATEGORICAL_LEVELS = LEVELS.categorical()

_ids = itertools.count()
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def customer_row(entity_id: str, **over: Any) -> dict[str, Any]:
    """A customers row of an entity; `over` replaces any column."""
    row = {
        "record_id": f"cust-{next(_ids)}",
        "entity_id": entity_id,
        "birth_year": 1980,
        "postal_prefix": "75",
        "gender": "female",
        "loyalty_tier": "gold",
    }
    return row | over


def event_row(entity_id: str, **over: Any) -> dict[str, Any]:
    """An events row of an entity (a web view on mobile, in EUR, at `EPOCH`).

    `over` replaces any column.
    """
    row = {
        "record_id": f"evt-{next(_ids)}",
        "entity_id": entity_id,
        "event_type": "view",
        "amount": None,
        "currency": "EUR",
        "occurred_at": EPOCH,
        "channel": "web",
        "device": "mobile",
        "category": None,
    }
    return row | over


def customers(*rows: dict[str, Any]) -> pl.DataFrame:
    """A customers frame."""
    return pl.DataFrame(list(rows), schema=CUSTOMERS_SCHEMA)


def events(*rows: dict[str, Any]) -> pl.DataFrame:
    """An events frame."""
    return pl.DataFrame(list(rows), schema=EVENTS_SCHEMA)
