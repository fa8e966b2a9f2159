"""Decode IAB TCF v2 (2.0 to 2.2) TC strings: the core segment, as a pure function.

A TC string is dot-separated base64url segments (no padding). The first is the core
segment, decoded here field by field per the IAB "TC String Format" spec; the
optional disclosed-vendors, allowed-vendors and publisher-TC segments that follow
are only checked for shape (valid base64url, known segment type) and skipped.

Stdlib only. Errors are `TcfError`, whose message names the field at fault and
never echoes the TC string: it is a per-user identifier-like value.
"""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.errors import GatewayError

__all__ = [
    "MAX_TC_STRING_LENGTH",
    "TCF_VERSION",
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
# 1 disclosed vendors, 2 allowed vendors (dropped in 2.2, still seen), 3 publisher TC.
_OPTIONAL_SEGMENT_TYPES = frozenset({1, 2, 3})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TcfError(GatewayError, ValueError):
    """The TC string is malformed or not TCF v2; the message never quotes it."""

    status, slug, title = 422, "invalid-tc-string", "Invalid TC string"


@dataclass(frozen=True)
class TcString:
    """The decoded core segment of a TCF v2 TC string.

    Lists hold the ids whose bit is set, sorted ascending. Timestamps are ISO 8601
    UTC ("2020-01-26T17:01:00Z"; a tenth of a second is kept when non-zero).
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

    def as_dict(self) -> dict[str, object]:
        """Return the fields under the contract's `decode-tcf` JSON keys.

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

    def letters(self, field: str) -> str:
        """Read two 6-bit letters, A=0 ... Z=25."""
        codes = (self.uint(6), self.uint(6))
        if any(code > 25 for code in codes):
            raise TcfError(f"{field} is not two letters A-Z")
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


def _skip_publisher_restrictions(reader: _BitReader) -> None:
    # Parsed so a truncated or malformed tail is caught, then dropped: the gateway
    # decides on purposes, not on per-vendor publisher restrictions.
    for _ in range(reader.uint(12)):
        reader.take(6 + 2)  # PurposeId, RestrictionType
        _read_ranges(reader, "PubRestrictions")


def _read_core(reader: _BitReader, version: int) -> TcString:
    # Keyword arguments are evaluated left to right, which is the wire order.
    decoded = TcString(
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
    )
    _skip_publisher_restrictions(reader)
    return decoded


def _check_optional_segment(segment: str) -> None:
    segment_type = int(_segment_bits(segment)[:3], 2)
    if segment_type not in _OPTIONAL_SEGMENT_TYPES:
        raise TcfError("TC string has a segment of unknown type")


def decode_tc_string(tc: str) -> TcString:
    """Decode the core segment of a TCF v2 TC string.

    Args:
        tc: The TC string as a CMP writes it: base64url segments joined by ".",
            the core segment first.

    Returns:
        The decoded core segment. Publisher restrictions and the optional
        segments are validated for shape, then dropped.

    Raises:
        TcfError: The string is empty, too long, not base64url, truncated, not
            version 2, or holds an impossible value (a letter outside A-Z,
            vendor id 0, a range ending before it starts or above MaxVendorId,
            an unknown segment type). The message never contains the string.
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
    for segment in optional:
        _check_optional_segment(segment)
    return decoded


def proves_consent(tc: TcString, tcf_purposes: Sequence[int]) -> bool:
    """Tell whether the TC string records consent to every given TCF purpose.

    Args:
        tc: A decoded TC string.
        tcf_purposes: TCF purpose ids (1-based) a gateway purpose maps to.

    Returns:
        True when `tcf_purposes` is non-empty and each id is in
        `tc.purpose_consents`; an empty list proves nothing.
    """
    return bool(tcf_purposes) and set(tcf_purposes) <= set(tc.purpose_consents)
