"""quality: checks, cleaning, winsorization and imputation, on small known frames."""

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from pipelines.features import build_features
from pipelines.frames import CUSTOMERS_SCHEMA, EVENTS_SCHEMA
from pipelines.quality import (
    QualityConfig,
    assess,
    default_strategies,
    impute,
    missing,
    winsorize,
)
from tests.pipelines.rows import (
    FEATURES_SCHEMA,
    LEVELS,
    customer_row,
    customers,
    event_row,
    events,
)

AS_OF = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


make_customer = customer_row


def make_event(entity_id: str, **over: Any) -> dict[str, Any]:
    # Defaults of these tests: a 10 EUR purchase of shoes, the day before AS_OF.
    defaults = {
        "event_type": "purchase",
        "amount": 10.0,
        "category": "shoes",
        "occurred_at": AS_OF - timedelta(days=1),
    }
    return event_row(entity_id, **(defaults | over))


def amounts(*values: float | None) -> pl.DataFrame:
    return pl.DataFrame({"amount": list(values)}, schema={"amount": pl.Float64})


def test_winsorize_clips_exactly_at_tukey_fences() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, -40.0, 90.0, None]
    clipped, fences, counts = winsorize(amounts(*values), "amount")
    q1, q3 = np.percentile([v for v in values if v is not None], [25, 75])
    low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    assert fences == pytest.approx(
        {"q1": q1, "q3": q3, "k": 1.5, "low": low, "high": high}
    )
    assert counts == {"below": 1, "above": 1}
    out = clipped.get_column("amount").to_list()
    assert out[8] == low
    assert out[9] == high
    assert out[:8] == values[:8]  # inside the fences: untouched
    assert out[10] is None


def test_winsorize_k_is_configurable() -> None:
    frame = amounts(1.0, 2.0, 3.0, 4.0, 5.0, 12.0)  # IQR 2.5, Q3 4.75
    _, _, tukey = winsorize(frame, "amount", k=1.5)  # high fence 8.5
    _, fences, far_out = winsorize(frame, "amount", k=3.0)  # high fence 12.25
    assert tukey == {"below": 0, "above": 1}
    assert far_out == {"below": 0, "above": 0}
    assert fences["high"] == pytest.approx(12.25)


def test_winsorize_without_values_changes_nothing() -> None:
    frame = amounts(None, None)
    out, fences, counts = winsorize(frame, "amount")
    assert out.equals(frame)
    assert fences == {}
    assert counts == {"below": 0, "above": 0}


def test_winsorize_refuses_a_negative_k() -> None:
    with pytest.raises(ValueError, match="k"):
        winsorize(amounts(1.0), "amount", k=-1.0)


@pytest.mark.parametrize(
    ("birth_year", "kept"),
    [(1899, False), (1900, True), (2024, True), (2025, False), (None, False)],
)
def test_birth_year_must_lie_between_1900_and_the_as_of_year(
    birth_year: int | None, kept: bool
) -> None:
    out, _, report = assess(
        customers(make_customer("a", birth_year=birth_year)),
        events(),
        AS_OF,
        levels=LEVELS,
    )
    assert (out.item(0, "birth_year") is not None) == kept
    invalid = birth_year is not None and not kept
    assert report.nulled["customers.birth_year"] == int(invalid)


def test_invalid_customer_values_are_nulled_and_counted() -> None:
    frame = customers(
        make_customer("a", gender="robot", postal_prefix="SW", loyalty_tier="diamond"),
        make_customer("b", gender="unknown", postal_prefix="2A"),
        make_customer("c", gender=None),
    )
    out, _, report = assess(frame, events(), AS_OF, levels=LEVELS)
    assert out.get_column("gender").to_list() == [None, "unknown", None]
    assert out.get_column("postal_prefix").to_list() == [None, "2A", "75"]
    assert out.get_column("loyalty_tier").to_list() == [None, "gold", "gold"]
    assert report.nulled["customers.gender"] == 1  # the null was already missing
    assert report.nulled["customers.postal_prefix"] == 1
    assert report.nulled["customers.loyalty_tier"] == 1
    assert report.missing["customers.gender"] == {"count": 2, "rate": 2 / 3}


