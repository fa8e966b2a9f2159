"""Consent locks: a consent write waits for decisions in flight on its identifiers."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gateway.storage import consent_repo
from gateway.storage.db import make_engine
from tests.databases import Database

POSTGRES = pytest.mark.parametrize(
    "fresh_database",
    [pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)


def _timing_out(session: Session) -> None:
    session.execute(text("SET LOCAL lock_timeout = '300ms'"))


@POSTGRES
def test_a_write_waits_for_a_decision_and_decisions_share(
    fresh_database: Database,
) -> None:
    engine = make_engine(fresh_database.url)
    try:
        with Session(engine) as deciding, Session(engine) as other:
            deciding.begin()
            consent_repo.hold_identifiers(deciding, ["k-1", "k-2"], exclusive=False)
            # Another decision on the same identifiers goes on at once.
            with other.begin():
                _timing_out(other)
                consent_repo.hold_identifiers(other, ["k-2"], exclusive=False)
            # A write for one of them waits until the decision commits...
            other.begin()
            _timing_out(other)
            with pytest.raises(OperationalError):
                consent_repo.hold_identifiers(other, ["k-1", "k-9"], exclusive=True)
            other.rollback()
            deciding.commit()
            # ...and then takes its locks.
            with other.begin():
                _timing_out(other)
                consent_repo.hold_identifiers(other, ["k-1", "k-9"], exclusive=True)
    finally:
        engine.dispose()


def test_sqlite_takes_no_lock_of_its_own(fresh_database: Database) -> None:
    # BEGIN IMMEDIATE already serializes writers: on SQLite the call issues
    # nothing (no PostgreSQL function), so two read sessions both get through.
    engine = make_engine(fresh_database.url, read_only=True)
    try:
        with Session(engine) as first, Session(engine) as second, first.begin():
            consent_repo.hold_identifiers(first, ["k-1"], exclusive=True)
            with second.begin():
                consent_repo.hold_identifiers(second, ["k-1"], exclusive=True)
    finally:
        engine.dispose()
