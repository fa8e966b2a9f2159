"""SQL for stored first responses to Idempotency-Keys."""

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gateway.storage.models import IdempotencyRow


def find(session: Session, client_id: str, key: str) -> IdempotencyRow | None:
    """The stored response for this client's key, if any."""
    stmt = select(IdempotencyRow).where(
        IdempotencyRow.client_id == client_id, IdempotencyRow.key == key
    )
    return session.scalars(stmt).first()


def save(
    session: Session,
    client_id: str,
    key: str,
    request_hash: str,
    status_code: int,
    response: bytes,
    now: datetime,
) -> None:
    """Store the first response (a concurrent twin fails on the primary key)."""
    session.execute(
        insert(IdempotencyRow).values(
            client_id=client_id,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response=response,
            created_at=now,
        )
    )
