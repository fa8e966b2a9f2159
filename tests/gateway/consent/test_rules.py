"""Consent decisions over the events of all of a record's identifiers (pure)."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from gateway.consent.rules import CONSENT_MISSING, decide, latest


@dataclass(frozen=True)
class Fact:
    granted: bool
    event_time: datetime
    explicit: bool = False


def at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def test_no_event_means_no_consent() -> None:
    decision = decide([], "consent")
    assert not decision.allowed
    assert decision.reason == CONSENT_MISSING


def test_latest_event_decides_whatever_the_order() -> None:
    facts = [Fact(True, at(3)), Fact(False, at(1)), Fact(True, at(2))]
    assert decide(facts, "consent").allowed
    assert not decide([*facts, Fact(False, at(4))], "consent").allowed


def test_withdrawal_wins_a_tie() -> None:
    facts = [Fact(True, at(5)), Fact(False, at(5))]
    assert latest(facts) == Fact(False, at(5))
    assert latest(list(reversed(facts))) == Fact(False, at(5))
    assert not decide(facts, "consent").allowed


def test_explicit_comes_from_the_deciding_grant() -> None:
    assert decide([Fact(True, at(1), explicit=True)], "consent").explicit
    later_plain = [Fact(True, at(1), explicit=True), Fact(True, at(2))]
    assert not decide(later_plain, "consent").explicit


def test_legitimate_interest_stops_on_objection_only() -> None:
    assert decide([], "legitimate_interest").allowed
    assert decide([Fact(True, at(1))], "legitimate_interest").allowed
    objection = decide([Fact(False, at(1))], "legitimate_interest")
    assert not objection.allowed
    assert objection.reason == CONSENT_MISSING


@pytest.mark.parametrize("basis", ["contract", "legal_obligation"])
def test_contract_and_legal_obligation_do_not_rest_on_consent(basis: str) -> None:
    assert decide([], basis).allowed
    assert decide([Fact(False, at(1))], basis).allowed
