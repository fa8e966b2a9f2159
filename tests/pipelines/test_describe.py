"""describe: crafted feature profiles read as the expected marketing labels."""

import numpy as np
import polars as pl
import pytest

from pipelines.describe import (
    FALLBACK,
    NO_DIFFERENCE,
    describe_profile,
    describe_segments,
    describe_z,
    stored_description,
)

COLUMNS = [
    "recency_days",
    "frequency",
    "monetary_total",
    "monetary_mean",
    "n_events",
    "share_channel_web",
    "share_channel_app",
    "share_channel_store",
    "share_channel_unknown",
    "share_device_mobile",
    "share_weekend",
    "age_band=25-34",
    "age_band=unknown",
    "region=ile_de_france",
    "gender=female",
    "loyalty_tier=gold",
]


def profile(**z: float) -> list[float]:
    """Z-scores by column; keyword names use _ for "=" and "-" in column names."""
    keys = [c.replace("=", "_").replace("-", "_") for c in COLUMNS]
    unknown = set(z) - set(keys)
    assert not unknown, unknown
    return [z.get(key, 0.0) for key in keys]


@pytest.mark.parametrize(
    ("z", "label"),
    [
        (
            profile(share_channel_app=1.6, frequency=1.1, monetary_mean=-0.9),
            "app-first, frequent small baskets",
        ),
        (
            profile(
                share_channel_store=1.4,
                recency_days=1.2,
                monetary_total=1.3,
                monetary_mean=0.6,
            ),
            "in-store, lapsed high spenders",
        ),
        (
            profile(age_band_25_34=1.1, share_channel_web=0.9, share_weekend=0.8),
            "young, web, weekend shoppers",
        ),
        (profile(age_band_25_34=1.1, share_channel_web=0.9), "young, web shoppers"),
        (
            profile(region_ile_de_france=2.0, frequency=-0.8),
            "occasional shoppers from ile de france",
        ),
        (
            profile(gender_female=0.7, loyalty_tier_gold=0.9, recency_days=-1.0),
            "female, gold-tier, recent shoppers",
        ),
    ],
)
def test_describes_crafted_profiles(z: list[float], label: str) -> None:
    assert describe_z(z, COLUMNS) == label


def test_nothing_salient_gives_the_fallback() -> None:
    assert (
        describe_z(profile(frequency=0.3, share_channel_app=-0.4), COLUMNS) == FALLBACK
    )


def test_under_represented_shares_and_unknown_levels_are_not_traits() -> None:
    z = profile(share_channel_app=-2.0, age_band_unknown=3.0, share_channel_unknown=3.0)
    assert describe_z(z, COLUMNS) == FALLBACK


def test_keeps_only_the_strongest_traits() -> None:
    z = profile(
        share_channel_app=3.0,
        frequency=2.5,
        monetary_mean=-2.0,
        share_weekend=0.6,
        age_band_25_34=0.7,
    )
    assert describe_z(z, COLUMNS, max_traits=3) == "app-first, frequent small baskets"


def test_label_does_not_depend_on_column_order() -> None:
    z = profile(share_channel_store=1.4, recency_days=1.2, monetary_total=1.3)
    order = np.random.default_rng(0).permutation(len(COLUMNS))
    shuffled = [COLUMNS[i] for i in order]
    assert describe_z(np.asarray(z)[order], shuffled) == describe_z(z, COLUMNS)


def test_profile_is_measured_against_the_population() -> None:
    means = np.zeros(len(COLUMNS))
    stds = np.ones(len(COLUMNS))
    segment = means.copy()
    segment[COLUMNS.index("share_channel_app")] = 0.4
    stds[COLUMNS.index("share_channel_app")] = 0.2
    segment[COLUMNS.index("frequency")] = 9.0
    stds[COLUMNS.index("frequency")] = 0.0  # constant feature: never a trait
    assert describe_profile(segment, means, stds, COLUMNS) == "app-first shoppers"


def test_rejects_a_profile_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="one z-score per column"):
        describe_z([1.0, 2.0], COLUMNS)


def test_describe_segments_labels_each_centroid() -> None:
    segments = pl.DataFrame(
        {
            "segment_id": ["L1-01", "L1-02", "L1-03"],
            "centroid": [
                profile(share_channel_app=1.6, frequency=1.1, monetary_mean=-0.9),
                profile(),
                None,
            ],
        },
        schema_overrides={"centroid": pl.List(pl.Float64)},
    )
    described = describe_segments(segments, COLUMNS)
    assert described["description"].to_list() == [
        "app-first, frequent small baskets",
        FALLBACK,
        None,
    ]


def test_children_are_told_apart_from_their_parent_and_siblings() -> None:
    # Both children are app-first like their parent; one buys often, the
    # other rarely: against the population both read "app-first", against
    # the parent and each other only frequency tells them apart.
    parent = profile(share_channel_app=1.5)
    often = profile(share_channel_app=1.5, frequency=1.0)
    rarely = profile(share_channel_app=1.5, frequency=-1.0)
    segments = pl.DataFrame(
        {
            "segment_id": ["L1-01", "L1-02", "L1-01.1", "L1-01.2"],
            "level": [1, 1, 2, 2],
            "parent_id": [None, None, "L1-01", "L1-01"],
            "size": [400, 600, 200, 200],
            "centroid": [parent, profile(share_channel_app=-1.0), often, rarely],
        },
        schema_overrides={"centroid": pl.List(pl.Float64)},
    )
    described = describe_segments(segments, COLUMNS).rows_by_key(
        "segment_id", named=True, unique=True
    )
    assert described["L1-01.1"]["description"] == "app-first, frequent shoppers"
    assert described["L1-01.1"]["versus_parent"] == "frequent shoppers"
    assert described["L1-01.2"]["versus_parent"] == "occasional shoppers"
    assert described["L1-01.1"]["versus_siblings"] == "frequent shoppers"
    assert described["L1-01.2"]["versus_siblings"] == "occasional shoppers"
    # Level 1: the parent is the population; siblings are the other level-1s.
    assert described["L1-01"]["versus_parent"] is None
    assert described["L1-01"]["versus_siblings"] == "app-first shoppers"


def test_a_child_like_its_parent_says_so() -> None:
    same = profile(share_channel_app=1.5)
    segments = pl.DataFrame(
        {
            "segment_id": ["L1-01", "L1-01.1"],
            "level": [1, 2],
            "parent_id": [None, "L1-01"],
            "centroid": [same, same],
        },
        schema_overrides={"centroid": pl.List(pl.Float64)},
    )
    described = describe_segments(segments, COLUMNS)
    assert described["versus_parent"].to_list() == [None, NO_DIFFERENCE]
    assert described["versus_siblings"].to_list() == [None, None]


def test_common_category_shares_are_preferences() -> None:
    columns = [*COLUMNS, "share_category_home_garden", "share_category_other"]
    z = [*profile(share_channel_app=1.0), 1.2, 2.0]
    assert describe_z(z, columns) == "app-first, home garden-leaning shoppers"


def test_the_stored_description_joins_population_parent_and_siblings() -> None:
    frame = pl.DataFrame(
        {
            "description": ["big spenders", "app users"],
            "versus_parent": [None, "younger"],
            "versus_siblings": [None, "more mobile"],
        }
    )
    stored = frame.select(stored_description(frame))["description"].to_list()
    assert stored == [
        "big spenders",
        "app users; against its parent: younger; against its siblings: more mobile",
    ]
