"""holdout: a keyed, deterministic A/B holdout draw per person and audience (pure).

Lift is measured against people who were eligible but not targeted. Each
person's draw is ``HMAC-SHA256(key, audience || 0x00 || person_id)``, its
first 53 bits read as a number in [0, 1); the person is held out when the
draw is under the audience's share. So:

- the same person, audience and key give the same draw in every run (no
  state to keep, no reshuffle when the population changes);
- two audiences draw independently (the audience is in the MAC), so one
  campaign's control group is not every campaign's;
- without the key nobody can tell who is held out, nor steer a person in
  or out by choosing an id.

The 0x00 byte ends the audience name (policy names never hold it), so no
audience and id pair can read as another. The draw is over the audience, not
per segment, so a held-out person is held out of every campaign segment of
that audience at once.
"""

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

MIN_KEY_BYTES = 16
# A double holds 53 bits of mantissa: 53 bits map to [0, 1) exactly.
_BITS = 53


def holdout_draws(
    key: bytes, audience: str, person_ids: Iterable[str]
) -> NDArray[np.float64]:
    """Return each person's draw in [0, 1) for this audience.

    Args:
        key: The audience holdout key (at least `MIN_KEY_BYTES` bytes).
        audience: The audience name.
        person_ids: Pseudonymous person (entity) ids.

    Raises:
        ValueError: The key is too short or the audience name is empty or
            holds a 0x00 byte.
    """
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"a holdout key needs at least {MIN_KEY_BYTES} bytes")
    if not audience or "\x00" in audience:
        raise ValueError("the audience name must be non-empty, without NUL")
    # One MAC state over key and audience, copied per person: the key schedule
    # and the prefix are hashed once, not once per person.
    prefix = hmac.new(key, audience.encode() + b"\x00", hashlib.sha256)
    draws = []
    for person in person_ids:
        mac = prefix.copy()
        mac.update(person.encode())
        draws.append(int.from_bytes(mac.digest()[:8], "big") >> (64 - _BITS))
    return np.asarray(draws, dtype=np.float64) / float(1 << _BITS)


def in_holdout(
    key: bytes, audience: str, person_ids: Iterable[str], share: float
) -> NDArray[np.bool_]:
    """Return whether each person is held out of the audience's campaigns.

    Args:
        key: The audience holdout key.
        audience: The audience name.
        person_ids: Pseudonymous person ids.
        share: The audience's holdout share, in [0, 1).

    Raises:
        ValueError: The share is outside [0, 1), or as `holdout_draws`.
    """
    if not 0.0 <= share < 1.0:
        raise ValueError("a holdout share must be in [0, 1)")
    return holdout_draws(key, audience, person_ids) < share


def split_holdout(
    members: pl.DataFrame, key: bytes, audience: str, share: float
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a segment's members into campaign and holdout members.

    Args:
        members: Rows with an ``entity_id`` column (other columns kept).
        key: The audience holdout key.
        audience: The audience name.
        share: The audience's holdout share, in [0, 1).

    Returns:
        ``(campaign, holdout)``: disjoint, together every row of `members`,
        each in the order of `members`.
    """
    held = pl.Series(in_holdout(key, audience, members["entity_id"], share))
    return members.filter(~held), members.filter(held)


HOLDOUT_SEGMENT = "holdout"
# Level 0: outside the campaign hierarchy (levels 1 and below), so no
# campaign segment is its parent nor its child, and the floor's remainder
# rule, which compares a parent with its children, never pairs it with one.
HOLDOUT_LEVEL = 0
HOLDOUT_DESCRIPTION = (
    "A/B holdout: people drawn at random (a keyed draw, the same in every run) "
    "and kept out of every campaign segment of the audience, to measure lift"
)


@dataclass(frozen=True)
class HoldoutSplit:
    """The campaign memberships and the holdout segment of one run.

    Attributes:
        memberships: The campaign memberships, without any held-out person.
        holdout: ``entity_id``, ``segment_id``, ``level``, ``parent_id`` of
            the holdout segment's members; empty when there is no holdout or
            it is under the floor.
        report: Counts only: share, people drawn, whether exported.
    """

    memberships: pl.DataFrame
    holdout: pl.DataFrame
    report: dict[str, Any]


def hold_out(
    memberships: pl.DataFrame,
    entity_ids: pl.Series,
    *,
    key: bytes,
    audience: str,
    share: float,
    k_min: int,
) -> HoldoutSplit:
    """Draw the audience's holdout and take it out of every campaign segment.

    Everyone the run describes is drawn, members of a segment or not, so the
    holdout is a random sample of the audience, as lift needs. A holdout with
    fewer than `k_min` people is suppressed like any small segment: its
    people stay out of the campaign segments all the same (the draw decides
    who is targeted, the floor only what is exported).

    Args:
        memberships: ``entity_id``, ``segment_id``, ``level``, ``parent_id``.
        entity_ids: Everyone in the run.
        key: The audience holdout key (`gateway.crypto.keyring.holdout_key`).
        audience: The audience name.
        share: The audience policy's ``holdout_share`` (0: no holdout).
        k_min: The audience's floor.
    """
    columns = {
        "entity_id": pl.String,
        "segment_id": pl.String,
        "level": pl.Int64,
        "parent_id": pl.String,
    }
    if share == 0:
        empty = pl.DataFrame(schema=columns)
        return HoldoutSplit(memberships, empty, {"share": 0.0, "held_out": 0})
    held = entity_ids.filter(pl.Series(in_holdout(key, audience, entity_ids, share)))
    exported = held.len() >= k_min
    holdout = pl.DataFrame(
        {
            "entity_id": held if exported else held.clear(),
            "segment_id": HOLDOUT_SEGMENT,
            "level": HOLDOUT_LEVEL,
            "parent_id": None,
        },
        schema=columns,
    )
    campaign = memberships.filter(~pl.col("entity_id").is_in(held.implode()))
    report = {
        "share": share,
        "held_out": held.len(),
        "exported": exported,
        "segment_id": HOLDOUT_SEGMENT if exported else None,
        "level": HOLDOUT_LEVEL,
        "removed_memberships": memberships.height - campaign.height,
    }
    return HoldoutSplit(campaign, holdout.sort("entity_id"), report)


def holdout_segment(split: HoldoutSplit) -> pl.DataFrame:
    """The holdout's segment row (none when not exported), for the segment table."""
    size = split.holdout.height
    return pl.DataFrame(
        {
            "segment_id": [HOLDOUT_SEGMENT] if size else [],
            "level": [HOLDOUT_LEVEL] if size else [],
            "parent_id": [None] if size else [],
            "size": [size] if size else [],
            "method": ["holdout"] if size else [],
            "description": [HOLDOUT_DESCRIPTION] if size else [],
        },
        schema={
            "segment_id": pl.String,
            "level": pl.Int64,
            "parent_id": pl.String,
            "size": pl.Int64,
            "method": pl.String,
            "description": pl.String,
        },
    )
