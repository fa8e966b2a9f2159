"""Audit events and their canonical bytes: pure functions (hashlib and orjson).

An event holds opaque references (pseudonyms, record ids, field names,
reasons), never personal data: the log is never erased, so anything personal
written here would outlive an erasure request.
"""

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from gateway.audit.merkle import leaf_hash

CANONICAL_VERSION = 1
GENESIS_CHAIN = bytes(32)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What happened, by whom, to which pseudonymous subject, under which policy."""

    actor: str
    action: str
    subject_id: str | None = None
    purpose: str | None = None
    dataset: str | None = None
    record_id: str | None = None
    reason: str | None = None
    policy_version: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class SealedEvent(NamedTuple):
    """An event placed in the log: its position, bytes and hashes.

    A NamedTuple, immutable like the frozen dataclasses elsewhere, because one
    is made per event: it is built in C, where a frozen dataclass sets each
    field through a Python call (about three times the cost).
    """

    seq: int
    event_id: str
    occurred_at: str
    event: AuditEvent
    canonical: bytes
    leaf_hash: bytes
    chain_hash: bytes


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no spaces: the bytes that are hashed.

    orjson writes exactly that (non-ASCII as UTF-8, not escaped) several times
    faster than the json module, which matters at one event per record.
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def canonical_bytes(
    seq: int, event_id: str, occurred_at: str, event: AuditEvent
) -> bytes:
    """Serialize an event at its log position."""
    return canonical_json(
        {
            "v": CANONICAL_VERSION,
            "seq": seq,
            "event_id": event_id,
            "occurred_at": occurred_at,
            "actor": event.actor,
            "action": event.action,
            "subject_id": event.subject_id,
            "purpose": event.purpose,
            "dataset": event.dataset,
            "record_id": event.record_id,
            "reason": event.reason,
            "policy_version": event.policy_version,
            "details": event.details,
        }
    )


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    """Link a leaf to everything before it, so a reorder or removal shows."""
    return hashlib.sha256(previous + leaf).digest()


def seal(
    seq: int, event_id: str, occurred_at: str, event: AuditEvent, previous: bytes
) -> SealedEvent:
    """Fix an event at position `seq` after the chain hash `previous`."""
    data = canonical_bytes(seq, event_id, occurred_at, event)
    leaf = leaf_hash(data)
    return SealedEvent(
        seq, event_id, occurred_at, event, data, leaf, chain_hash(previous, leaf)
    )
