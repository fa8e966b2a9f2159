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
