"""Tell a partner's retry of a request from a reuse of its Idempotency-Key.

A retried request must get the reply it was first given, never a second
processing (records written twice, withdrawals recorded twice); a key sent
again with another request must be refused rather than answered with a reply
that was about something else. What counts as the same request lives here.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.context import GatewayContext
from gateway.errors import ConflictError
from gateway.ingest.receipt import Receipt
from gateway.storage import idempotency_repo

# Idempotent replies are stored with the HTTP status they were sent with:
# a receipt always goes out as 200 (a refused request stores no reply).
_RECEIPT_STATUS = 200


def request_hashes(ctx: GatewayContext, body: Any) -> tuple[str, ...]:
    """The body's digest under every pseudonym key, the active key's first.

    A request first sent before a rotation of the pseudonym key and replayed
    after it is still the same request.
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return tuple(key("idempotency", digest)[-64:] for key in ctx.pseudonymizers)


def batch_digests(
    ctx: GatewayContext, dataset: str, body: dict[str, Any], gpc: bool
) -> tuple[str, ...]:
    """Every digest the batch may have been stored under, the one to store first."""
    # A GPC request writes withdrawals: not the same request as its bare body.
    hashed = {"body": body, "sec_gpc": "1"} if gpc else body
    # The dataset is part of the request: one key and body sent to another
    # dataset must not replay the first dataset's receipt (records said
    # accepted, nothing stored there). Digests of the body alone, as stored
    # before the dataset counted, are still recognised as the same request.
    return request_hashes(
        ctx, {"dataset": dataset, "request": hashed}
    ) + request_hashes(ctx, hashed)


def stored_reply(
    session: Session, client_id: str, key: str, digests: tuple[str, ...]
) -> Receipt | None:
    """The receipt already given for this key, marked replayed; None if none.

    Raises:
        ConflictError: The key was used with another body.
    """
    stored = idempotency_repo.find(session, client_id, key)
    if stored is None:
        return None
    if stored.request_hash not in digests:
        raise ConflictError("this Idempotency-Key was used with another body")
    return Receipt.replay_of(json.loads(stored.response))


def save_reply(
    session: Session,
    client_id: str,
    key: str,
    digest: str,
    receipt: Receipt,
    now: datetime,
) -> None:
    """Keep the receipt for a retry, in the transaction that wrote its records."""
    idempotency_repo.save(
        session,
        client_id,
        key,
        digest,
        _RECEIPT_STATUS,
        json.dumps(receipt.as_dict()).encode(),
        now,
    )
