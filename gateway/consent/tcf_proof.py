"""What a decoded TC string proves under TCF v2.3: pure decisions, stdlib only.

Two questions, asked in order. Is the string acceptable at all
(`v23_refusal`)? TCF v2.3 is mandatory since 28 February 2026: a string must
be service-specific, carry a TcfPolicyVersion of 4 or more (4 is TCF v2.2,
5 is v2.3) and a DisclosedVendors segment, and may signal legitimate interest
neither for purpose 1 nor for purposes 3 to 6. An older string fails the
first rule it breaks and proves nothing, not even a withdrawal. Then, for an
acceptable string, does it let the operator's vendor process for a purpose on
consent (`consent_refusal`)? The vendor must have been disclosed to the user,
have the user's vendor consent, every TCF purpose must have purpose consent,
and no publisher restriction may forbid the purpose to the vendor.

A `Refusal` names the rule (a stable code) and says why in words; neither
ever quotes the string.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gateway.consent.tcf import TcString

__all__ = [
    "MIN_POLICY_VERSION",
    "Refusal",
    "TcfProof",
    "consent_refusal",
    "proof_of",
    "v23_refusal",
]

MIN_POLICY_VERSION = 4
# TCF v2.2 took legitimate interest away from purposes 3 to 6 (personalised
# ads and content profiles and their selection); purpose 1 never had it.
_CONSENT_ONLY_PURPOSES = frozenset({3, 4, 5, 6})
# Restriction type 1 ("require consent") is what the operator relies on
# anyway; 0 (not allowed), 2 (require legitimate interest) and the undefined
# 3 all leave consent unusable for that purpose.
_REQUIRE_CONSENT = 1
_RESTRICTION_WORDS = {
    0: "flatly not allowed by the publisher",
    2: "restricted by the publisher to legitimate interest",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a TC string is refused, or proves no consent: a rule code and words."""

    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class TcfProof:
    """What the gateway keeps as proof of a consent that came as a TC string.

    The SHA-256 of the exact string received, with the CMP that made it and
    the time it says it was last updated: whoever holds the string (the CMP
    and the partner must keep it) can show it is the one relied on, while the
    gateway stores no copy of an identifier-like value.
    """

    sha256: str
    cmp_id: int
    last_updated: datetime


def proof_of(raw: str, tc: TcString) -> TcfProof:
    """Build the proof kept for a TC string: its hash, CMP id and LastUpdated.

    Args:
        raw: The TC string exactly as received.
        tc: The same string, decoded.

    Returns:
        The proof; the hash is lowercase hex over the UTF-8 bytes of `raw`.
    """
    digest = hashlib.sha256(raw.encode()).hexdigest()
    updated = datetime.fromisoformat(tc.last_updated)
    return TcfProof(sha256=digest, cmp_id=tc.cmp_id, last_updated=updated)


def v23_refusal(tc: TcString) -> Refusal | None:
    """Tell why a TC string is not acceptable under TCF v2.3, if it is not.

    Args:
        tc: A decoded TC string.

    Returns:
        None for an acceptable string, else the first rule it breaks:
        `policy_version` (below 4), `not_service_specific`,
        `disclosed_vendors_missing`, `legitimate_interest_purpose_1` or
        `legitimate_interest_purposes_3_6`.
    """
    if tc.policy_version < MIN_POLICY_VERSION:
        return Refusal(
            "policy_version",
            f"TcfPolicyVersion {tc.policy_version} is below {MIN_POLICY_VERSION}: "
            "strings made under TCF v2.0 or v2.1 are no longer valid",
        )
    if not tc.is_service_specific:
        return Refusal(
            "not_service_specific",
            "IsServiceSpecific is 0: TCF v2.2 and later strings are "
            "service-specific, a global-scope string is invalid",
        )
    if tc.disclosed_vendors is None:
        return Refusal(
            "disclosed_vendors_missing",
            "the DisclosedVendors segment is missing: TCF v2.3 makes it mandatory",
        )
    legitimate_interests = set(tc.purpose_legitimate_interests)
    if 1 in legitimate_interests:
        return Refusal(
            "legitimate_interest_purpose_1",
            "legitimate interest is signalled for purpose 1, which rests on "
            "consent only",
        )
    if legitimate_interests & _CONSENT_ONLY_PURPOSES:
        return Refusal(
            "legitimate_interest_purposes_3_6",
            "legitimate interest is signalled for one of purposes 3 to 6, which "
            "rest on consent only since TCF v2.2",
        )
    return None


def _restriction_refusal(
    tc: TcString, vendor_id: int, tcf_purposes: Sequence[int]
) -> Refusal | None:
    wanted = set(tcf_purposes)
    for restriction in tc.publisher_restrictions:
        if (
            restriction.purpose_id in wanted
            and restriction.restriction_type != _REQUIRE_CONSENT
            and vendor_id in restriction.vendors
        ):
            words = _RESTRICTION_WORDS.get(
                restriction.restriction_type, "under an undefined publisher restriction"
            )
            return Refusal(
                "publisher_restriction",
                f"TCF purpose {restriction.purpose_id} is {words} for the "
                "operator's vendor id",
            )
    return None


def consent_refusal(
    tc: TcString, vendor_id: int, tcf_purposes: Sequence[int]
) -> Refusal | None:
    """Tell why a TC string gives the vendor no consent for these purposes.

    Call it on a string `v23_refusal` accepted; it does not re-check that.

    Args:
        tc: A decoded TC string.
        vendor_id: The operator's id in the IAB Global Vendor List.
        tcf_purposes: The TCF purposes one gateway purpose needs, all of them.

    Returns:
        None when the string proves consent, else the first rule that fails:
        `vendor_not_disclosed`, `vendor_not_consented`, `purpose_not_consented`
        or `publisher_restriction`.
    """
    if not tcf_purposes:
        return Refusal("purpose_not_consented", "no TCF purpose to prove")
    if vendor_id not in (tc.disclosed_vendors or ()):
        return Refusal(
            "vendor_not_disclosed",
            "the operator's vendor id is not in the DisclosedVendors segment",
        )
    if vendor_id not in tc.vendor_consents:
        return Refusal(
            "vendor_not_consented",
            "the operator's vendor id has no vendor consent",
        )
    missing = sorted(set(tcf_purposes) - set(tc.purpose_consents))
    if missing:
        listed = ", ".join(map(str, missing))
        return Refusal(
            "purpose_not_consented", f"no purpose consent for TCF purpose {listed}"
        )
    return _restriction_refusal(tc, vendor_id, tcf_purposes)
