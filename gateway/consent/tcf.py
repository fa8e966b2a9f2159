"""Decode IAB TCF v2 TC strings, every segment, as a pure function.

A TC string is dot-separated base64url segments (no padding). The first is the
core segment (with its publisher restrictions); the others each start with a
3-bit segment type: 1 DisclosedVendors (mandatory since TCF v2.3), 2
AllowedVendors (dropped in v2.2, still parsed so old strings decode) and 3
Publisher TC. All are decoded here field by field per the IAB "TC String
Format" spec. Whether a string is acceptable under TCF v2.3, and what it
proves, is `gateway.consent.tcf_proof`'s decision, not the decoder's.

Stdlib only. Errors are `TcfError`, whose message names the field at fault and
never echoes the TC string: it is a per-user identifier-like value.
"""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gateway.errors import GatewayError

__all__ = [
    "MAX_TC_STRING_LENGTH",
    "TCF_VERSION",
    "PublisherRestriction",
    "PublisherTc",
    "TcString",
    "TcfError",
    "decode_tc_string",
    "proves_consent",
]

TCF_VERSION = 2
# Two full 65535-vendor bitfields plus a disclosed-vendors segment stay under 35k
# characters; the cap only keeps garbage from costing memory.
MAX_TC_STRING_LENGTH = 100_000

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SEXTETS = {char: format(value, "06b") for value, char in enumerate(_ALPHABET)}
_DISCLOSED_VENDORS, _ALLOWED_VENDORS, _PUBLISHER_TC = 1, 2, 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TcfError(GatewayError, ValueError):
    """The TC string is malformed or not TCF v2; the message never quotes it."""

    status, slug, title = 422, "invalid-tc-string", "Invalid TC string"


@dataclass(frozen=True)
class PublisherRestriction:
    """A publisher's restriction of one purpose for some vendors.

    `restriction_type`: 0 purpose flatly not allowed, 1 require consent, 2
    require legitimate interest (3 is undefined by the spec). Entries that
    repeat a (purpose, type) pair on the wire are merged into one.
    """

    purpose_id: int
    restriction_type: int
    vendors: list[int]


@dataclass(frozen=True)
class PublisherTc:
    """The Publisher TC segment: the publisher's own purposes and custom ones."""

    purpose_consents: list[int]
    purpose_legitimate_interests: list[int]
    custom_purpose_consents: list[int]
    custom_purpose_legitimate_interests: list[int]


