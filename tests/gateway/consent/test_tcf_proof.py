"""What a TC string proves under TCF v2.3: published strings first, then each rule."""

import dataclasses
import hashlib
from datetime import UTC, datetime

import pytest

from gateway.consent.tcf import PublisherRestriction, decode_tc_string
from gateway.consent.tcf_proof import consent_refusal, proof_of, v23_refusal
from tests.tcf_vectors import (
    ES_ISSUE_201,
    GPP_434,
    GPP_JAVA_RESTRICTION,
    GPP_V23,
    JAVA_ALL_PARTS,
    JAVA_BASIC,
)
from tests.tcfkit import encode, valid_tc

SEGMENTATION = (1, 3, 4)  # the TCF purposes policies/purposes.yaml names
VENDOR = 4040

# --- published strings ---------------------------------------------------------


def test_iabgpp_es_v23_string_is_accepted() -> None:
    # iabgpp-es TcfEuV2.test.ts: policy version 5, service-specific, with a
    # DisclosedVendors segment, legitimate interest on purpose 2 only.
    assert v23_refusal(decode_tc_string(GPP_V23)) is None


@pytest.mark.parametrize(
    ("vendor_id", "rule"),
    [
        (11, None),  # disclosed, vendor consent, purposes 1, 3 and 4 consented
        (29, None),
        (50, "vendor_not_consented"),  # disclosed, no vendor consent
        (12, "vendor_not_disclosed"),  # in neither list
    ],
)
def test_iabgpp_es_v23_string_proves_consent_only_for_its_vendors(
    vendor_id: int, rule: str | None
) -> None:
    refusal = consent_refusal(decode_tc_string(GPP_V23), vendor_id, SEGMENTATION)
    assert (refusal and refusal.rule) == rule


def test_iabgpp_es_v23_string_lacks_purpose_2() -> None:
    # Purpose consents are 1, 3, 4, 5, 6: purpose 2 has none.
    refusal = consent_refusal(decode_tc_string(GPP_V23), 11, (1, 2))
    assert refusal is not None
    assert refusal.rule == "purpose_not_consented"
    assert "purpose 2" in refusal.message


@pytest.mark.parametrize(
    ("tc_string", "source"),
    [
        (JAVA_BASIC, "iabtcf-java TCStringV2Test, policy version 2"),
        (JAVA_ALL_PARTS, "iabtcf-java TCStringV2Test, with DisclosedVendors"),
        (GPP_434, "iabgpp-es TcfEuV2.test.ts decode, with DisclosedVendors"),
        (GPP_JAVA_RESTRICTION, "iabgpp-java TcfEuV2Test.testDecode7"),
        (ES_ISSUE_201, "iabtcf-es ReportedIssues issue 201"),
    ],
)
def test_published_strings_before_v22_are_refused_for_policy_version(
    tc_string: str, source: str
) -> None:
    refusal = v23_refusal(decode_tc_string(tc_string))
    assert refusal is not None, source
    assert refusal.rule == "policy_version"
    assert "below 4" in refusal.message


def test_iabgpp_java_not_allowed_restriction_forbids_its_vendor() -> None:
    # iabgpp-java TcfEuV2Test.testDecode7 restricts purpose 1 to "not allowed"
    # for vendor 10. Only disclosure and vendor consent are added here, so the
    # restriction is the one thing left to refuse.
    tc = decode_tc_string(GPP_JAVA_RESTRICTION)
    tc = dataclasses.replace(
        tc, disclosed_vendors=[3, 10], vendor_consents=[*tc.vendor_consents, 10]
    )
    refusal = consent_refusal(tc, 10, (1,))
    assert refusal is not None
    assert refusal.rule == "publisher_restriction"
    assert "not allowed" in refusal.message
    assert consent_refusal(tc, 3, (1,)) is None  # vendor 3 is not restricted


def test_iabtcf_es_require_legitimate_interest_forbids_consent() -> None:
    # iabtcf-es issue 201: purposes 1-10 "require consent" for vendors 7, 20,
    # 71, 122, 140, 183 and "require legitimate interest" for vendor 730.
    tc = decode_tc_string(ES_ISSUE_201)
    tc = dataclasses.replace(
        tc,
        disclosed_vendors=[7, 730],
        vendor_consents=sorted({*tc.vendor_consents, 7, 730}),
    )
    assert set(SEGMENTATION) <= set(tc.purpose_consents)
    refused = consent_refusal(tc, 730, SEGMENTATION)
    assert refused is not None
    assert refused.rule == "publisher_restriction"
    assert "legitimate interest" in refused.message
    assert consent_refusal(tc, 7, SEGMENTATION) is None


# --- v2.3 rules, one at a time -------------------------------------------------


def test_valid_v23_string_is_accepted() -> None:
    assert v23_refusal(valid_tc(VENDOR)) is None


@pytest.mark.parametrize("policy_version", [4, 5, 6])
def test_policy_version_4_and_later_are_accepted(policy_version: int) -> None:
    assert v23_refusal(valid_tc(VENDOR, policy_version=policy_version)) is None


