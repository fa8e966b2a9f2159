"""holdout: keyed draws are stable, independent per audience, never in campaigns."""

import hashlib
import hmac

import numpy as np
import polars as pl
import pytest

from pipelines.holdout import (
    HOLDOUT_LEVEL,
    HOLDOUT_SEGMENT,
    hold_out,
    holdout_draws,
    holdout_segment,
    in_holdout,
    split_holdout,
)
from pipelines.k_floor import enforce_floor

# Fixed keys keep the statistical checks reproducible (each sits 4 standard
# deviations or more from its bound).
KEY = hashlib.sha256(b"holdout test key").digest()
OTHER_KEY = hashlib.sha256(b"another holdout test key").digest()
PEOPLE = [f"ent-{i:06d}" for i in range(20000)]


def members(ids: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"entity_id": ids, "segment_id": ["S"] * len(ids)})


def test_draw_is_the_hmac_of_audience_and_person_read_as_a_fraction() -> None:
    digest = hmac.new(KEY, b"retail_default\x00ent-000042", hashlib.sha256).digest()
    expected = (int.from_bytes(digest[:8], "big") >> 11) / 2**53
    assert holdout_draws(KEY, "retail_default", ["ent-000042"]).tolist() == [expected]


def test_draws_are_stable_across_calls_and_orders() -> None:
    first = holdout_draws(KEY, "retail_default", PEOPLE)
    again = holdout_draws(KEY, "retail_default", PEOPLE[::-1])[::-1]
    np.testing.assert_array_equal(first, again)
    assert ((first >= 0) & (first < 1)).all()


def test_the_share_held_out_matches_the_policy_share() -> None:
    for share in (0.05, 0.1, 0.5):
        held = in_holdout(KEY, "retail_default", PEOPLE, share)
        # Binomial standard deviation at 20 000 people is 0.0035 at most.
        assert abs(held.mean() - share) < 0.015


def test_audiences_draw_independently() -> None:
    one = in_holdout(KEY, "retail_default", PEOPLE, 0.5)
    two = in_holdout(KEY, "retail_promo", PEOPLE, 0.5)
    assert (one != two).any()
    # Independent halves overlap on a quarter of the people.
    assert abs((one & two).mean() - 0.25) < 0.015


def test_another_key_gives_another_draw() -> None:
    one = holdout_draws(KEY, "retail_default", PEOPLE)
    two = holdout_draws(OTHER_KEY, "retail_default", PEOPLE)
    assert abs(np.corrcoef(one, two)[0, 1]) < 0.05


def test_split_is_disjoint_and_complete() -> None:
    segment = members(PEOPLE[:5000])
    campaign, holdout = split_holdout(segment, KEY, "retail_default", 0.1)
    campaign_ids = set(campaign["entity_id"])
    holdout_ids = set(holdout["entity_id"])
    assert not campaign_ids & holdout_ids
    assert campaign_ids | holdout_ids == set(segment["entity_id"])
    assert 300 < len(holdout_ids) < 700
    assert campaign.columns == segment.columns


def test_a_person_is_held_out_of_every_segment_of_the_audience_or_none() -> None:
    _, held_a = split_holdout(members(PEOPLE[:8000]), KEY, "retail_default", 0.2)
    _, held_b = split_holdout(members(PEOPLE[4000:]), KEY, "retail_default", 0.2)
    shared = set(PEOPLE[4000:8000])
    assert set(held_a["entity_id"]) & shared == set(held_b["entity_id"]) & shared


def test_a_run_later_holds_out_the_same_people() -> None:
    _, before = split_holdout(members(PEOPLE[:10000]), KEY, "retail_default", 0.1)
    # New people arrived and some left: those in both runs keep their draw.
    _, after = split_holdout(members(PEOPLE[5000:]), KEY, "retail_default", 0.1)
    stayed = set(PEOPLE[5000:10000])
    assert set(before["entity_id"]) & stayed == set(after["entity_id"]) & stayed


def test_refuses_short_keys_bad_shares_and_nul_in_audience() -> None:
    with pytest.raises(ValueError, match="bytes"):
        holdout_draws(b"short", "retail_default", PEOPLE[:1])
    with pytest.raises(ValueError, match="share"):
        in_holdout(KEY, "retail_default", PEOPLE[:1], 1.0)
    with pytest.raises(ValueError, match="NUL"):
        holdout_draws(KEY, "retail\x00default", PEOPLE[:1])


def two_levels(ids: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Everyone in L1-01, split in half between L1-01.1 and L1-01.2."""
    half = len(ids) // 2
    memberships = pl.DataFrame(
        {
            "entity_id": ids + ids,
            "segment_id": ["L1-01"] * len(ids)
            + ["L1-01.1"] * half
            + ["L1-01.2"] * (len(ids) - half),
            "level": [1] * len(ids) + [2] * len(ids),
            "parent_id": [None] * len(ids) + ["L1-01"] * len(ids),
        }
    )
    segments = pl.DataFrame(
        {
            "segment_id": ["L1-01", "L1-01.1", "L1-01.2"],
            "level": [1, 2, 2],
            "parent_id": [None, "L1-01", "L1-01"],
            "centroid": [[0.0], [-1.0], [1.0]],
        }
    )
    return memberships, segments


def test_the_run_holdout_leaves_every_level_and_is_a_segment_of_its_own() -> None:
    ids = PEOPLE[:3000]
    memberships, segments = two_levels(ids)
    split = hold_out(
        memberships,
        pl.Series(ids),
        key=KEY,
        audience="retail_default",
        share=0.1,
        k_min=50,
    )
    held = set(split.holdout["entity_id"])
    assert held == set(
        pl.Series(ids).filter(in_holdout(KEY, "retail_default", ids, 0.1))
    )
    assert held.isdisjoint(split.memberships["entity_id"])
    assert set(split.holdout["segment_id"]) == {HOLDOUT_SEGMENT}
    assert set(split.holdout["level"]) == {HOLDOUT_LEVEL}
    # The campaign hierarchy still passes the floor's checks without them.
    kept, _, _ = enforce_floor(split.memberships, segments, 50)
    assert held.isdisjoint(kept["entity_id"])
    row = holdout_segment(split).row(0, named=True)
    assert (row["segment_id"], row["level"], row["size"]) == (
        HOLDOUT_SEGMENT,
        0,
        len(held),
    )
    assert split.report["held_out"] == len(held)
    assert split.report["exported"]


def test_a_holdout_under_the_floor_is_suppressed_but_still_held_out() -> None:
    ids = PEOPLE[:200]
    memberships, _ = two_levels(ids)
    split = hold_out(
        memberships,
        pl.Series(ids),
        key=KEY,
        audience="retail_default",
        share=0.05,
        k_min=100,
    )
    drawn = set(pl.Series(ids).filter(in_holdout(KEY, "retail_default", ids, 0.05)))
    assert drawn
    assert split.holdout.height == 0
    assert holdout_segment(split).height == 0
    assert drawn.isdisjoint(split.memberships["entity_id"])
    assert split.report == split.report | {"exported": False, "held_out": len(drawn)}


def test_no_share_no_holdout() -> None:
    memberships, _ = two_levels(PEOPLE[:100])
    split = hold_out(
        memberships,
        pl.Series(PEOPLE[:100]),
        key=KEY,
        audience="retail_default",
        share=0.0,
        k_min=10,
    )
    assert split.memberships.equals(memberships)
    assert split.holdout.height == 0
