"""holdout: keyed draws are stable, independent per audience, never in campaigns."""

import hashlib
import hmac

import numpy as np
import polars as pl
import pytest

from pipelines.holdout import holdout_draws, in_holdout, split_holdout

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
