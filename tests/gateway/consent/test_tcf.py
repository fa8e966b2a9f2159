"""TC string decoding: public vectors, an encoder round-trip, and every rejection.

The encoder below is written from the IAB "TC String Format" spec independently of
the decoder (bytes through `base64.urlsafe_b64encode`, not the decoder's sextets).
"""

import base64
import dataclasses
import json
import re
import string
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.consent.tcf import (
    MAX_TC_STRING_LENGTH,
    PublisherRestriction,
    PublisherTc,
    TcfError,
    TcString,
    decode_tc_string,
    proves_consent,
)
from gateway.errors import GatewayError
from tests.tcf_vectors import (
    ES_ISSUE_201,
    GO_RANGE,
    GO_V22,
    GPP_434,
    GPP_DECODE_4,
    GPP_JAVA_RESTRICTION,
    GPP_V23,
    JAVA_ALL_PARTS,
    JAVA_BASIC,
    JAVA_RANGE_LI,
    JAVA_VENDORS,
)
from tests.tcfkit import (
    JAVA_PUBLISHER_TC,
    Restriction,
    core_bits,
    disclosed_vendors_segment,
    encode,
    iso,
    make_tc,
    merged,
    publisher_tc_segment,
    to_b64url,
    vendor_section,
)

CONTRACT_KEYS = [
    "version", "created", "last_updated", "cmp_id", "cmp_version", "consent_screen",
    "consent_language", "vendor_list_version", "policy_version",
    "is_service_specific", "use_non_standard_texts", "special_feature_optins",
    "purpose_consents", "purpose_legitimate_interests", "purpose_one_treatment",
    "publisher_cc", "vendor_consents", "vendor_legitimate_interests",
]  # fmt: skip
# Added after the contract's keys: the other segments and the restrictions.
EXTRA_KEYS = ["publisher_restrictions", "disclosed_vendors", "publisher_tc"]


# --- public vectors ----------------------------------------------------------


def test_decodes_iabtcf_java_header_fields() -> None:
    tc = decode_tc_string(JAVA_BASIC)
    assert (tc.version, tc.cmp_id, tc.cmp_version, tc.consent_screen) == (2, 675, 2, 1)
    assert (tc.created, tc.last_updated) == (
        "2020-01-26T17:01:00Z",
        "2021-02-02T17:01:00Z",
    )
    assert (tc.vendor_list_version, tc.policy_version) == (15, 2)
    assert (tc.consent_language, tc.publisher_cc) == ("EN", "AA")
    assert not tc.is_service_specific
    assert not tc.use_non_standard_texts
    assert tc.purpose_one_treatment
    assert tc.special_feature_optins == [1]
    assert tc.purpose_consents == [2, 10]
    assert tc.purpose_legitimate_interests == [2, 9]


@pytest.mark.parametrize("tc_string", [JAVA_VENDORS, JAVA_ALL_PARTS])
def test_decodes_iabtcf_java_vendor_bitfields(tc_string: str) -> None:
    tc = decode_tc_string(tc_string)
    assert tc.purpose_consents == [3, 4, 5, 6, 7, 8, 9]
    assert tc.vendor_consents == [23, 37, 47, 48, 53, 65, 98]
    assert tc.vendor_legitimate_interests == [37, 47, 48, 53, 65, 98, 129]


def test_decodes_iabtcf_java_range_encoded_legitimate_interest() -> None:
    assert decode_tc_string(JAVA_RANGE_LI).vendor_legitimate_interests == [128]


def test_decodes_go_iabtcf_range_string() -> None:
    tc = decode_tc_string(GO_RANGE)
    assert (tc.version, tc.cmp_id, tc.vendor_list_version, tc.policy_version) == (
        2,
        92,
        34,
        2,
    )
    assert (tc.consent_language, tc.publisher_cc) == ("EN", "AA")
    assert tc.special_feature_optins == [1, 2]
    assert tc.purpose_consents == list(range(1, 11))
    assert tc.purpose_legitimate_interests == []
    assert tc.vendor_consents == [423]


