"""Phone-number validity from phonenumbers' own metadata, compiled once.

`phonenumbers.is_valid_number` walks its metadata objects on every call
(about 25 µs); the same test, built from the same metadata into compiled
patterns, costs about a microsecond. Shared by ingestion's normalizer and
the phone recognizer's whole-value check; the library stays the source of
truth, and tests compare both on random numbers of every prefix.
"""

import re
from collections.abc import Callable

import phonenumbers


def _desc_matcher(desc: object) -> Callable[[str], bool] | None:
    """A compiled form of one phonenumbers number description (lengths + pattern)."""
    pattern = getattr(desc, "national_number_pattern", None)
    if desc is None or pattern is None:
        return None
    lengths = frozenset(getattr(desc, "possible_length", ()) or ())
    compiled = re.compile(pattern)

    def matches(nsn: str) -> bool:
        return (not lengths or len(nsn) in lengths) and (
            compiled.fullmatch(nsn) is not None
        )

    return matches


def region_validity(region: str) -> Callable[[str], bool]:
    """``phonenumbers.is_valid_number`` for one region's national numbers.

    It applies the same test (the general description, then any number
    type) without the per-call metadata lookups and object walks.
    """
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        raise ValueError(f"no phone metadata for {region}")
    general = _desc_matcher(metadata.general_desc)
    kinds = [
        matcher
        # Validity is "any type matches", so order is free: the common types
        # first, and most numbers stop at the first test.
        for desc in (
            metadata.mobile,
            metadata.fixed_line,
            metadata.premium_rate,
            metadata.toll_free,
            metadata.shared_cost,
            metadata.voip,
            metadata.personal_number,
            metadata.pager,
            metadata.uan,
            metadata.voicemail,
        )
        if (matcher := _desc_matcher(desc)) is not None
    ]
    if general is None:
        raise ValueError(f"no phone metadata for {region}")

    def is_valid(nsn: str) -> bool:
        return general(nsn) and any(kind(nsn) for kind in kinds)

    return is_valid


# France's national significant numbers: nine digits, never a leading 0 (the
# trunk prefix), so "+33" and the nine digits are the number whole.
FRENCH_NSN = re.compile(r"[1-9][0-9]{8}")
FRENCH_VALID = region_validity("FR")