@dataclass(frozen=True)
class TcString:
    """A decoded TCF v2 TC string.

    Lists hold the ids whose bit is set, sorted ascending. Timestamps are ISO 8601
    UTC ("2020-01-26T17:01:00Z"; a tenth of a second is kept when non-zero).
    `disclosed_vendors` and `publisher_tc` are None when their segment is absent
    (an empty DisclosedVendors segment decodes to an empty list).
    """

    version: int
    created: str
    last_updated: str
    cmp_id: int
    cmp_version: int
    consent_screen: int
    consent_language: str
    vendor_list_version: int
    policy_version: int
    is_service_specific: bool
    use_non_standard_texts: bool
    special_feature_optins: list[int]
    purpose_consents: list[int]
    purpose_legitimate_interests: list[int]
    purpose_one_treatment: bool
    publisher_cc: str
    vendor_consents: list[int]
    vendor_legitimate_interests: list[int]
    publisher_restrictions: list[PublisherRestriction] = field(default_factory=list)
    disclosed_vendors: list[int] | None = None
    publisher_tc: PublisherTc | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the fields under the contract's `decode-tcf` JSON keys.

        The contract's keys come first, then `publisher_restrictions` (a list
        of `{purpose_id, restriction_type, vendors}`), `disclosed_vendors` and
        `publisher_tc` (null when their segment is absent).

        Returns:
            A new dict; its lists are copies, so changing them leaves this intact.
        """
        return dataclasses.asdict(self)


class _BitReader:
    """Read big-endian unsigned fields in order from a string of '0'/'1'."""

    def __init__(self, bits: str) -> None:
        self._bits = bits
        self._pos = 0

    def take(self, width: int) -> str:
        end = self._pos + width
        if end > len(self._bits):
            raise TcfError("TC string is truncated")
        chunk = self._bits[self._pos : end]
        self._pos = end
        return chunk

    def uint(self, width: int) -> int:
        chunk = self.take(width)
        return int(chunk, 2) if chunk else 0

    def flag(self) -> bool:
        return self.take(1) == "1"

    def ids(self, width: int) -> list[int]:
        """Read a bitfield; bit i (0-based) stands for id i + 1."""
        return [i + 1 for i, bit in enumerate(self.take(width)) if bit == "1"]

    def letters(self, field_name: str) -> str:
        """Read two 6-bit letters, A=0 ... Z=25."""
        codes = (self.uint(6), self.uint(6))
        if any(code > 25 for code in codes):
            raise TcfError(f"{field_name} is not two letters A-Z")
        return "".join(chr(ord("A") + code) for code in codes)

    def timestamp(self) -> str:
        """Read 36 bits of deciseconds since the epoch as ISO 8601 UTC."""
        seconds, tenths = divmod(self.uint(36), 10)
        text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{text}.{tenths}Z" if tenths else f"{text}Z"


def _segment_bits(segment: str) -> str:
    # Decoding sextet by sextet sidesteps base64 padding rules: the spec pads each
    # segment with zero bits, and some encoders also append "=".
    body = segment.rstrip("=")
    if not body or len(segment) - len(body) > 2:
        raise TcfError("TC string has an empty or badly padded segment")
    try:
        return "".join(_SEXTETS[char] for char in body)
    except KeyError:
        raise TcfError("TC string is not base64url") from None


def _read_ranges(reader: _BitReader, section: str) -> list[tuple[int, int]]:
    entries = []
    for _ in range(reader.uint(12)):
        is_range = reader.flag()
        start = reader.uint(16)
        end = reader.uint(16) if is_range else start
        if start < 1:
            raise TcfError(f"{section} names vendor id 0")
        if end < start:
            raise TcfError(f"{section} has a range that ends before it starts")
        entries.append((start, end))
    return entries


def _read_vendors(reader: _BitReader, section: str) -> list[int]:
    max_vendor_id = reader.uint(16)
    if not reader.flag():
        return reader.ids(max_vendor_id)
    vendors: set[int] = set()
    for start, end in _read_ranges(reader, section):
        if end > max_vendor_id:
            raise TcfError(f"{section} names a vendor above its MaxVendorId")
        vendors.update(range(start, end + 1))
    return sorted(vendors)


def _read_publisher_restrictions(reader: _BitReader) -> list[PublisherRestriction]:
    # Real CMPs repeat a (purpose, type) pair (iabtcf-es issue 201); the
    # restriction applies to the union of their vendors.
    merged: dict[tuple[int, int], set[int]] = {}
    for _ in range(reader.uint(12)):
        key = (reader.uint(6), reader.uint(2))
        vendors = merged.setdefault(key, set())
        for start, end in _read_ranges(reader, "PubRestrictions"):
            vendors.update(range(start, end + 1))
    return [
        PublisherRestriction(purpose, kind, sorted(vendors))
        for (purpose, kind), vendors in sorted(merged.items())
    ]


def _read_core(reader: _BitReader, version: int) -> TcString:
    # Keyword arguments are evaluated left to right, which is the wire order.
    return TcString(
        version=version,
        created=reader.timestamp(),
        last_updated=reader.timestamp(),
        cmp_id=reader.uint(12),
        cmp_version=reader.uint(12),
        consent_screen=reader.uint(6),
        consent_language=reader.letters("ConsentLanguage"),
        vendor_list_version=reader.uint(12),
        policy_version=reader.uint(6),
        is_service_specific=reader.flag(),
        use_non_standard_texts=reader.flag(),
        special_feature_optins=reader.ids(12),
        purpose_consents=reader.ids(24),
        purpose_legitimate_interests=reader.ids(24),
        purpose_one_treatment=reader.flag(),
        publisher_cc=reader.letters("PublisherCC"),
        vendor_consents=_read_vendors(reader, "VendorConsents"),
        vendor_legitimate_interests=_read_vendors(reader, "VendorLegitimateInterests"),
        publisher_restrictions=_read_publisher_restrictions(reader),
    )


def _read_publisher_tc(reader: _BitReader) -> PublisherTc:
    consents, legitimate_interests = reader.ids(24), reader.ids(24)
    custom = reader.uint(6)
    return PublisherTc(
        purpose_consents=consents,
        purpose_legitimate_interests=legitimate_interests,
        custom_purpose_consents=reader.ids(custom),
        custom_purpose_legitimate_interests=reader.ids(custom),
    )


def _read_optional(
    segments: Sequence[str],
) -> tuple[list[int] | None, PublisherTc | None]:
    """Decode the segments after the core one: (disclosed vendors, publisher TC)."""
    seen: set[int] = set()
    disclosed: list[int] | None = None
    publisher_tc: PublisherTc | None = None
    for segment in segments:
        reader = _BitReader(_segment_bits(segment))
        segment_type = reader.uint(3)
        if segment_type in seen:
            raise TcfError(f"TC string repeats segment type {segment_type}")
        seen.add(segment_type)
        if segment_type == _DISCLOSED_VENDORS:
            disclosed = _read_vendors(reader, "DisclosedVendors")
        elif segment_type == _ALLOWED_VENDORS:
            _read_vendors(reader, "AllowedVendors")  # checked, then dropped
        elif segment_type == _PUBLISHER_TC:
            publisher_tc = _read_publisher_tc(reader)
        else:
            raise TcfError("TC string has a segment of unknown type")
    return disclosed, publisher_tc


def decode_tc_string(tc: str) -> TcString:
    """Decode a TCF v2 TC string, every segment.

    Any TCF v2 string decodes (policy versions 2 to 5 and later); whether it
    is acceptable under TCF v2.3 is `tcf_proof.v23_refusal`'s decision.

    Args:
        tc: The TC string as a CMP writes it: base64url segments joined by ".",
            the core segment first.

    Returns:
        The decoded string. An AllowedVendors segment (TCF before v2.2) is
        checked, then dropped.

    Raises:
        TcfError: The string is empty, too long, not base64url, truncated, not
            version 2, or holds an impossible value (a letter outside A-Z,
            vendor id 0, a range ending before it starts or above MaxVendorId,
            an unknown or repeated segment type). The message never contains
            the string.
    """
    if not isinstance(tc, str) or not tc:
        raise TcfError("TC string is empty or not a string")
    if len(tc) > MAX_TC_STRING_LENGTH:
        raise TcfError("TC string is too long")
    core, *optional = tc.split(".")
    reader = _BitReader(_segment_bits(core))
    version = reader.uint(6)
    if version != TCF_VERSION:
        raise TcfError(f"unsupported TCF version {version}; expected {TCF_VERSION}")
    decoded = _read_core(reader, version)
    disclosed, publisher_tc = _read_optional(optional)
    return dataclasses.replace(
        decoded, disclosed_vendors=disclosed, publisher_tc=publisher_tc
    )


def proves_consent(tc: TcString, tcf_purposes: Sequence[int]) -> bool:
    """Tell whether the TC string records consent to every given TCF purpose.

    Purposes only: whether the operator's vendor may rely on them is
    `tcf_proof.consent_refusal`'s decision.

    Args:
        tc: A decoded TC string.
        tcf_purposes: TCF purpose ids (1-based) a gateway purpose maps to.

    Returns:
        True when `tcf_purposes` is non-empty and each id is in
        `tc.purpose_consents`; an empty list proves nothing.
    """
    return bool(tcf_purposes) and set(tcf_purposes) <= set(tc.purpose_consents)
