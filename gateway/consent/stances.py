"""What one consent event says about each purpose, TC string included (pure).

An event names a purpose, or carries a TC string that stands for every
consent-based purpose with TCF purposes. The TC string must be acceptable under
TCF v2.3 or the event is rejected (`tcf_invalid`, naming the rule); an
acceptable string grants a purpose only when it proves consent for the
operator's vendor, and otherwise withdraws it, saying why.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.consent.events import TCF_INVALID, ConsentEvent, EventIssue, TcfWarning
from gateway.consent.tcf import TcfError, TcString, decode_tc_string
from gateway.consent.tcf_proof import (
    Refusal,
    TcfProof,
    consent_refusal,
    proof_of,
    v23_refusal,
)
from gateway.errors import InvalidRequestError
from gateway.policy.models import PolicySet
from gateway.storage.models import ClientRow


class EventRejectedError(InvalidRequestError):
    """One event is refused; `issue` says which field and why, never its value.

    Caught per event by the consent service (the event's result says why):
    it never refuses a whole request.
    """

    def __init__(
        self, reason: str, field_name: str, message: str, rule: str | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.issue = EventIssue(field_name, reason, message, rule)


@dataclass(frozen=True, slots=True)
class Stance:
    """What one event says about one purpose, and why a grant did not count."""

    purpose: str
    granted: bool
    refusal: Refusal | None = None


def _candidates(
    policies: PolicySet, client: ClientRow, event: ConsentEvent
) -> list[str]:
    """The purposes an event speaks for: the named one, else every TCF one."""
    if event.tcf_string is None or event.purpose is not None:
        purpose = event.purpose
        if purpose is None:
            raise EventRejectedError(
                "invalid", "purpose", "required, as a non-empty string"
            )
        if purpose not in policies.purposes or purpose not in client.purposes:
            raise EventRejectedError(
                "purpose_not_allowed", "purpose", "purpose not granted"
            )
        return [purpose]
    return [
        name
        for name, spec in policies.purposes.items()
        if spec.basis == "consent" and spec.tcf_purposes and name in client.purposes
    ]


def _accepted_tc(raw: str) -> TcString:
    """Decode a TC string and hold it to TCF v2.3; the error names the rule."""
    try:
        tc = decode_tc_string(raw)
    except TcfError as exc:
        raise EventRejectedError(
            TCF_INVALID, "tcf_string", exc.detail, "malformed"
        ) from None
    refusal = v23_refusal(tc)
    if refusal is not None:
        raise EventRejectedError(
            TCF_INVALID, "tcf_string", refusal.message, refusal.rule
        )
    return tc


def purposes_of(
    policies: PolicySet, client: ClientRow, event: ConsentEvent
) -> tuple[list[Stance], TcfProof | None]:
    """The purposes an event speaks for, each with whether it grants.

    Without a TC string: the named purpose, granted or withdrawn as stated.
    With one: it must be a valid TCF v2.3 string (else the event is rejected,
    `tcf_invalid`). It is the subject's complete choice, so it stands for
    every consent-based purpose it could prove (the named one only, when a
    purpose is named); a purpose it does not prove for the operator's vendor
    (`tcf_proof.consent_refusal`) is withdrawn, whatever the status says.

    Returns:
        The stances, and the proof to keep when a TC string came with them.
    """
    candidates = _candidates(policies, client, event)
    raw = event.tcf_string
    if raw is None:
        return [Stance(name, event.status == "granted") for name in candidates], None
    tc = _accepted_tc(raw)
    if not candidates:
        raise EventRejectedError(
            "purpose_not_allowed", "tcf_string", "no granted purpose rests on TCF"
        )
    # The loader requires the tcf policy once a purpose lists TCF purposes;
    # vendor id 0 is never disclosed, so without it nothing is proved.
    vendor_id = policies.tcf.vendor_id if policies.tcf is not None else 0
    stances: list[Stance] = []
    for name in candidates:
        if event.status != "granted":
            stances.append(Stance(name, False))
            continue
        wanted = policies.purposes[name].tcf_purposes
        refusal = consent_refusal(tc, vendor_id, wanted)
        stances.append(Stance(name, refusal is None, refusal))
    return stances, proof_of(raw, tc)


def proof_columns(proof: TcfProof | None) -> dict[str, Any]:
    """The consent event columns that keep a TC string's proof (none without)."""
    if proof is None:
        return {}
    return {
        "tcf_sha256": proof.sha256,
        "tcf_cmp_id": proof.cmp_id,
        "tcf_last_updated": proof.last_updated,
    }


def tcf_warnings(stances: Iterable[Stance]) -> tuple[TcfWarning, ...]:
    """Why a TC string proved no consent, per purpose, for the event's result."""
    return tuple(
        TcfWarning(stance.purpose, stance.refusal.rule, stance.refusal.message)
        for stance in stances
        if stance.refusal is not None
    )
