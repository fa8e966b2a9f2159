"""Per-field keyed encodings of a person's linkage fields (pure).

The record-level CLK (`gateway.linkage.clk`) mixes every field into one
filter, so one Dice value has to stand for all of them. A Fellegi-Sunter
model (`pipelines.fs_link`) weighs each field on its own evidence instead,
and for that it needs one encoding per field:

* a keyed Bloom filter of each free-text field's padded bigrams (names,
  street, city), so that a typo still leaves a high Dice coefficient;
* keyed exact hashes of each normalized value and of parts derived from it:
  a name's first three letters and phonetic code, the birth year, month,
  day and decade, the postcode's prefix. Equal hashes mean equal parts; nothing else
  can be read from them without the key.

Keys. Every filter and every hashed part has its own key, derived from the
linkage key with HKDF-SHA256 under a label naming the field (and the part),
so the same value in two fields (``martin`` as a first and as a last name,
``05`` as a month and as a day) gives unrelated bits and hashes: a holder of
the table cannot align two columns to learn more than each says alone.

Filter positions come from HMAC-SHA256 of the bigram under the field's key:
each 16-bit word of the digest, reduced modulo the filter length (a power of
two that divides 65536, so there is no bias), is one position.

Outputs are bytes (filters, most significant bit first) and hex strings
(hashes) only; a missing or unusable value gives None. Everything is
deterministic in (key, spec, values).
"""

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import polars as pl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.linkage.blocking import phonetic
from gateway.linkage.clk import KEY_BYTES, bigrams, fold_text

# A name's phonetic code depends on the name alone, and names repeat a lot.
_phonetic = lru_cache(maxsize=1 << 16)(phonetic)

_INFO = b"gateway.linkage.fields/v1/"
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
FILTER_FIELDS = ("first_name", "last_name", "street", "city")
NAME_FIELDS = ("first_name", "last_name")
# Hashed parts: column name -> how it is derived from the normalized record.
HASH_COLUMNS = (
    "first_name_h",
    "first_name_p3_h",
    "first_name_ph_h",
    "last_name_h",
    "last_name_p3_h",
    "last_name_ph_h",
    "street_h",
    "city_h",
    "postal_code_h",
    "postal_code_p3_h",
    "birth_date_h",
    "birth_year_h",
    "birth_month_h",
    "birth_day_h",
    "birth_decade_h",
)
FILTER_COLUMNS = tuple(f"{field}_bf" for field in FILTER_FIELDS)
COLUMNS = FILTER_COLUMNS + HASH_COLUMNS


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """The shape of the per-field filters.

    Attributes:
        bits: Filter length in bits; a power of two from 64 to 65536.
        hashes: Positions set per bigram (at most 16: one digest's words).
        hash_bytes: Bytes kept of each exact hash (hex is twice as long); 16
            bytes make an accidental collision between two values negligible.
    """

    bits: int = 512
    hashes: int = 10
    hash_bytes: int = 16

    def __post_init__(self) -> None:
        if not 64 <= self.bits <= 65536 or self.bits & (self.bits - 1):
            raise ValueError("bits must be a power of two from 64 to 65536")
        if not 1 <= self.hashes <= 16:
            raise ValueError("hashes must be from 1 to 16")
        if not 8 <= self.hash_bytes <= 32:
            raise ValueError("hash_bytes must be from 8 to 32")


def field_key(key: bytes, label: str) -> bytes:
    """Derive the 32-byte key of one field or part from the linkage key.

    Raises:
        ValueError: `key` is shorter than 32 bytes.
    """
    if len(key) < KEY_BYTES:
        raise ValueError(f"a linkage key has at least {KEY_BYTES} bytes")
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + label.encode()
    )
    return hkdf.derive(key)


def _birth_parts(value: str | None) -> dict[str, str | None]:
    match = _ISO_DATE.fullmatch(value.strip()) if value else None
    if match is None:
        return dict.fromkeys(c for c in HASH_COLUMNS if c.startswith("birth_"))
    year, month, day = match.groups()
    return {
        "birth_date_h": f"{year}{month}{day}",
        "birth_year_h": year,
        "birth_month_h": month,
        "birth_day_h": day,
        # A typo in the year's last digit keeps the decade; another
        # generation does not.
        "birth_decade_h": year[:3],
    }


def derived_parts(record: Mapping[str, str | None]) -> dict[str, str | None]:
    """Return the plaintext of each hashed part (kept inside this module's callers).

    Exposed for tests only: the encoder hashes these at once and never
    returns them.
    """
    parts: dict[str, str | None] = {}
    for field in NAME_FIELDS:
        text = fold_text(record.get(field) or "")
        squeezed = text.replace(" ", "")
        parts[f"{field}_h"] = text or None
        parts[f"{field}_p3_h"] = squeezed[:3] or None
        parts[f"{field}_ph_h"] = (_phonetic(text) or None) if text else None
    for field in ("street", "city"):
        parts[f"{field}_h"] = fold_text(record.get(field) or "") or None
    postcode = fold_text(record.get("postal_code") or "").replace(" ", "")
    parts["postal_code_h"] = postcode or None
    parts["postal_code_p3_h"] = postcode[:3] or None
    parts.update(_birth_parts(record.get("birth_date")))
    return parts


