"""Time-ordered identifiers (UUID version 7, RFC 9562).

Records, vault rows and audit events are keyed by these: ids that grow with
time land at the end of their B-tree indexes, where random UUIDs (v4) would
scatter every insert across a table that outgrows the page cache.
"""

import os
from datetime import datetime

_MILLIS_MASK = (1 << 48) - 1
_CLEAR_VERSION_VARIANT = ~((0xF << 76) | (0x3 << 62))
_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0x2 << 62


def uuid7(now: datetime) -> str:
    """A UUIDv7 string: 48-bit Unix milliseconds, version, variant, 74 random bits."""
    millis = int(now.timestamp() * 1000) & _MILLIS_MASK
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & _CLEAR_VERSION_VARIANT) | _VERSION_7 | _VARIANT_RFC
    digits = f"{value:032x}"
    # Formatted by hand: uuid.UUID(int=...) costs several times more per call.
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def uuid7_many(now: datetime, count: int) -> list[str]:
    """`count` UUIDv7 strings of one instant: one clock read, one urandom call."""
    millis = (int(now.timestamp() * 1000) & _MILLIS_MASK) << 80
    noise = os.urandom(10 * count)
    ids = []
    for start in range(0, 10 * count, 10):
        value = millis | int.from_bytes(noise[start : start + 10], "big")
        value = (value & _CLEAR_VERSION_VARIANT) | _VERSION_7 | _VARIANT_RFC
        digits = f"{value:032x}"
        ids.append(
            f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
        )
    return ids
