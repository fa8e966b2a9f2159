"""Per-field keyed encodings of a person's linkage fields (pure).

The record-level CLK this replaces (`bench/clk_before.py`) mixed every
field into one filter, so one Dice value had to stand for all of them. A Fellegi-Sunter
model (`pipelines.fs_link`) weighs each field on its own evidence instead,
and for that it needs one encoding per field:

* a keyed Bloom filter of each free-text field's padded bigrams (names,
  street, city), so that a typo still leaves a high Dice coefficient;
* keyed exact hashes of each normalized value and of parts derived from it:
  a name's first three letters and phonetic code, the birth year, month,
  day and decade, the birth date's digits in sorted order (two neighbouring
  digits swapped, the commonest error in a typed date, keeps them: 1970-11-18
  and 1971-01-18), the postcode's prefix. Equal hashes mean equal parts; nothing else
  can be read from them without the key. A hash is the first 64 bits of an
  HMAC-SHA256, as an unsigned integer: two distinct values of one column
  collide with probability about n**2 / 2**65 (3e-8 for a million distinct
  values), and a collision only misleads one comparison level of one pair.

Keys. Every filter and every hashed part has its own key, derived from the
linkage key with HKDF-SHA256 under a label naming the field (and the part),
so the same value in two fields (``martin`` as a first and as a last name,
``05`` as a month and as a day) gives unrelated bits and hashes: a holder of
the table cannot align two columns to learn more than each says alone.

Filter positions come from HMAC-SHA256 of the bigram under the field's key:
each 16-bit word of the digest, reduced modulo the filter length (a power of
two that divides 65536, so there is no bias), is one position.

Hardening: keyed diffusion (after Armknecht, Heng and Schnell, PoPETs 2023).
A plain filter gives each bigram a fixed set of positions that are always set
when it occurs, and a holder of the opened filters can mine those sets
against public bigram frequencies and decode most names (bench/
linkage_attack.py: 55-63 % of surnames at 100,000 people). Each filter is
therefore mixed, every bit XORed with the bits 1 and 3 places further round
the ring (``diffusion`` taps), then permuted by a permutation derived from
the field's key. The mixing makes a bigram's bits depend on the value's
other bigrams; the secret permutation after it keeps a holder without the
key from undoing the mixing (a public XOR map is invertible; one whose
output order is secret cannot be inverted without that order). A typo
changes a few input bits and so at most ``diffusion`` times as many output
bits: similar values keep a high Dice coefficient.

Outputs are bytes (filters, most significant bit first) and integers
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

import numpy as np
import polars as pl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from numpy.typing import NDArray

from gateway.linkage.text import bigrams, fold_text, phonetic

# A name's phonetic code depends on the name alone, and names repeat a lot.
_phonetic = lru_cache(maxsize=1 << 16)(phonetic)
# So does a value's folded form, and each value is folded twice (its filter,
# its hashed parts): about 1 us a fold, 9 per customer record.
_fold = lru_cache(maxsize=1 << 16)(fold_text)

KEY_BYTES = 32
_INFO = b"gateway.linkage.fields/v1/"
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_NUMBER = re.compile(r"[0-9]+")
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
    "birth_digits_h",
    "name_pair_h",
    "street_number_h",
)
FILTER_COLUMNS = tuple(f"{field}_bf" for field in FILTER_FIELDS)
COLUMNS = FILTER_COLUMNS + HASH_COLUMNS


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """The shape of the per-field filters.

    Attributes:
        bits: Filter length in bits; a power of two from 64 to 65536.
        hashes: Positions set per bigram (at most 16: one digest's words).
        diffusion: Bits XORed into each output bit (1: no mixing, the keyed
            permutation only).
    """

    bits: int = 512
    hashes: int = 10
    diffusion: int = 3

    def __post_init__(self) -> None:
        if not 64 <= self.bits <= 65536 or self.bits & (self.bits - 1):
            raise ValueError("bits must be a power of two from 64 to 65536")
        if not 1 <= self.hashes <= 16:
            raise ValueError("hashes must be from 1 to 16")
        if not 1 <= self.diffusion <= 8:
            raise ValueError("diffusion must be from 1 to 8")


def keyed_permutation(key: bytes, size: int) -> NDArray[np.intp]:
    """A permutation of ``range(size)`` drawn by Fisher-Yates from HMAC-SHA256.

    The draws come from HMAC in counter mode, not from numpy's generators,
    whose streams may change between versions: an encoding must not change
    with a library upgrade. Rejection sampling keeps every draw uniform.
    """
    order = list(range(size))
    counter = 0
    words: list[int] = []
    for i in range(size - 1, 0, -1):
        bound = i + 1
        limit = (1 << 32) - (1 << 32) % bound
        while True:
            if not words:
                digest = hmac.digest(key, counter.to_bytes(8, "big"), hashlib.sha256)
                words = [
                    int.from_bytes(digest[k : k + 4], "big") for k in range(0, 32, 4)
                ]
                counter += 1
            draw = words.pop()
            if draw < limit:
                break
        j = draw % bound
        order[i], order[j] = order[j], order[i]
    return np.asarray(order, dtype=np.intp)


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
        "birth_digits_h": "".join(sorted(year + month + day)),
    }


def derived_parts(record: Mapping[str, str | None]) -> dict[str, str | None]:
    """Return the plaintext of each hashed part (kept inside this module's callers).

    Exposed for tests only: the encoder hashes these at once and never
    returns them.
    """
    parts: dict[str, str | None] = {}
    # The two names as an unordered pair: equal for "mason blake" and
    # "blake mason", so a record whose first and last names were swapped can
    # still be told to agree on both (each name has its own key otherwise,
    # and a first name is never compared with a surname). It says nothing
    # the two names' own hashes do not already say together, bar that swap.
    folded = [_fold(record.get(field) or "") for field in NAME_FIELDS]
    parts["name_pair_h"] = "\x1f".join(sorted(folded)) if all(folded) else None
    for field in NAME_FIELDS:
        text = _fold(record.get(field) or "")
        squeezed = text.replace(" ", "")
        parts[f"{field}_h"] = text or None
        parts[f"{field}_p3_h"] = squeezed[:3] or None
        parts[f"{field}_ph_h"] = (_phonetic(text) or None) if text else None
    for field in ("street", "city"):
        parts[f"{field}_h"] = _fold(record.get(field) or "") or None
    # The house number on its own: a mistyped street name ("225 smiht
    # shoals") and a neighbour's address ("87 smith shoals") are equally
    # close by the street's filter, and only the number tells them apart.
    # Leading zeros stripped as text ("007" is "7"), not through int(),
    # which refuses digit strings over 4,300 long.
    number = _NUMBER.search(parts["street_h"] or "")
    parts["street_number_h"] = (number.group().lstrip("0") or "0") if number else None
    postcode = _fold(record.get("postal_code") or "").replace(" ", "")
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
        self._permutations = {
            f: keyed_permutation(field_key(key, f"diffusion/{f}"), self._spec.bits)
            for f in FILTER_FIELDS
        }
        # Output bit j XORs input bits j, j+1, j+3, j+7... round the ring.
        self._taps = [(1 << k) - 1 for k in range(1, self._spec.diffusion)]
        self._ring = (1 << self._spec.bits) - 1
        self._hash_keys = {c: field_key(key, f"hash/{c}") for c in HASH_COLUMNS}
        # Names, cities and date parts repeat a lot: the masks of bigrams and
        # the encodings of whole values are kept, up to `_CACHE` entries each.
        self._masks: dict[tuple[str, str], int] = {}
        self._filters: dict[tuple[str, str], bytes] = {}
        self._hashes: dict[tuple[str, str], int] = {}

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
        text = _fold(value or "")
        if not text:
            return None
        cached = self._filters.get((field, text))
        if cached is not None:
            return cached
        bits = 0
        for gram in bigrams(text):
            bits |= self._gram_mask(field, gram)
        encoded = self._diffuse(field, bits)
        _remember(self._filters, (field, text), encoded)
        return encoded

    def _diffuse(self, field: str, bits: int) -> bytes:
        """Mix a plain filter round the ring, then permute it under the field's key."""
        size = self._spec.bits
        mixed = bits
        for tap in self._taps:
            mixed ^= ((bits << tap) | (bits >> (size - tap))) & self._ring
        plain = np.frombuffer(mixed.to_bytes(size // 8, "big"), dtype=np.uint8)
        permuted = np.unpackbits(plain)[self._permutations[field]]
        return np.packbits(permuted).tobytes()

    def _hash(self, column: str, value: str | None) -> int | None:
        if value is None:
            return None
        cached = self._hashes.get((column, value))
        if cached is not None:
            return cached
        digest = hmac.digest(self._hash_keys[column], value.encode(), hashlib.sha256)
        encoded = int.from_bytes(digest[:8], "big")
        _remember(self._hashes, (column, value), encoded)
        return encoded

    def __call__(
        self, record: Mapping[str, str | None]
    ) -> dict[str, bytes | int | None]:
        """Encode one normalized record (birth date as ``YYYY-MM-DD``)."""
        out: dict[str, bytes | int | None] = {
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
        **dict.fromkeys(HASH_COLUMNS, pl.UInt64),
    }
    return pl.DataFrame(columns, schema=schema)


def dice(a: bytes, b: bytes) -> float:
    """Dice coefficient of two equal-length filters (0.0 when both are empty)."""
    if len(a) != len(b):
        raise ValueError("filters of different lengths")
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    total = x.bit_count() + y.bit_count()
    return 2.0 * (x & y).bit_count() / total if total else 0.0
