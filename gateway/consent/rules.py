"""Consent decisions: pure functions over the stored events of one purpose."""

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple, Protocol

CONSENT_MISSING = "consent_missing"


class ConsentFactLike(Protocol):
    """What a stored consent event must offer to be decided on."""

    @property
    def granted(self) -> bool: ...  # noqa: D102

    @property
    def explicit(self) -> bool: ...  # noqa: D102

    @property
    def event_time(self) -> datetime: ...  # noqa: D102


class Decision(NamedTuple):
    """Whether a purpose may use a subject's data, and on what footing.

    A NamedTuple (immutable, built in C): one is made per ingested record.
    """

    allowed: bool
    explicit: bool = False
    reason: str | None = None
    detail: str | None = None


def latest(facts: Iterable[ConsentFactLike]) -> ConsentFactLike | None:
    """The event that decides: the latest by time; at a tie, a withdrawal wins."""
    # Sorting on (time, granted) puts a withdrawal (False) before a grant at the
    # same instant, so max() only picks the grant when nothing withdrew then.
    decisive: ConsentFactLike | None = None
    for fact in facts:
        if decisive is None or (fact.event_time, not fact.granted) > (
            decisive.event_time,
            not decisive.granted,
        ):
            decisive = fact
    return decisive


def decide(facts: Iterable[ConsentFactLike], basis: str) -> Decision:
    """Decide one purpose for one record from the events of all its identifiers.

    Under `consent`, the latest event must be a grant. Under
    `legitimate_interest`, processing goes on unless the subject objected
    (a withdrawal is recorded as an objection, GDPR Art. 21). `contract` and
    `legal_obligation` do not rest on consent at all.
    """
    decisive = latest(facts)
    if basis == "consent":
        if decisive is None:
            return Decision(
                False, reason=CONSENT_MISSING, detail="no consent on record"
            )
        if not decisive.granted:
            return Decision(False, reason=CONSENT_MISSING, detail="consent withdrawn")
        return Decision(True, explicit=decisive.explicit)
    if basis == "legitimate_interest" and decisive is not None and not decisive.granted:
        return Decision(False, reason=CONSENT_MISSING, detail="the subject objected")
    return Decision(
        True, explicit=bool(decisive and decisive.granted and decisive.explicit)
    )
