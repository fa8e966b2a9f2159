"""SQL for API clients."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.storage.models import ClientRow


def add(session: Session, row: ClientRow) -> ClientRow:
    """Insert a client."""
    session.add(row)
    session.flush()
    return row


def by_name(session: Session, name: str) -> ClientRow | None:
    """The client with this name, revoked or not."""
    return session.scalars(select(ClientRow).where(ClientRow.name == name)).first()


def by_key_id(session: Session, key_id: str) -> ClientRow | None:
    """The client whose API key carries this key id."""
    return session.scalars(select(ClientRow).where(ClientRow.key_id == key_id)).first()


def by_id(session: Session, client_id: str) -> ClientRow | None:
    """The client with this id."""
    return session.get(ClientRow, client_id)


def revoke(session: Session, client_id: str, now: datetime) -> None:
    """Mark a client revoked; its keys and tokens are refused from now on."""
    session.execute(
        update(ClientRow).where(ClientRow.id == client_id).values(revoked_at=now)
    )
