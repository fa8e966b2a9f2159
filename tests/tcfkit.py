"""An IAB TCF v2 TC string encoder for tests, written from the spec.

Independent of the decoder (bytes through `base64.urlsafe_b64encode`, not the
decoder's sextets), so round trips check one against the other.
"""

import base64
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from gateway.consent.tcf import PublisherRestriction, PublisherTc, TcString

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Ranges = Sequence[tuple[int, int]]
Restriction = tuple[int, int, Ranges]


class BitWriter:
    def __init__(self) -> None:
        self.bits = ""

    def uint(self, value: int, width: int) -> "BitWriter":
        assert 0 <= value < 2**width, (value, width)
        self.bits += format(value, f"0{width}b") if width else ""
        return self

    def flag(self, value: bool) -> "BitWriter":
        return self.uint(int(value), 1)

    def bitfield(self, ids: Iterable[int], width: int) -> "BitWriter":
        on = set(ids)
        self.bits += "".join("1" if i in on else "0" for i in range(1, width + 1))
        return self

    def letters(self, text: str) -> "BitWriter":
        for char in text:
            self.uint(ord(char) - ord("A"), 6)
        return self

    def ranges(self, entries: Ranges) -> "BitWriter":
        self.uint(len(entries), 12)
        for start, end in entries:
            self.flag(start != end).uint(start, 16)
            if start != end:
                self.uint(end, 16)
        return self


def to_b64url(bits: str) -> str:
    bits += "0" * (-len(bits) % 8)
    raw = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in sorted(ids):
        if out and out[-1][1] == i - 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def vendor_section(
    ids: Sequence[int],
    *,
    ranged: bool = False,
    max_vendor_id: int | None = None,
    entries: Ranges | None = None,
) -> str:
    top = max(ids, default=0) if max_vendor_id is None else max_vendor_id
    writer = BitWriter().uint(top, 16).flag(ranged)
    if ranged:
        return writer.ranges(runs(ids) if entries is None else entries).bits
    return writer.bitfield(ids, top).bits


def deciseconds(iso: str) -> int:
    return (datetime.fromisoformat(iso) - EPOCH) // timedelta(milliseconds=100)


def iso(ds: int) -> str:
    moment = EPOCH + timedelta(milliseconds=100 * ds)
    tenths = f".{moment.microsecond // 100_000}" if moment.microsecond else ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + tenths + "Z"


def restrictions_of(tc: TcString) -> list[Restriction]:
    return [
        (r.purpose_id, r.restriction_type, runs(r.vendors))
        for r in tc.publisher_restrictions
    ]


def merged(restrictions: Sequence[Restriction]) -> list[PublisherRestriction]:
    """What a decoder should make of restriction entries: one per (purpose, type)."""
    vendors: dict[tuple[int, int], set[int]] = {}
    for purpose_id, restriction_type, entries in restrictions:
        ids = vendors.setdefault((purpose_id, restriction_type), set())
        for start, end in entries:
            ids.update(range(start, end + 1))
    return [
        PublisherRestriction(purpose_id, restriction_type, sorted(ids))
        for (purpose_id, restriction_type), ids in sorted(vendors.items())
    ]


def core_bits(
    tc: TcString,
    *,
    version: int | None = None,
    consents: str | None = None,
    legitimate_interests: str | None = None,
    restrictions: Sequence[Restriction] | None = None,
) -> str:
    w = BitWriter().uint(tc.version if version is None else version, 6)
    w.uint(deciseconds(tc.created), 36).uint(deciseconds(tc.last_updated), 36)
    w.uint(tc.cmp_id, 12).uint(tc.cmp_version, 12).uint(tc.consent_screen, 6)
    w.letters(tc.consent_language).uint(tc.vendor_list_version, 12)
    w.uint(tc.policy_version, 6).flag(tc.is_service_specific)
    w.flag(tc.use_non_standard_texts).bitfield(tc.special_feature_optins, 12)
    w.bitfield(tc.purpose_consents, 24).bitfield(tc.purpose_legitimate_interests, 24)
    w.flag(tc.purpose_one_treatment).letters(tc.publisher_cc)
    w.bits += consents if consents is not None else vendor_section(tc.vendor_consents)
    w.bits += (
        legitimate_interests
        if legitimate_interests is not None
        else vendor_section(tc.vendor_legitimate_interests)
    )
    if restrictions is None:
        restrictions = restrictions_of(tc)
    w.uint(len(restrictions), 12)
    for purpose_id, restriction_type, entries in restrictions:
        w.uint(purpose_id, 6).uint(restriction_type, 2).ranges(entries)
    return w.bits


def segments_of(tc: TcString) -> list[str]:
    out = []
    if tc.disclosed_vendors is not None:
        out.append(disclosed_vendors_segment(tc.disclosed_vendors))
    if tc.publisher_tc is not None:
        out.append(publisher_tc_segment(tc.publisher_tc))
    return out


def encode(
    tc: TcString, *, segments: Sequence[str] | None = None, **options: object
) -> str:
    """The TC string of `tc`; its segments follow from it unless given."""
    tail = segments_of(tc) if segments is None else segments
    return ".".join([to_b64url(core_bits(tc, **options)), *tail])  # type: ignore[arg-type]


# iabtcf-java TCStringV2Test.testPublisherPurposes: consent 1, LI 24, two
# custom purposes, custom consent 2, custom LI 1 and 2.
JAVA_PUBLISHER_TC = PublisherTc([1], [24], [2], [1, 2])


def publisher_tc_segment(ptc: PublisherTc = JAVA_PUBLISHER_TC) -> str:
    custom = max(
        [0, *ptc.custom_purpose_consents, *ptc.custom_purpose_legitimate_interests]
    )
    w = BitWriter().uint(3, 3).bitfield(ptc.purpose_consents, 24)
    w.bitfield(ptc.purpose_legitimate_interests, 24).uint(custom, 6)
    w.bitfield(ptc.custom_purpose_consents, custom)
    return to_b64url(w.bitfield(ptc.custom_purpose_legitimate_interests, custom).bits)


def disclosed_vendors_segment(ids: Sequence[int], *, ranged: bool = False) -> str:
    return to_b64url("001" + vendor_section(ids, ranged=ranged))


def make_tc(**over: object) -> TcString:
    fields: dict[str, object] = {
        "version": 2,
        "created": "2024-04-17T22:00:00Z",
        "last_updated": "2024-05-01T09:30:15.7Z",
        "cmp_id": 31,
        "cmp_version": 7,
        "consent_screen": 1,
        "consent_language": "FR",
        "vendor_list_version": 52,
        "policy_version": 4,
        "is_service_specific": True,
        "use_non_standard_texts": False,
        "special_feature_optins": [1],
        "purpose_consents": [1, 3, 4],
        "purpose_legitimate_interests": [2, 7, 10],
        "purpose_one_treatment": False,
        "publisher_cc": "DE",
        "vendor_consents": [1, 2, 3, 10, 755],
        "vendor_legitimate_interests": [8, 9, 755],
    }
    return TcString(**(fields | over))  # type: ignore[arg-type]


def valid_tc(vendor_id: int, **over: object) -> TcString:
    """A TCF v2.3 string granting purposes 1-4 and 7 to `vendor_id`, disclosed."""
    fields: dict[str, object] = {
        "policy_version": 5,
        "purpose_consents": [1, 2, 3, 4, 7],
        "purpose_legitimate_interests": [2, 7, 10],
        "vendor_consents": [2, 10, vendor_id],
        "disclosed_vendors": [2, 8, 10, vendor_id],
    }
    return make_tc(**(fields | over))