_CACHE = 1 << 16


def _remember(
    cache: dict[tuple[str, str], Any], key: tuple[str, str], value: Any
) -> None:
    # Bounded: once full, new values are encoded each time (no eviction cost).
    if len(cache) < _CACHE:
        cache[key] = value


class FieldEncoder:
    """Encode records' linkage fields under one linkage key.

    Derives the per-field keys once; calling the encoder on a record returns
    one value per name in `COLUMNS`.
    """

    def __init__(self, key: bytes, spec: FieldSpec | None = None) -> None:
        self._spec = spec or FieldSpec()
        self._filter_keys = {f: field_key(key, f"bloom/{f}") for f in FILTER_FIELDS}
        self._hash_keys = {c: field_key(key, f"hash/{c}") for c in HASH_COLUMNS}
        # Names, cities and date parts repeat a lot: the masks of bigrams and
        # the encodings of whole values are kept, up to `_CACHE` entries each.
        self._masks: dict[tuple[str, str], int] = {}
        self._filters: dict[tuple[str, str], bytes] = {}
        self._hashes: dict[tuple[str, str], str] = {}

    def __repr__(self) -> str:
        # Never show the derived keys.
        return f"FieldEncoder(spec={self._spec!r})"

    def _gram_mask(self, field: str, gram: str) -> int:
        """The filter bits of one bigram, most significant bit first."""
        mask = self._masks.get((field, gram))
        if mask is not None:
            return mask
        digest = hmac.digest(self._filter_keys[field], gram.encode(), hashlib.sha256)
        top = self._spec.bits - 1
        mask = 0
        for i in range(self._spec.hashes):
            position = int.from_bytes(digest[2 * i : 2 * i + 2], "big") & top
            mask |= 1 << (top - position)
        _remember(self._masks, (field, gram), mask)
        return mask

    def bloom(self, field: str, value: str | None) -> bytes | None:
        """Return the keyed Bloom filter of one field's value, or None if empty."""
        text = fold_text(value or "")
        if not text:
            return None
        cached = self._filters.get((field, text))
        if cached is not None:
            return cached
        bits = 0
        for gram in bigrams(text):
            bits |= self._gram_mask(field, gram)
        encoded = bits.to_bytes(self._spec.bits // 8, "big")
        _remember(self._filters, (field, text), encoded)
        return encoded

    def _hash(self, column: str, value: str | None) -> str | None:
        if value is None:
            return None
        cached = self._hashes.get((column, value))
        if cached is not None:
            return cached
        digest = hmac.digest(self._hash_keys[column], value.encode(), hashlib.sha256)
        encoded = digest[: self._spec.hash_bytes].hex()
        _remember(self._hashes, (column, value), encoded)
        return encoded

    def __call__(
        self, record: Mapping[str, str | None]
    ) -> dict[str, bytes | str | None]:
        """Encode one normalized record (birth date as ``YYYY-MM-DD``)."""
        out: dict[str, bytes | str | None] = {
            f"{field}_bf": self.bloom(field, record.get(field))
            for field in FILTER_FIELDS
        }
        for column, value in derived_parts(record).items():
            out[column] = self._hash(column, value)
        return out


def encoded_frame(
    rows: Iterable[Mapping[str, str | None]],
    key: bytes,
    spec: FieldSpec | None = None,
) -> pl.DataFrame:
    """Encode normalized rows into a frame: ``record_id`` then `COLUMNS`.

    Args:
        rows: Each with ``record_id`` and the normalized linkage fields.
        key: The linkage key (32 bytes or more).
        spec: Filter shape; the default when None.
    """
    encode = FieldEncoder(key, spec)
    columns: dict[str, list[object]] = {"record_id": [], **{c: [] for c in COLUMNS}}
    for row in rows:
        columns["record_id"].append(row["record_id"])
        for column, value in encode(row).items():
            columns[column].append(value)
    schema = {
        "record_id": pl.String,
        **dict.fromkeys(FILTER_COLUMNS, pl.Binary),
        **dict.fromkeys(HASH_COLUMNS, pl.String),
    }
    return pl.DataFrame(columns, schema=schema)


def dice(a: bytes, b: bytes) -> float:
    """Dice coefficient of two equal-length filters (0.0 when both are empty)."""
    if len(a) != len(b):
        raise ValueError("filters of different lengths")
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    total = x.bit_count() + y.bit_count()
    return 2.0 * (x & y).bit_count() / total if total else 0.0