def test_decodes_go_iabtcf_v22_bitfield_of_4202_vendors() -> None:
    tc = decode_tc_string(GO_V22)
    assert tc.purpose_consents == list(range(1, 12))
    assert tc.special_feature_optins == [1, 2]
    assert tc.publisher_cc == "EU"
    assert len(tc.vendor_consents) == 810
    assert tc.vendor_consents[:10] == [1, 2, 4, 6, 8, 9, 10, 11, 12, 13]
    assert tc.vendor_consents[-5:] == [1265, 1266, 1267, 4176, 4202]
    assert 42 in tc.vendor_consents
    assert 41 not in tc.vendor_consents


def test_string_with_leading_c_is_version_2() -> None:
    # Often quoted as a v1 example, but "C" is 000010: a v2 string. v1 starts "B".
    assert decode_tc_string("COvFyGBOvFyGBAbAAAENAPCAAOAAAAAAAAAAAAAAAAAA").version == 2


# --- public vectors: the segments after the core one, and restrictions -------


def java_bits_to_b64(bits: str) -> str:
    # As iabtcf-java's TCStringV2Test.base64FromBitString: bytes, padded "=".
    bits += "0" * (-len(bits) % 8)
    return base64.urlsafe_b64encode(int(bits, 2).to_bytes(len(bits) // 8)).decode()


def test_decodes_iabtcf_java_disclosed_vendors_and_skips_allowed_vendors() -> None:
    # iabtcf-java TCStringV2Test.testCanParseDisclosedAndAllowedVendors
    tc = decode_tc_string(f"{JAVA_VENDORS}.IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA")
    assert tc.disclosed_vendors == [23, 37, 47, 48, 53, 65, 98, 129]
    assert tc.publisher_tc is None


def test_decodes_iabtcf_java_publisher_tc_segment() -> None:
    # iabtcf-java TCStringV2Test.testCanParseAllParts (one publisher consent)
    # and testPublisherPurposes (the segment given bit by bit).
    assert decode_tc_string(JAVA_ALL_PARTS).publisher_tc == JAVA_PUBLISHER_TC
    segment = java_bits_to_b64(
        "011" + "1" + "0" * 23 + "0" * 23 + "1" + "000010" + "01" + "11" + "000"
    )
    tc = decode_tc_string(f"{JAVA_BASIC}.{segment}")
    assert tc.publisher_tc == PublisherTc(
        purpose_consents=[1],
        purpose_legitimate_interests=[24],
        custom_purpose_consents=[2],
        custom_purpose_legitimate_interests=[1, 2],
    )


def test_decodes_iabtcf_java_publisher_restrictions() -> None:
    # iabtcf-java TCStringV2Test.testPublisherRestrictions: the core string bit
    # by bit, then three restrictions with no vendors: purpose 1 require
    # consent, purpose 2 not allowed, purpose 3 require legitimate interest.
    bits = (
        "0000100011101011100" "1000000000000001010" "0000001110101110010"
        "0000000000000101000" "0000110011111000000" "0000000000000000100"
        "0011010000000011110" "0001000000000000000" "0000000000000000000"
        "0000000000000000000" "0000000000000000000" "0000000000000000000"
        "0000000000000000000" "000000000011"
        "000001" "01" "000000000000"
        "000010" "00" "000000000000"
        "000011" "10" "000000000000" "0"
    )  # fmt: skip
    tc = decode_tc_string(java_bits_to_b64(bits))
    assert tc.publisher_restrictions == [
        PublisherRestriction(1, 1, []),
        PublisherRestriction(2, 0, []),
        PublisherRestriction(3, 2, []),
    ]


def test_decodes_iabgpp_es_v23_string_with_disclosed_vendors() -> None:
    tc = decode_tc_string(GPP_V23)
    assert (tc.policy_version, tc.is_service_specific) == (5, True)
    assert tc.created == "2022-02-01T00:00:00Z"
    assert tc.consent_language == "EN"
    assert tc.vendor_consents == [11, 28, 29]
    assert tc.disclosed_vendors == [11, 28, 29, 50, 60, 80]
    assert tc.purpose_consents[:3] == [1, 3, 4]  # bits 1-3: true, false, true
    assert 2 in tc.purpose_legitimate_interests
    assert not {1, 3} & set(tc.purpose_legitimate_interests)
    assert tc.publisher_tc is not None
    assert tc.publisher_tc.purpose_consents == [1, 3, 4, 5, 6]
    assert tc.publisher_tc.purpose_legitimate_interests == [2, 7]


@pytest.mark.parametrize(
    ("tc_string", "created", "service_specific", "policy_version", "has_pub_tc"),
    [
        # iabgpp-es TcfEuV2.test.ts "decode defaults" (allowed then disclosed)
        (
            "CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA.QAAA.IAAA",
            "1970-01-01T00:00:00Z",
            False,
            2,
            False,
        ),
        # iabgpp-es TcfEuV2.test.ts "decode service specific"
        (
            "CPSG_8APSG_8AAAAAAENAACgAAAAAAAAAAAAAAAAAAAA.IAAA.YAAAAAAAAAAA",
            "2022-01-01T00:00:00Z",
            True,
            2,
            True,
        ),
    ],
)
def test_decodes_iabgpp_es_empty_segments(
    tc_string: str,
    created: str,
    service_specific: bool,
    policy_version: int,
    has_pub_tc: bool,
) -> None:
    tc = decode_tc_string(tc_string)
    assert (tc.created, tc.last_updated) == (created, created)
    assert (tc.cmp_id, tc.consent_language, tc.publisher_cc) == (0, "EN", "AA")
    assert tc.is_service_specific is service_specific
    assert tc.policy_version == policy_version
    assert tc.disclosed_vendors == []
    assert tc.publisher_restrictions == []
    assert tc.vendor_consents == tc.vendor_legitimate_interests == []
    assert (tc.publisher_tc is not None) is has_pub_tc
    if tc.publisher_tc is not None:
        assert tc.publisher_tc == PublisherTc([], [], [], [])


def test_decodes_iabgpp_es_434_disclosed_vendors() -> None:
    tc = decode_tc_string(GPP_434)
    assert (tc.cmp_id, tc.cmp_version, tc.vendor_list_version) == (880, 0, 48)
    assert (tc.policy_version, tc.is_service_specific) == (2, False)
    disclosed = tc.disclosed_vendors
    assert disclosed is not None
    assert len(disclosed) == 434
    assert disclosed[:10] == [1, 2, 4, 6, 8, 10, 11, 12, 13, 14]
    assert disclosed[-9:] == [782, 783, 784, 785, 786, 788, 789, 790, 791]


def test_decodes_iabgpp_es_decode_4() -> None:
    tc = decode_tc_string(GPP_DECODE_4)
    assert (tc.cmp_id, tc.cmp_version, tc.vendor_list_version) == (14, 3, 26)
    assert tc.publisher_cc == "US"
    assert tc.vendor_consents == [2, 6, 8, 12, 18, 23, 25, 37, 42]
    assert tc.vendor_legitimate_interests == [2, 6, 8, 12, 18, 23, 37, 42]
    assert tc.disclosed_vendors is not None
    assert len(tc.disclosed_vendors) == 434


def test_decodes_iabgpp_java_not_allowed_restriction() -> None:
    tc = decode_tc_string(GPP_JAVA_RESTRICTION)
    assert (tc.created, tc.last_updated) == ("2019-10-07T05:17:54Z",) * 2
    assert (tc.cmp_id, tc.cmp_version, tc.vendor_list_version) == (7, 1, 48)
    assert (tc.policy_version, tc.is_service_specific) == (2, True)
    assert tc.special_feature_optins == [1]
    assert tc.purpose_consents == [1]
    assert tc.purpose_legitimate_interests == [2, 7, 9, 10]
    assert tc.publisher_cc == "GB"
    assert tc.vendor_consents == [1, 2, 3, 755]
    assert tc.vendor_legitimate_interests == list(range(1, 10))
    assert tc.publisher_restrictions == [PublisherRestriction(1, 0, [10])]


def test_merges_repeated_restrictions_of_iabtcf_es_issue_201() -> None:
    tc = decode_tc_string(ES_ISSUE_201)
    assert tc.version == 2
    restricted = {
        (r.purpose_id, r.restriction_type): r.vendors for r in tc.publisher_restrictions
    }
    assert restricted[(1, 1)] == [7, 20, 71, 122, 140, 183]
    assert len(restricted) == len(tc.publisher_restrictions)


def sprintb(number: int, bits: int) -> str:
    return format(number, f"0{bits}b")


# travelaudience/go-iabtcf disclosed_vendors_test.go TestDisclosedVendors: the
# DisclosedVendors blocks that are complete (cases 2-5 stop inside a 256-bit
# bitfield, which that lazy reader tolerates and the IAB decoders refuse), and
# whether vendor 123 is disclosed.
DV_256 = sprintb(1, 3) + sprintb(256, 16)  # segment type 1, MaxVendorId 256
GO_DISCLOSED_BLOCKS = {
    "case 1": (sprintb(1, 3) + sprintb(0, 16), False),
    "case 6": (DV_256 + "1" + sprintb(0, 12), False),
    "case 7": (
        DV_256 + "1" + sprintb(1, 12) + "0" + sprintb(123, 16),
        True,
    ),
    "case 8": (
        DV_256 + "1" + sprintb(1, 12) + "0" + sprintb(124, 16),
        False,
    ),
    "case 9": (
        DV_256 + "1" + sprintb(1, 12) + "1"
        + sprintb(120, 16) + sprintb(127, 16),
        True,
    ),
    "case 10": (
        DV_256 + "1" + sprintb(1, 12) + "1"
        + sprintb(130, 16) + sprintb(137, 16),
        False,
    ),
    "case 11": (
        DV_256 + "1" + sprintb(2, 12) + "1"
        + sprintb(130, 16) + sprintb(137, 16) + "0" + sprintb(123, 16),
        True,
    ),
    "case 12": (
        DV_256 + "1" + sprintb(2, 12) + "0"
        + sprintb(124, 16) + "1" + sprintb(120, 16) + sprintb(123, 16),
        True,
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("block", "disclosed"), GO_DISCLOSED_BLOCKS.values(), ids=GO_DISCLOSED_BLOCKS
)
def test_go_iabtcf_disclosed_vendor_blocks(block: str, disclosed: bool) -> None:
    tc = decode_tc_string(f"{encode(make_tc())}.{to_b64url(block)}")
    assert tc.disclosed_vendors is not None
    assert (123 in tc.disclosed_vendors) is disclosed


# --- round trip --------------------------------------------------------------

ROUND_TRIPS: dict[str, tuple[TcString, dict[str, object]]] = {
    "defaults": (make_tc(), {}),
    "all empty": (
        make_tc(
            special_feature_optins=[],
            purpose_consents=[],
            purpose_legitimate_interests=[],
            vendor_consents=[],
            vendor_legitimate_interests=[],
        ),
        {},
    ),
    "field maxima": (
        make_tc(
            created="1970-01-01T00:00:00Z",
            last_updated=iso(2**36 - 1),
            cmp_id=4095,
            cmp_version=4095,
            consent_screen=63,
            consent_language="ZZ",
            vendor_list_version=4095,
            policy_version=63,
            use_non_standard_texts=True,
            purpose_one_treatment=True,
            special_feature_optins=list(range(1, 13)),
            purpose_consents=list(range(1, 25)),
            purpose_legitimate_interests=list(range(1, 25)),
            publisher_cc="AA",
            vendor_consents=[1, 65535],
            vendor_legitimate_interests=[65535],
        ),
        {},
    ),
    "range encoding": (
        make_tc(
            vendor_consents=[*range(5, 90), 91, 700], vendor_legitimate_interests=[]
        ),
        {
            "consents": vendor_section([*range(5, 90), 91, 700], ranged=True),
            "legitimate_interests": vendor_section([], ranged=True),
        },
    ),
    "overlapping ranges and a bitfield padded past the last vendor": (
        make_tc(vendor_consents=[2, 3, 4, 5, 6], vendor_legitimate_interests=[4]),
        {
            "consents": vendor_section(
                [], ranged=True, max_vendor_id=6, entries=[(2, 5), (4, 6), (3, 3)]
            ),
            "legitimate_interests": vendor_section([4], max_vendor_id=900),
        },
    ),
    "publisher restrictions": (
        make_tc(
            publisher_restrictions=[
                PublisherRestriction(1, 1, []),
                PublisherRestriction(2, 0, [4, 5, 6, 7, 8, 9, 12]),
                PublisherRestriction(7, 2, [1]),
            ]
        ),
        {},
    ),
    "a (purpose, type) pair repeated on the wire is merged": (
        make_tc(publisher_restrictions=[PublisherRestriction(2, 0, [3, 4, 9])]),
        {"restrictions": [(2, 0, [(3, 4)]), (2, 0, [(9, 9), (4, 4)])]},
    ),
    "publisher TC and disclosed vendors segments": (
        make_tc(disclosed_vendors=[3, 9], publisher_tc=JAVA_PUBLISHER_TC),
        {},
    ),
    "disclosed vendors range-encoded, after the publisher TC": (
        make_tc(
            disclosed_vendors=[*range(2, 300), 755], publisher_tc=JAVA_PUBLISHER_TC
        ),
        {
            "segments": [
                publisher_tc_segment(),
                disclosed_vendors_segment([*range(2, 300), 755], ranged=True),
            ]
        },
    ),
    "empty disclosed vendors segment": (make_tc(disclosed_vendors=[]), {}),
    "allowed vendors segment (before TCF v2.2) is checked and dropped": (
        make_tc(disclosed_vendors=[5]),
        {
            "segments": [
                to_b64url("010" + vendor_section([1, 5])),
                disclosed_vendors_segment([5]),
            ]
        },
    ),
}


@pytest.mark.parametrize(("tc", "options"), ROUND_TRIPS.values(), ids=ROUND_TRIPS)
def test_round_trips_encoded_strings(tc: TcString, options: dict[str, object]) -> None:
    decoded = decode_tc_string(encode(tc, **options))
    assert decoded == tc
    assert datetime.fromisoformat(decoded.last_updated).tzinfo == UTC


def test_accepts_base64_padding_on_segments() -> None:
    tc = make_tc()
    core = encode(tc)
    padded_core = core + "=" * (-len(core) % 4)
    decoded = decode_tc_string(f"{padded_core}.cAAAAAAAITg=")
    assert decoded == dataclasses.replace(tc, publisher_tc=JAVA_PUBLISHER_TC)


ids_up_to = st.sampled_from([24, 300, 65535]).flatmap(
    lambda top: st.lists(st.integers(1, top), unique=True, max_size=40).map(sorted)
)
entries_st = st.lists(
    st.integers(1, 65535).flatmap(
        lambda s: st.tuples(st.just(s), st.integers(s, 65535))
    ),
    max_size=4,
)
tc_strategy = st.builds(
    make_tc,
    created=st.integers(0, 2**36 - 1).map(iso),
    last_updated=st.integers(0, 2**36 - 1).map(iso),
    cmp_id=st.integers(0, 4095),
    cmp_version=st.integers(0, 4095),
    vendor_list_version=st.integers(0, 4095),
    policy_version=st.integers(0, 63),
    use_non_standard_texts=st.booleans(),
    purpose_legitimate_interests=st.lists(st.integers(1, 24), unique=True).map(sorted),
    consent_screen=st.integers(0, 63),
    consent_language=st.text(string.ascii_uppercase, min_size=2, max_size=2),
    is_service_specific=st.booleans(),
    purpose_one_treatment=st.booleans(),
    special_feature_optins=st.lists(st.integers(1, 12), unique=True).map(sorted),
    purpose_consents=st.lists(st.integers(1, 24), unique=True).map(sorted),
    publisher_cc=st.text(string.ascii_uppercase, min_size=2, max_size=2),
    vendor_consents=ids_up_to,
    vendor_legitimate_interests=ids_up_to,
)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(
    tc=tc_strategy,
    ranged=st.tuples(st.booleans(), st.booleans()),
    restrictions=st.lists(
        st.tuples(st.integers(0, 63), st.integers(0, 3), entries_st), max_size=3
    ),
)
def test_round_trips_generated_strings(
    tc: TcString, ranged: tuple[bool, bool], restrictions: list[Restriction]
) -> None:
    encoded = encode(
        tc,
        consents=vendor_section(tc.vendor_consents, ranged=ranged[0]),
        legitimate_interests=vendor_section(
            tc.vendor_legitimate_interests, ranged=ranged[1]
        ),
        restrictions=restrictions,
    )
    assert decode_tc_string(encoded) == dataclasses.replace(
        tc, publisher_restrictions=merged(restrictions)
    )


# --- rejections --------------------------------------------------------------


def bad_strings() -> dict[str, str]:
    tc = make_tc()
    full = core_bits(tc)
    minimum_chars = -(-len(full) // 6)
    return {
        "garbage": "this is not a TC string!",
        "plus and slash": encode(tc).replace("A", "+", 1).replace("A", "/", 1),
        "whitespace": f" {encode(tc)}",
        "v1 (iabtcf-java TCStringV1Test)": "BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA",
        "v1 (go-iabtcf)": "BOzcJxTOzcJxTBcAAAENAiCMAP_AAAAAAAAADTwAQDTgAAAA",
        "version 3": encode(tc, version=3),
        "too short": "COtybn4PA_zT4KjA",
        "one char short": to_b64url(full)[: minimum_chars - 1],
        "truncated restrictions": to_b64url(core_bits(tc)[:-12] + "000000000011"),
        "language out of A-Z": encode(make_tc(consent_language="A[")),
        "range ends before start": encode(
            tc,
            consents=vendor_section([], ranged=True, max_vendor_id=9, entries=[(9, 3)]),
        ),
        "range above MaxVendorId": encode(
            tc,
            consents=vendor_section(
                [], ranged=True, max_vendor_id=9, entries=[(8, 10)]
            ),
        ),
        "single vendor above MaxVendorId": encode(
            tc,
            legitimate_interests=vendor_section(
                [], ranged=True, max_vendor_id=9, entries=[(10, 10)]
            ),
        ),
        "vendor id 0": encode(
            tc,
            consents=vendor_section([], ranged=True, max_vendor_id=9, entries=[(0, 0)]),
        ),
        "restriction range ends before start": encode(
            tc, restrictions=[(1, 1, [(50, 40)])]
        ),
        "empty core": ".cAAAAAAAITg",
        "empty trailing segment": f"{encode(tc)}.",
        "segment type 0": encode(tc, segments=[to_b64url("000" + "0" * 21)]),
        "segment type 5": encode(tc, segments=[to_b64url("101" + "0" * 21)]),
        "repeated DisclosedVendors segment": encode(
            tc,
            segments=[disclosed_vendors_segment([1]), disclosed_vendors_segment([2])],
        ),
        "truncated DisclosedVendors bitfield": encode(
            tc, segments=[to_b64url("001" + format(300, "016b") + "0" + "1" * 40)]
        ),
        "DisclosedVendors range above MaxVendorId": encode(
            tc,
            segments=[
                to_b64url(
                    "001"
                    + vendor_section(
                        [], ranged=True, max_vendor_id=9, entries=[(5, 12)]
                    )
                )
            ],
        ),
        "bad base64 in a segment": encode(tc, segments=["IAAA*A"]),
        "over-padded": f"{encode(tc)}===",
        "too long": encode(tc) + "A" * MAX_TC_STRING_LENGTH,
    }


BAD = bad_strings()
REASONS = {
    "garbage": "not base64url",
    "plus and slash": "not base64url",
    "whitespace": "not base64url",
    "v1 (iabtcf-java TCStringV1Test)": "unsupported TCF version 1",
    "v1 (go-iabtcf)": "unsupported TCF version 1",
    "version 3": "unsupported TCF version 3",
    "too short": "truncated",
    "one char short": "truncated",
    "truncated restrictions": "truncated",
    "language out of A-Z": "ConsentLanguage is not two letters",
    "range ends before start": "VendorConsents has a range that ends before",
    "range above MaxVendorId": "VendorConsents names a vendor above",
    "single vendor above MaxVendorId": "VendorLegitimateInterests names a vendor above",
    "vendor id 0": "vendor id 0",
    "restriction range ends before start": "PubRestrictions has a range",
    "empty core": "empty or badly padded",
    "empty trailing segment": "empty or badly padded",
    "segment type 0": "unknown type",
    "segment type 5": "unknown type",
    "repeated DisclosedVendors segment": "repeats segment type 1",
    "truncated DisclosedVendors bitfield": "truncated",
    "DisclosedVendors range above MaxVendorId": "DisclosedVendors names a vendor above",
    "bad base64 in a segment": "not base64url",
    "over-padded": "empty or badly padded",
    "too long": "too long",
}


@pytest.mark.parametrize(
    ("tc_string", "reason"), [(BAD[k], REASONS[k]) for k in BAD], ids=BAD
)
def test_rejects_malformed_strings_without_echoing_them(
    tc_string: str, reason: str
) -> None:
    with pytest.raises(TcfError, match=re.escape(reason)) as caught:
        decode_tc_string(tc_string)
    message = f"{caught.value} {caught.value!r} {caught.value.detail}"
    assert tc_string not in message
    for segment in filter(None, tc_string.split(".")):
        assert segment[:8] not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


def test_rejects_every_truncation_of_a_valid_string() -> None:
    tc = make_tc(
        vendor_consents=list(range(1, 200, 3)),
        publisher_restrictions=[PublisherRestriction(3, 1, [5, 6, 7, 8, 9])],
    )
    bits = core_bits(tc)
    encoded = to_b64url(bits)
    assert decode_tc_string(encoded) == tc
    for length in range(1, len(bits) // 6):
        with pytest.raises(TcfError):
            decode_tc_string(encoded[:length])


@pytest.mark.parametrize(
    "value", ["", None, b"COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA"]
)
def test_rejects_empty_and_non_string_input(value: object) -> None:
    with pytest.raises(TcfError, match="empty or not a string"):
        decode_tc_string(value)  # type: ignore[arg-type]


def test_rejects_v1_naming_the_version() -> None:
    with pytest.raises(TcfError, match="unsupported TCF version 1"):
        decode_tc_string(BAD["v1 (iabtcf-java TCStringV1Test)"])


def test_error_is_a_value_error_and_a_422_problem() -> None:
    error = TcfError("x")
    assert isinstance(error, ValueError)
    assert isinstance(error, GatewayError)
    assert (error.status, error.slug) == (422, "invalid-tc-string")


# --- the value and proves_consent --------------------------------------------


def test_as_dict_has_the_contract_keys_first_and_is_json() -> None:
    tc = make_tc(
        publisher_restrictions=[PublisherRestriction(2, 0, [4, 9])],
        disclosed_vendors=[4, 9],
        publisher_tc=JAVA_PUBLISHER_TC,
    )
    as_dict = tc.as_dict()
    assert list(as_dict) == CONTRACT_KEYS + EXTRA_KEYS
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["publisher_restrictions"] == [
        {"purpose_id": 2, "restriction_type": 0, "vendors": [4, 9]}
    ]
    assert as_dict["publisher_tc"] == {
        "purpose_consents": [1],
        "purpose_legitimate_interests": [24],
        "custom_purpose_consents": [2],
        "custom_purpose_legitimate_interests": [1, 2],
    }
    as_dict["purpose_consents"].append(99)  # type: ignore[attr-defined]
    assert 99 not in tc.purpose_consents


def test_absent_segments_are_null_in_as_dict() -> None:
    as_dict = make_tc().as_dict()
    assert as_dict["disclosed_vendors"] is None
    assert as_dict["publisher_tc"] is None
    assert as_dict["publisher_restrictions"] == []


def test_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_tc().cmp_id = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("purposes", "expected"),
    [
        ([1], True),
        ([1, 3, 4], True),
        ((4, 1), True),
        ([1, 1], True),
        ([1, 2], False),
        ([2], False),
        ([0], False),
        ([25], False),
        ([], False),
    ],
)
def test_proves_consent_only_for_consented_purposes(
    purposes: Sequence[int], expected: bool
) -> None:
    assert proves_consent(make_tc(purpose_consents=[1, 3, 4]), purposes) is expected


def test_purpose_legitimate_interest_proves_no_consent() -> None:
    tc = make_tc(purpose_consents=[], purpose_legitimate_interests=[1, 2, 3])
    assert not proves_consent(tc, [1])