@pytest.mark.parametrize(
    ("over", "rule", "words"),
    [
        ({"policy_version": 3}, "policy_version", "TcfPolicyVersion 3 is below 4"),
        ({"policy_version": 2}, "policy_version", "below 4"),
        ({"is_service_specific": False}, "not_service_specific", "IsServiceSpecific"),
        ({"disclosed_vendors": None}, "disclosed_vendors_missing", "DisclosedVendors"),
        (
            {"purpose_legitimate_interests": [1, 2]},
            "legitimate_interest_purpose_1",
            "purpose 1",
        ),
        (
            {"purpose_legitimate_interests": [2, 3]},
            "legitimate_interest_purposes_3_6",
            "purposes 3 to 6",
        ),
        (
            {"purpose_legitimate_interests": [6, 7]},
            "legitimate_interest_purposes_3_6",
            "purposes 3 to 6",
        ),
    ],
)
def test_v23_refusals_name_the_rule(
    over: dict[str, object], rule: str, words: str
) -> None:
    refusal = v23_refusal(valid_tc(VENDOR, **over))
    assert refusal is not None
    assert refusal.rule == rule
    assert words in refusal.message


def test_a_v22_string_without_disclosed_vendors_is_refused_naming_the_segment() -> None:
    refusal = v23_refusal(valid_tc(VENDOR, policy_version=4, disclosed_vendors=None))
    assert refusal is not None
    assert refusal.rule == "disclosed_vendors_missing"


def test_legitimate_interest_on_purposes_2_and_7_to_11_is_fine() -> None:
    tc = valid_tc(VENDOR, purpose_legitimate_interests=[2, 7, 8, 9, 10, 11])
    assert v23_refusal(tc) is None


# --- consent for the operator's vendor, one rule at a time -----------------------


def test_valid_string_proves_consent() -> None:
    assert consent_refusal(valid_tc(VENDOR), VENDOR, SEGMENTATION) is None


@pytest.mark.parametrize(
    ("over", "rule"),
    [
        ({"disclosed_vendors": [2, 8]}, "vendor_not_disclosed"),
        ({"disclosed_vendors": []}, "vendor_not_disclosed"),
        ({"vendor_consents": [2, 10]}, "vendor_not_consented"),
        ({"purpose_consents": [1, 3]}, "purpose_not_consented"),
        (
            {"publisher_restrictions": [PublisherRestriction(3, 0, [VENDOR])]},
            "publisher_restriction",
        ),
        (
            {"publisher_restrictions": [PublisherRestriction(4, 2, [1, VENDOR])]},
            "publisher_restriction",
        ),
        (
            {"publisher_restrictions": [PublisherRestriction(1, 3, [VENDOR])]},
            "publisher_restriction",
        ),
    ],
)
def test_consent_refusals_name_the_rule(over: dict[str, object], rule: str) -> None:
    refusal = consent_refusal(valid_tc(VENDOR, **over), VENDOR, SEGMENTATION)
    assert refusal is not None
    assert refusal.rule == rule


@pytest.mark.parametrize(
    "restriction",
    [
        PublisherRestriction(1, 1, [VENDOR]),  # require consent: what we rely on
        PublisherRestriction(3, 0, [1, 2]),  # another vendor
        PublisherRestriction(2, 0, [VENDOR]),  # a purpose segmentation does not use
    ],
)
def test_restrictions_that_leave_consent_usable(
    restriction: PublisherRestriction,
) -> None:
    tc = valid_tc(VENDOR, publisher_restrictions=[restriction])
    assert consent_refusal(tc, VENDOR, SEGMENTATION) is None


def test_vendor_legitimate_interest_is_not_consent() -> None:
    tc = valid_tc(VENDOR, vendor_consents=[2], vendor_legitimate_interests=[VENDOR])
    refusal = consent_refusal(tc, VENDOR, SEGMENTATION)
    assert refusal is not None
    assert refusal.rule == "vendor_not_consented"


def test_no_tcf_purposes_prove_nothing() -> None:
    refusal = consent_refusal(valid_tc(VENDOR), VENDOR, ())
    assert refusal is not None


# --- proof ---------------------------------------------------------------------


def test_proof_is_the_hash_of_the_exact_string_its_cmp_and_time() -> None:
    tc_string = encode(valid_tc(VENDOR, cmp_id=300))
    proof = proof_of(tc_string, decode_tc_string(tc_string))
    assert proof.sha256 == hashlib.sha256(tc_string.encode()).hexdigest()
    assert proof.cmp_id == 300
    assert proof.last_updated == datetime(2024, 5, 1, 9, 30, 15, 700_000, UTC)


def test_proof_of_a_published_string() -> None:
    proof = proof_of(GPP_V23, decode_tc_string(GPP_V23))
    assert proof.cmp_id == 0
    assert proof.last_updated == datetime(2022, 2, 1, tzinfo=UTC)
    assert len(proof.sha256) == 64


def test_refusal_messages_never_quote_the_string() -> None:
    tc_string = encode(valid_tc(VENDOR, policy_version=2))
    refusal = v23_refusal(decode_tc_string(tc_string))
    assert refusal is not None
    assert tc_string[:12] not in refusal.message
