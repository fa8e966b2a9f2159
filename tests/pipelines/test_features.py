"""features: per-entity RFM, demographics and context shares, on small known frames."""

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from pipelines.features import (
    REGION_OF_PREFIX,
    build_features,
    category_shares,
    numeric_matrix,
)
from pipelines.frames import REGIONS
from pipelines.quality import impute
from tests.pipelines.rows import (
    CATEGORICAL_LEVELS,
    FEATURES_SCHEMA,
    LEVELS,
    customer_row,
    customers,
    event_row,
    events,
)

AS_OF = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
# 2024-06-10 is a Monday.
MONDAY = datetime(2024, 6, 10, 10, 0, tzinfo=UTC)


make_customer = customer_row


def make_event(entity_id: str, **over: Any) -> dict[str, Any]:
    # Defaults of these tests: a view on Monday, no amount or category.
    return event_row(entity_id, **({"occurred_at": MONDAY} | over))


def features_of(
    customer_rows: list[dict[str, Any]], event_rows: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    frame = build_features(
        customers(*customer_rows), events(*event_rows), AS_OF, LEVELS
    )
    return {row["entity_id"]: row for row in frame.iter_rows(named=True)}


def test_refund_counts_negative_whatever_its_sign() -> None:
    rows = features_of(
        [make_customer("a")],
        [
            make_event("a", event_type="purchase", amount=100.0),
            make_event("a", event_type="purchase", amount=50.0),
            make_event("a", event_type="refund", amount=30.0),
            make_event("a", event_type="refund", amount=-20.0),
            make_event("a", event_type="view", amount=999.0),  # a price seen
        ],
    )
    a = rows["a"]
    assert a["frequency"] == 2
    assert a["monetary_total"] == pytest.approx(100.0)
    assert a["monetary_mean"] == pytest.approx(75.0)
    assert a["n_events"] == 5


def test_monetary_mean_ignores_purchases_without_amount() -> None:
    rows = features_of(
        [],
        [
            make_event("a", event_type="purchase", amount=40.0),
            make_event("a", event_type="purchase", amount=None),
            make_event("b", event_type="purchase", amount=None),
        ],
    )
    assert rows["a"]["frequency"] == 2
    assert rows["a"]["monetary_mean"] == pytest.approx(40.0)
    assert rows["b"]["monetary_mean"] is None
    assert rows["b"]["monetary_total"] == 0.0


def test_entity_without_events_gets_zeros_and_null_recency() -> None:
    rows = features_of([make_customer("quiet")], [make_event("busy")])
    quiet = rows["quiet"]
    assert quiet["recency_days"] is None
    assert quiet["monetary_mean"] is None
    assert quiet["frequency"] == quiet["n_events"] == 0
    assert quiet["monetary_total"] == 0.0
    shares = [v for k, v in quiet.items() if k.startswith("share_")]
    assert shares
    assert all(v == 0.0 for v in shares)


def test_entity_only_in_events_gets_unknown_demographics() -> None:
    rows = features_of([make_customer("a")], [make_event("ghost")])
    ghost = rows["ghost"]
    assert (ghost["age_band"], ghost["region"]) == ("unknown", "unknown")
    assert ghost["gender"] is None
    assert ghost["loyalty_tier"] is None
    assert ghost["n_events"] == 1


def test_one_row_per_entity_sorted_with_the_schema() -> None:
    frame = build_features(
        customers(make_customer("b"), make_customer("b"), make_customer("a")),
        events(make_event("c"), make_event("a"), make_event("a")),
        AS_OF,
        LEVELS,
    )
    assert frame.schema == pl.Schema(FEATURES_SCHEMA)
    assert frame.get_column("entity_id").to_list() == ["a", "b", "c"]


def test_empty_frames_give_an_empty_feature_frame() -> None:
    frame = build_features(customers(), events(), AS_OF, LEVELS)
    assert frame.height == 0
    assert frame.schema == pl.Schema(FEATURES_SCHEMA)


def test_shares_sum_to_one_per_family() -> None:
    rows = features_of(
        [],
        [
            make_event("a", channel="web", device="desktop"),
            make_event("a", channel=None, device="tablet"),
            make_event("a", channel="store", device=None),
            make_event("a", channel="web", device="mobile"),
        ],
    )
    a = rows["a"]
    for family in ("share_channel_", "share_device_", "share_daypart_"):
        total = sum(v for k, v in a.items() if k.startswith(family))
        assert total == pytest.approx(1.0), family
    assert a["share_channel_web"] == pytest.approx(0.5)
    assert a["share_channel_unknown"] == pytest.approx(0.25)
    assert a["share_device_unknown"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("hour", "minute", "part"),
    [
        (0, 0, "night"),
        (5, 59, "night"),
        (6, 0, "morning"),
        (11, 59, "morning"),
        (12, 0, "afternoon"),
        (17, 59, "afternoon"),
        (18, 0, "evening"),
        (23, 59, "evening"),
    ],
)
def test_daypart_by_utc_hour(hour: int, minute: int, part: str) -> None:
    at = MONDAY.replace(hour=hour, minute=minute)
    a = features_of([], [make_event("a", occurred_at=at)])["a"]
    assert a[f"share_daypart_{part}"] == 1.0


def test_weekend_share_counts_saturday_and_sunday() -> None:
    days = [MONDAY + timedelta(days=d) for d in range(7)]  # Monday to Sunday
    a = features_of([], [make_event("a", occurred_at=day) for day in days])["a"]
    assert a["share_weekend"] == pytest.approx(2 / 7)


def test_recency_is_whole_days_since_the_last_purchase() -> None:
    rows = features_of(
        [],
        [
            make_event("a", event_type="purchase", occurred_at=AS_OF - timedelta(10)),
            make_event("a", event_type="purchase", occurred_at=AS_OF - timedelta(3.5)),
            make_event("a", event_type="view", occurred_at=AS_OF - timedelta(1)),
            make_event("b", event_type="refund", occurred_at=AS_OF - timedelta(1)),
        ],
    )
    assert rows["a"]["recency_days"] == 3.0
    assert rows["b"]["recency_days"] is None  # a refund is no purchase


@pytest.mark.parametrize(
    ("birth_year", "band"),
    [
        (2007, "<18"),
        (2006, "18-24"),
        (2000, "18-24"),
        (1999, "25-34"),
        (1990, "25-34"),
        (1989, "35-44"),
        (1980, "35-44"),
        (1979, "45-54"),
        (1970, "45-54"),
        (1969, "55-64"),
        (1960, "55-64"),
        (1959, "65+"),
        (1900, "65+"),
        (None, "unknown"),
    ],
)
def test_age_band_is_the_age_reached_in_the_as_of_year(
    birth_year: int | None, band: str
) -> None:
    rows = features_of([make_customer("a", birth_year=birth_year)], [])
    assert rows["a"]["age_band"] == band


@pytest.mark.parametrize(
    ("prefix", "region"),
    [
        ("75", "ile_de_france"),
        ("93", "ile_de_france"),
        ("69", "auvergne_rhone_alpes"),
        ("13", "provence_alpes_cote_dazur"),
        ("29", "bretagne"),
        ("2A", "corse"),
        ("2B", "corse"),
        ("20", "corse"),  # Corsica's postal codes start with 20
        ("97", "overseas"),
        ("98", "unknown"),
        ("00", "unknown"),
        (None, "unknown"),
    ],
)
def test_region_from_postal_prefix(prefix: str | None, region: str) -> None:
    rows = features_of([make_customer("a", postal_prefix=prefix)], [])
    assert rows["a"]["region"] == region


def test_region_table_covers_every_metropolitan_departement_once() -> None:
    departements = {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B"}
    assert set(REGION_OF_PREFIX) == departements | {"20", "97"}
    metropolitan = {REGION_OF_PREFIX[d] for d in departements}
    assert len(metropolitan) == 13
    assert set(REGION_OF_PREFIX.values()) <= set(REGIONS)


def test_customer_records_combine_by_most_common_value() -> None:
    records = [
        make_customer("a", birth_year=1980, gender="male", loyalty_tier="gold"),
        make_customer("a", birth_year=1990, gender=None, loyalty_tier="silver"),
        make_customer("a", birth_year=1990, gender=None, loyalty_tier=None),
        # Ties go to the smallest value: bronze < silver, "13" < "75".
        make_customer("b", postal_prefix="75", loyalty_tier="silver"),
        make_customer("b", postal_prefix="13", loyalty_tier="bronze"),
    ]
    # The input order does not matter.
    for shift in range(len(records)):
        rows = features_of(records[shift:] + records[:shift][::-1], [])
        a, b = rows["a"], rows["b"]
        assert (a["age_band"], a["gender"]) == ("25-34", "male")
        assert a["loyalty_tier"] == "gold"  # 1 gold, 1 silver: tie, gold < silver
        assert (b["region"], b["loyalty_tier"]) == (
            "provence_alpes_cote_dazur",
            "bronze",
        )


def test_schema_error_names_the_column() -> None:
    wrong = customers(make_customer("a")).with_columns(
        pl.col("birth_year").cast(pl.Int64)
    )
    with pytest.raises(ValueError, match="birth_year"):
        build_features(wrong, events(), AS_OF, LEVELS)
    with pytest.raises(ValueError, match="'channel'"):
        build_features(customers(), events().drop("channel"), AS_OF, LEVELS)


def test_naive_as_of_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        build_features(customers(), events(), datetime(2024, 1, 1), LEVELS)  # noqa: DTZ001


def test_numeric_matrix_one_hot_encodes_and_keeps_row_order() -> None:
    frame = build_features(
        customers(make_customer("a", gender="male"), make_customer("b")),
        events(make_event("a", event_type="purchase", amount=12.5)),
        AS_OF,
        LEVELS,
    )
    filled, _ = impute(frame)
    matrix, names = numeric_matrix(filled, LEVELS)
    n_levels = sum(len(levels) for levels in CATEGORICAL_LEVELS.values())
    assert matrix.dtype == np.float64
    assert matrix.shape == (
        2,
        n_levels + len(FEATURES_SCHEMA) - 1 - len(CATEGORICAL_LEVELS),
    )
    assert len(names) == len(set(names)) == matrix.shape[1]
    row = dict(zip(names, matrix[0], strict=True))  # entity "a"
    assert row["gender=male"] == 1.0
    assert row["gender=female"] == 0.0
    assert row["region=ile_de_france"] == 1.0
    assert row["monetary_total"] == 12.5
    # Exactly one level set per categorical, for every row.
    for name in CATEGORICAL_LEVELS:
        cols = [i for i, n in enumerate(names) if n.startswith(f"{name}=")]
        assert (matrix[:, cols].sum(axis=1) == 1.0).all()


def test_numeric_matrix_refuses_nulls_before_imputation() -> None:
    frame = build_features(
        customers(make_customer("a", gender=None)), events(), AS_OF, LEVELS
    )
    with pytest.raises(ValueError, match="gender"):
        numeric_matrix(frame, LEVELS)


def test_numeric_matrix_refuses_an_unknown_level() -> None:
    frame, _ = impute(
        build_features(customers(make_customer("a")), events(), AS_OF, LEVELS)
    )
    with pytest.raises(ValueError, match="gender"):
        numeric_matrix(frame.with_columns(gender=pl.lit("robot")), LEVELS)


def test_category_shares_keep_only_labels_common_enough() -> None:
    # "Books" is bought by three people, "Garden" by two, a free-text label
    # by one: with a floor of two people, the rare label is only "other".
    events = pl.DataFrame(
        {
            "entity_id": ["a", "a", "b", "b", "c", "c", "c", "a"],
            "category": [
                " Books ",
                "garden",
                "books",
                "Garden",
                "BOOKS",
                "Jean's diary",
                None,
                None,
            ],
        }
    )
    ids = pl.Series(["a", "b", "c", "d"])
    matrix, names = category_shares(events, ids, min_entities=2)
    assert names == [
        "share_category_books",
        "share_category_garden",
        "share_category_other",
    ]
    np.testing.assert_allclose(
        matrix,
        [[1 / 3, 1 / 3, 0.0], [0.5, 0.5, 0.0], [1 / 3, 0.0, 1 / 3], [0.0, 0.0, 0.0]],
    )


def test_no_common_category_gives_no_column() -> None:
    events = pl.DataFrame({"entity_id": ["a"], "category": ["rare"]})
    matrix, names = category_shares(events, pl.Series(["a", "b"]), min_entities=2)
    assert names == []
    assert matrix.shape == (2, 0)