def test_customer_rows_without_ids_are_dropped() -> None:
    frame = customers(
        make_customer("a"), make_customer(None), make_customer("b", record_id=None)
    )
    out, _, report = assess(frame, events(), AS_OF, levels=LEVELS)
    assert out.get_column("entity_id").to_list() == ["a"]
    assert report.dropped["customers.missing_id"] == 2
    assert report.rows["customers"] == {"in": 3, "out": 1}


def test_unusable_events_are_dropped_by_first_reason() -> None:
    frame = events(
        make_event("a"),
        make_event(None),
        make_event("a", event_type="wishlist"),
        make_event("a", occurred_at=AS_OF + timedelta(seconds=1)),
        make_event("a", occurred_at=AS_OF),  # at as_of exactly: kept
        make_event("a", event_type="wishlist", occurred_at=AS_OF + timedelta(1)),
    )
    _, out, report = assess(customers(), frame, AS_OF, levels=LEVELS)
    assert out.height == 2
    assert report.dropped == {
        "customers.missing_id": 0,
        "events.missing_required": 1,
        "events.event_type_invalid": 2,
        "events.occurred_after_as_of": 1,
    }


def test_invalid_channel_and_device_are_nulled() -> None:
    frame = events(make_event("a", channel="fax", device="watch"), make_event("a"))
    _, out, report = assess(customers(), frame, AS_OF, levels=LEVELS)
    assert out.get_column("channel").to_list() == [None, "web"]
    assert out.get_column("device").to_list() == [None, "mobile"]
    assert report.nulled["events.channel"] == report.nulled["events.device"] == 1


def test_amount_checks_null_bad_values_and_make_refunds_magnitudes() -> None:
    frame = events(
        make_event("a", amount=float("nan")),
        make_event("a", amount=float("inf")),
        make_event("a", amount=-5.0),  # a negative purchase
        make_event("a", amount=7.0, currency="USD"),
        make_event("a", amount=8.0, currency=None),  # taken as EUR
        make_event("a", event_type="refund", amount=-9.0),
        make_event("a", event_type="refund", amount=9.0),
    )
    _, out, report = assess(customers(), frame, AS_OF, levels=LEVELS)
    assert out.get_column("amount").to_list() == [None, None, None, None, 8.0, 9.0, 9.0]
    assert report.nulled["events.amount:not_finite"] == 2
    assert report.nulled["events.amount:negative"] == 1
    assert report.nulled["events.amount:other_currency"] == 1
    assert report.refund_signs_flipped == 1


def test_currency_check_can_be_turned_off() -> None:
    frame = events(make_event("a", amount=7.0, currency="USD"))
    _, out, _ = assess(
        customers(), frame, AS_OF, QualityConfig(currency=None), levels=LEVELS
    )
    assert out.item(0, "amount") == 7.0


def test_assess_winsorizes_amounts_with_the_configured_k() -> None:
    values = [10.0, 11.0, 12.0, 13.0, 14.0, 1000.0]
    frame = events(*(make_event("a", amount=v) for v in values))
    _, out, report = assess(
        customers(), frame, AS_OF, QualityConfig(iqr_k=1.0), levels=LEVELS
    )
    fences = report.fences["amount"]
    assert fences["k"] == 1.0
    assert out.get_column("amount").max() == fences["high"]
    assert report.winsorized["amount"] == {"below": 0, "above": 1}


def test_assess_keeps_the_schemas() -> None:
    people, acts, _ = assess(
        customers(make_customer("a")), events(make_event("a")), AS_OF, levels=LEVELS
    )
    assert people.schema == pl.Schema(CUSTOMERS_SCHEMA)
    assert acts.schema == pl.Schema(EVENTS_SCHEMA)


def test_schema_error_names_the_column() -> None:
    wrong = events().with_columns(pl.col("occurred_at").dt.replace_time_zone(None))
    with pytest.raises(ValueError, match="occurred_at"):
        assess(customers(), wrong, AS_OF, levels=LEVELS)
    with pytest.raises(ValueError, match="'gender'"):
        assess(customers().drop("gender"), events(), AS_OF, levels=LEVELS)


