"""Time-ordered identifiers (UUID version 7, RFC 9562).

Records, vault rows and audit events are keyed by these: ids that grow with
time land at the end of their B-tree indexes, where random UUIDs (v4) would
scatter every insert across a table that outgrows the page cache.
"""

import os
from datetime import datetime

import numpy as np

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


# The 32 hex digits' places in the 36-character form (dashes at 8, 13, 18, 23).
_DIGIT_PLACES = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def uuid7_many(now: datetime, count: int) -> list[str]:
    """`count` UUIDv7 strings of one instant: one clock read, one urandom call.

    The bytes are set and spelt out for the whole batch at once (numpy): a
    request asks for one per record and one per audit event, and spelling
    each through a 128-bit integer cost about a microsecond.
    """
    millis = (int(now.timestamp() * 1000) & _MILLIS_MASK).to_bytes(6, "big")
    # A bytearray, so that the array over it can be written in place.
    noise = bytearray(os.urandom(16 * count))
    raw = np.frombuffer(noise, dtype=np.uint8).reshape(count, 16)
    raw[:, :6] = np.frombuffer(millis, dtype=np.uint8)
    raw[:, 6] = 0x70 | (raw[:, 6] & 0x0F)  # version 7
    raw[:, 8] = 0x80 | (raw[:, 8] & 0x3F)  # variant 10 (RFC 9562)
    text = np.full((count, 36), ord("-"), dtype=np.uint8)
    digits = np.empty((count, 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 0x0F]
    text[:, _DIGIT_PLACES] = digits
    spelt = text.tobytes().decode("ascii")
    return [spelt[start : start + 36] for start in range(0, 36 * count, 36)]
