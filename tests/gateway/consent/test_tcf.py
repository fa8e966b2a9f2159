"""TC string decoding: public vectors, an encoder round-trip, and every rejection.

The encoder below is written from the IAB "TC String Format" spec independently of
the decoder (bytes through `base64.urlsafe_b64encode`, not the decoder's sextets).
"""

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
    TcfError,
    TcString,
    decode_tc_string,
    proves_consent,
)
from gateway.errors import GatewayError
from tests.tcfkit import (
    Restriction,
    core_bits,
    disclosed_vendors_segment,
    encode,
    iso,
    make_tc,
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


# --- public vectors ----------------------------------------------------------

# iabtcf-java, TCStringV2Test (made with https://www.iabtcf.com/#/encode)
JAVA_BASIC = "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA"
JAVA_VENDORS = (
    "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA"
)
JAVA_ALL_PARTS = (
    f"{JAVA_VENDORS}.IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA.cAAAAAAAITg="
)
JAVA_RANGE_LI = "COv__-wOv__-wC2AAAENAPCgAAAAAAAAAAAAA_wAQA_gEBABAEAAAA"
# travelaudience/go-iabtcf parse_test.go: a v2.0 range string and a v2.2 bitfield one
GO_RANGE = (
    "COzcJxTOzcJxTBcAAAENAiCMAP_AAAAAAAAADTwAQDTgAAAA.IF5EX2S5OI2tho2YdF7BEYYwfJxyigM"
    "gShgQIsS8NwIeFbBoGPmAAHBG4JAQAGBAkkACBAQIsHGBcCQABgIgRiRCMQEGMjzNKBJBAggkbI0FAC"
    "CVmnkHS3ZCY70-6u__bA"
)
GO_V22 = (
    "CP9Qr_AP9Qr_AAfETDFRAwEsAP_gAEPgAAigg1NX_H__bX9v-Xr36ft0eY1f99j77uQxBhfJs-4FzLvW_"
    "JwX32EzNE36tqYKmRIEu3bBIQFtHJnUTVihaogVrzHsYkGchTNKJ-BkiHMRe2dYCF5vmYtj-QKZ5_p_d3"
    "f52T_9_dv-3dzzz91nv3f9f-f1eLida59tH_v_bRKb-_If9_7-_4v0_t_rk2_eTVv_9evv79-u_t____9"
    "_9____4" + "A" * 484 + "QAAAEQamr_j__tr-3_L179P26PMav--x993IYgwvk2fcC5l3rfk4L77C"
    "Zmib9W1MFTIkCXbtgkIC2jkzqJqxQtUQK15j2MSDOQpmlE_AyRDmIvbOsBC83zMWx_IFM8_0_u7v87J_-"
    "_u3_bu555-6z37v-v_P6vFxOtc-2j_3_tolN_fkP-_9_f8X6f2_1ybfvJq3_-vX39-_Xf2____-_-____"
    "8" + "A" * 484 + "IAAACAA"
)


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
        make_tc(),
        {"restrictions": [(1, 1, []), (2, 0, [(4, 9), (12, 12)]), (7, 2, [(1, 1)])]},
    ),
    "publisher TC and disclosed vendors segments": (
        make_tc(),
        {"segments": [disclosed_vendors_segment([3, 9]), publisher_tc_segment()]},
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
    assert decode_tc_string(f"{padded_core}.cAAAAAAAITg=") == tc


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
    assert decode_tc_string(encoded) == tc


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
    tc = make_tc(vendor_consents=list(range(1, 200, 3)))
    bits = core_bits(tc, restrictions=[(3, 1, [(5, 9)])])
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


def test_as_dict_has_exactly_the_contract_keys_and_is_json() -> None:
    tc = make_tc()
    as_dict = tc.as_dict()
    assert list(as_dict) == CONTRACT_KEYS
    assert json.loads(json.dumps(as_dict)) == as_dict
    as_dict["purpose_consents"].append(99)  # type: ignore[attr-defined]
    assert 99 not in tc.purpose_consents


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
