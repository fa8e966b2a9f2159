"""SQL that tells which identifier pseudonyms the data already goes by."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.storage.lookup import key_batches, member_of
from gateway.storage.models import ConsentEventRow, SubjectKeyRow


def known(session: Session, pseudonyms: Iterable[str]) -> set[str]:
    """Those of `pseudonyms` that a consent event or a subject's data key carries.

    Both lookups are index probes: consent events lead their lookup index
    with the identifier key, subject keys are keyed by subject id.
    """
    found: set[str] = set()
    for chunk in key_batches(session, pseudonyms):
        found.update(
            session.scalars(
                select(ConsentEventRow.identifier_key)
                .where(member_of(session, ConsentEventRow.identifier_key, chunk))
                .distinct()
            )
        )
        found.update(
            session.scalars(
                select(SubjectKeyRow.subject_id).where(
                    member_of(session, SubjectKeyRow.subject_id, chunk)
                )
            )
        )
    return found