def test_report_is_plain_json_without_ids() -> None:
    people = customers(make_customer("ent-secret-1", gender="robot"))
    acts = events(make_event("ent-secret-1"), make_event(None, amount=float("nan")))
    _, _, report = assess(people, acts, AS_OF, levels=LEVELS)
    features, imputation = impute(
        build_features(*assess(people, acts, AS_OF, levels=LEVELS)[:2], AS_OF, LEVELS)
    )
    text = json.dumps(report.with_imputation(imputation).as_dict(), allow_nan=False)
    assert "ent-secret" not in text
    assert "cust-" not in text
    assert "evt-" not in text
    data = json.loads(text)
    assert set(data) >= {"rows", "dropped", "nulled", "missing", "fences", "imputation"}
    assert data["imputation"]["recency_days"]["strategy"] == "max"


def test_missing_counts_and_rates_per_column() -> None:
    frame = pl.DataFrame({"x": [1, None, None, 4], "y": ["a", "b", "c", None]})
    assert missing(frame, "f") == {
        "f.x": {"count": 2, "rate": 0.5},
        "f.y": {"count": 1, "rate": 0.25},
    }
    assert missing(frame.clear(), "f")["f.x"] == {"count": 0, "rate": 0.0}


def test_impute_applies_each_strategy() -> None:
    frame = pl.DataFrame(
        {
            "a": [1.0, 2.0, 10.0, None],
            "b": [1.0, 2.0, 10.0, None],
            "c": [1.0, 2.0, 10.0, None],
            "d": [1.0, 2.0, 10.0, None],
            "e": ["x", None, "y", None],
        }
    )
    strategies = {"a": "median", "b": "mean", "c": "max", "d": "zero", "e": "unknown"}
    out, imputation = impute(frame, strategies)
    assert out.row(3) == (2.0, pytest.approx(13 / 3), 10.0, 0.0, "unknown")
    assert out.get_column("e").to_list() == ["x", "unknown", "y", "unknown"]
    assert imputation["a"] == {
        "strategy": "median",
        "value": 2.0,
        "filled": 1,
        "fallback": False,
    }
    assert imputation["e"]["filled"] == 2


def test_impute_rounds_statistics_for_integer_columns() -> None:
    frame = pl.DataFrame({"n": [1, 2, 4, 5, None]}, schema={"n": pl.UInt32})
    out, imputation = impute(frame, {"n": "mean"})
    assert out.schema["n"] == pl.UInt32
    assert out.item(4, "n") == 3
    assert imputation["n"]["value"] == 3


def test_impute_falls_back_to_zero_when_a_column_has_no_values() -> None:
    frame = pl.DataFrame({"r": [None, None]}, schema={"r": pl.Float64})
    out, imputation = impute(frame, {"r": "median"})
    assert out.get_column("r").to_list() == [0.0, 0.0]
    assert imputation["r"]["fallback"] is True


@pytest.mark.parametrize(
    ("strategies", "message"),
    [
        ({"x": "median", "s": "mode"}, "unknown strategy"),
        ({"x": "unknown", "s": "unknown"}, "does not fit"),
        ({"x": "median", "s": "zero"}, "does not fit"),
        ({"x": "median", "s": "unknown", "nope": "zero"}, "nope"),
        ({"x": "median"}, r"\['s'\]"),
    ],
)
def test_impute_refuses_bad_strategies(
    strategies: dict[str, Any], message: str
) -> None:
    frame = pl.DataFrame({"x": [1.0, None], "s": ["a", None]})
    with pytest.raises(ValueError, match=message):
        impute(frame, strategies)


def test_default_strategies_cover_every_feature_and_fill_every_gap() -> None:
    assert set(default_strategies(FEATURES_SCHEMA)) == set(FEATURES_SCHEMA) - {
        "entity_id"
    }
    people = customers(make_customer("a", gender=None, loyalty_tier=None))
    acts = events(make_event("b"), make_event("c", event_type="view", amount=None))
    out, imputation = impute(build_features(people, acts, AS_OF, LEVELS))
    assert out.null_count().row(0) == (0,) * out.width
    assert out.filter(entity_id="a").row(0, named=True)["recency_days"] == 1.0
    assert imputation["recency_days"] == {
        "strategy": "max",
        "value": 1.0,
        "filled": 2,
        "fallback": False,
    }
    assert not math.isnan(out.get_column("monetary_mean").sum())
