"""Time-ordered identifiers (UUID version 7, RFC 9562).

Records, vault rows and audit events are keyed by these: ids that grow with
time land at the end of their B-tree indexes, where random UUIDs (v4) would
scatter every insert across a table that outgrows the page cache.
"""

import secrets
import uuid
from datetime import datetime


def uuid7(now: datetime) -> str:
    """A UUIDv7 string: 48-bit Unix milliseconds, then 74 random bits."""
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    rand_a = secrets.randbits(12)
    rand_b = secrets.randbits(62)
    value = (millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))
