"""The record-level CLK the gateway stored before per-field encodings (frozen copy).

Kept for `bench/linkage_attack.py` only, which compares what one record-level
filter leaks with what the per-field encodings leak; nothing in the gateway
uses it any more. Folding, bigrams and the keyed permutation are the
gateway's own (`gateway.linkage.text`, `gateway.linkage.fields`), the same
algorithms this module had. Below, its original description.

Keyed Bloom-filter encodings (CLKs) of a person's fields, and Dice on them (pure).

A cryptographic long-term key (CLK, Schnell et al. 2011) puts the q-grams of
all of a record's linkage fields into one Bloom filter. Two encodings of the
same person with a typo share most of their bits, so the Dice coefficient of
the filters stands in for string similarity, while the filter alone does not
give the names back to whoever holds it without the key.

Hashing. Every token is hashed with HMAC-SHA256 under a key derived from the
linkage key for its field, not with the double hashing of the original
proposal: without the key nobody can encode a dictionary of names to compare
(Niedermeyer et al. 2014 broke keyless double hashing that way), the positions
of one q-gram have no arithmetic structure to exploit, and ``paris`` as a city
and as a surname set unrelated bits. First and last names share one key so
that a record with the two swapped still matches. The number of positions per
token is the field's weight: a birth date is short but says more than a
street does.

Hardening: keyed diffusion (Armknecht, Heng and Schnell, PoPETs 2023). The
Bloom filter is permuted by a permutation derived from the key, then every
output bit is the XOR of a few permuted bits. A q-gram therefore owns no set
of positions that are "always 1 when it is present": whether its bits show
depends on the record's other q-grams. That is what the pattern-mining
attacks (Christen et al. 2017-2018, Vidanage et al. 2019) feed on: frequent
q-grams found through bit positions that are set together; balancing and
XOR-folding only blunt them, since a balanced filter's complement bits and a
fold's fixed pairing are visible in the data. Diffusion is deterministic and
costs little recall: a changed input bit flips at most ``diffusion`` output
bits, and with about a quarter of the input bits set, the Dice of true pairs
stays well above that of strangers (``bench/dedupe.py`` measures it).
Diffusion also evens out bit frequencies (outputs are set about half the
time), which leaves frequency alignment of single bits little to work with.
Salting q-grams with a stable field was rejected: a typo in the salt (say the
birth year) would lose the whole pair.

Output is the packed bits, most significant bit first, ``spec.bits // 8``
bytes. Everything here is deterministic in (key, spec, fields): the same
person encoded at two ingestions gives the same bytes.
"""

import hashlib
import hmac
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gateway.linkage.fields import keyed_permutation
from gateway.linkage.text import bigrams, fold_text

KEY_BYTES = 32
FIELDS = ("first_name", "last_name", "street", "city", "birth_date", "postal_code")
_VERSION = b"gateway.linkage/v1/"
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Which derived key hashes each field. First and last names share one: records
# with the two swapped (a common entry error) then still share their bigrams'
# positions, the first ``min(weights)`` of each, since positions are read from
# the front of the same digest.
_KEY_LABEL = {
    "first_name": "name",
    "last_name": "name",
    "street": "street",
    "city": "city",
    "birth_date": "birth_date",
    "postal_code": "postal_code",
}


@dataclass(frozen=True, slots=True)
class ClkSpec:
    """The shape of an encoding: length, hash count per field and diffusion.

    Two encodings compare only if they share key and spec; changing any value
    here changes every encoding.

    Attributes:
        bits: Filter length in bits; a power of two from 64 to 65536.
        first_name: Positions set per bigram of the first name.
        last_name: Positions set per bigram of the last name (the first
            ``min(first_name, last_name)`` of a bigram's positions are the
            same in both names).
        street: Positions set per bigram of the street line.
        city: Positions set per bigram of the city.
        birth_date: Positions set per token of the birth date (year, month, day
            and the whole date).
        postal_code: Positions set per token of the postal code (the code, its
            two- and three-character prefixes and its bigrams).
        diffusion: Permuted input bits XORed into each output bit; 1 disables
            diffusion (only the keyed permutation remains).
    """

    # Tuned on FEBRL 1-3 (bench/dedupe.py) under one more constraint: a
    # housemate (same last name and address, another first name and birth
    # date) must score well below the dedupe threshold. So the fields that
    # tell one household's members apart outweigh those they share.
    bits: int = 1024
    first_name: int = 10
    last_name: int = 6
    street: int = 2
    city: int = 4
    birth_date: int = 22
    postal_code: int = 4
    diffusion: int = 3

    def weight(self, field: str) -> int:
        """Return the number of positions set per token of `field`."""
        value: int = getattr(self, field)
        return value


def _date_tokens(value: str) -> list[str]:
    match = _ISO_DATE.fullmatch(value.strip())
    if match is None:
        return []
    year, month, day = match.groups()
    # Separate parts so that one wrong digit keeps two of the three; the
    # whole date rewards an exact match beyond that.
    return [f"y{year}", f"m{month}", f"d{day}", f"ymd{year}{month}{day}"]


def _postal_tokens(value: str) -> list[str]:
    code = fold_text(value).replace(" ", "")
    if not code:
        return []
    return [f"pc{code}", f"p2{code[:2]}", f"p3{code[:3]}", *bigrams(code)]


def field_tokens(field: str, value: str | None) -> list[str]:
    """Return the tokens of one normalized field value, as the encoder hashes them.

    Args:
        field: One of `FIELDS`.
        value: The normalized value (birth date as ``YYYY-MM-DD``), or None.

    Returns:
        The tokens; empty for a missing or unusable value.

    Raises:
        ValueError: `field` is not a linkage field.
    """
    if field not in FIELDS:
        raise ValueError(f"unknown linkage field {field!r}")
    if value is None:
        return []
    if field == "birth_date":
        return _date_tokens(value)
    if field == "postal_code":
        return _postal_tokens(value)
    return bigrams(fold_text(value))


def derive_key(key: bytes, label: str) -> bytes:
    """Derive an independent 32-byte sub-key of the linkage key for one use.

    Raises:
        ValueError: `key` is shorter than 32 bytes.
    """
    if len(key) < KEY_BYTES:
        raise ValueError(f"a linkage key has at least {KEY_BYTES} bytes")
    return hmac.new(key, _VERSION + label.encode(), hashlib.sha256).digest()


def _check_spec(spec: ClkSpec) -> None:
    # Positions are two-byte words masked to the length: a power of two up to
    # 2**16 keeps every position equally likely.
    if not 64 <= spec.bits <= 1 << 16 or spec.bits & (spec.bits - 1):
        raise ValueError("ClkSpec.bits must be a power of two from 64 to 65536")
    if not 1 <= spec.diffusion <= 16:
        raise ValueError("ClkSpec.diffusion must be between 1 and 16")
    if any(not 1 <= spec.weight(name) <= 64 for name in FIELDS):
        raise ValueError("ClkSpec weights must be between 1 and 64")


class _HmacSha256:
    """HMAC-SHA256 (RFC 2104) under one fixed key, for short messages.

    The padded-key states are hashed once and copied per message: a third of
    the cost of `hmac.new` per call, which matters at some 50 tokens a record.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        padded = key.ljust(64, b"\0")  # keys are 32 bytes: never hashed first
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def __call__(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


# Tokens whose positions may be kept in memory between records: q-grams and
# date or postal parts, which are shared by thousands of people and identify
# nobody. A whole birth date or postal code is hashed again every time.
_UNCACHED_PREFIXES = {"birth_date": "ymd", "postal_code": "pc"}
CACHE_LIMIT = 200_000


class ClkEncoder:
    """`encode_clk` bound to one key and spec, for many records.

    The field keys, the HMAC states and the diffusion map are derived once
    here, instead of per record. A token's positions are remembered (bounded,
    see `_UNCACHED_PREFIXES`), since the same bigrams recur in every batch;
    and `encode_many` sets, permutes and diffuses a whole batch's filters in
    a few array operations.
    """

    __slots__ = (
        "_blocks",
        "_cache",
        "_fields",
        "_mask",
        "_offsets",
        "_permutation",
        "_spec",
    )

    def __init__(self, key: bytes, spec: ClkSpec | None = None) -> None:
        spec = spec or ClkSpec()
        _check_spec(spec)
        self._spec = spec
        self._mask = spec.bits - 1
        self._fields = {
            name: _HmacSha256(derive_key(key, f"clk/field/{_KEY_LABEL[name]}"))
            for name in FIELDS
        }
        permutation = keyed_permutation(derive_key(key, "clk/diffusion"), spec.bits)
        self._permutation = permutation
        # Output bit j XORs permuted bits j, j+1, j+3, j+7... (cyclically):
        # distinct offsets, so every input bit feeds exactly `diffusion`
        # outputs and no output XORs a bit with itself.
        self._offsets = [(1 << k) - 1 for k in range(spec.diffusion)]
        # Per field: (counter byte, positions taken) for each digest of a
        # token; a 32-byte digest holds 16 two-byte positions.
        self._blocks = {
            name: [
                (bytes((block,)), min(16, spec.weight(name) - 16 * block))
                for block in range(-(-spec.weight(name) // 16))
            ]
            for name in FIELDS
        }
        self._cache: dict[str, dict[str, int]] = {name: {} for name in FIELDS}

    def __repr__(self) -> str:
        return f"ClkEncoder(spec={self._spec!r})"  # never the key

    def _token_bits(self, name: str, token: str) -> int:
        """The filter bits one token of one field sets, as an integer mask.

        Bit ``p`` of the filter is integer bit ``bits - 1 - p``, so that the
        mask's big-endian bytes unpack into the filter in order.
        """
        mac, mask, top = self._fields[name], self._mask, self._spec.bits - 1
        data = token.encode()
        bits = 0
        for counter, take in self._blocks[name]:
            for word in struct.unpack(">16H", mac(counter + data))[:take]:
                bits |= 1 << (top - (word & mask))
        prefix = _UNCACHED_PREFIXES.get(name)
        cache = self._cache[name]
        if (prefix is None or not token.startswith(prefix)) and len(
            cache
        ) < CACHE_LIMIT:
            cache[token] = bits
        return bits

    def _filter(self, fields: Mapping[str, str | None]) -> int:
        """The plain Bloom filter of one record, before permutation and diffusion."""
        bits = 0
        for name in FIELDS:
            value = fields.get(name)
            if value is None:
                continue
            known = self._cache[name]
            for token in field_tokens(name, value):
                token_bits = known.get(token)
                if token_bits is None:
                    token_bits = self._token_bits(name, token)
                bits |= token_bits
        return bits

    def __call__(self, fields: Mapping[str, str | None]) -> bytes:
        """Return the CLK of one record's normalized fields (see `encode_clk`)."""
        return self.encode_many([fields])[0]

    def encode_many(self, records: Sequence[Mapping[str, str | None]]) -> list[bytes]:
        """Return the CLKs of many records, as `__call__` would one by one."""
        size = self._spec.bits
        width = size // 8
        raw = b"".join(
            self._filter(fields).to_bytes(width, "big") for fields in records
        )
        plain = np.frombuffer(raw, dtype=np.uint8).reshape(len(records), width)
        bits = np.unpackbits(plain, axis=1).astype(np.bool_)
        permuted = bits[:, self._permutation]
        wrapped = np.concatenate((permuted, permuted[:, : self._offsets[-1]]), axis=1)
        mixed = permuted.copy()
        for offset in self._offsets[1:]:
            mixed ^= wrapped[:, offset : offset + size]
        return [row.tobytes() for row in np.packbits(mixed, axis=1)]


def encode_clk(
    key: bytes, fields: Mapping[str, str | None], spec: ClkSpec | None = None
) -> bytes:
    """Encode one record's normalized fields as a keyed, hardened Bloom filter.

    Args:
        key: The linkage key (32 bytes or more); sub-keys are derived per field.
        fields: Normalized values by name (see `FIELDS`): names, street and city
            as stored, birth date as ``YYYY-MM-DD``, postal code normalized.
            Missing names and None values set no bits; other names are ignored.
        spec: Length, weights and diffusion; `ClkSpec()` when None.

    Returns:
        ``spec.bits // 8`` bytes.

    Raises:
        ValueError: A short key or an invalid spec.
    """
    return ClkEncoder(key, spec)(fields)


def dice(a: bytes, b: bytes) -> float:
    """Return the Dice coefficient 2|a∧b| / (|a| + |b|) of two encodings.

    Two empty filters score 0, not 1: records without any linkage field must
    never look alike.

    Raises:
        ValueError: The encodings differ in length.
    """
    if len(a) != len(b):
        raise ValueError("encodings of different lengths do not compare")
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    total = x.bit_count() + y.bit_count()
    return 0.0 if total == 0 else 2 * (x & y).bit_count() / total


def clk_matrix(clks: Sequence[bytes | None]) -> NDArray[np.uint64]:
    """Stack equal-length encodings into rows of 64-bit words (None → zeros).

    Raises:
        ValueError: Encodings of different lengths, or a length that is not a
            multiple of 8 bytes.
    """
    present = [clk for clk in clks if clk is not None]
    width = len(present[0]) if present else 8
    if width % 8 or any(len(clk) != width for clk in present):
        raise ValueError("encodings must share one length, a multiple of 8 bytes")
    zero = bytes(width)
    joined = b"".join(zero if clk is None else clk for clk in clks)
    # Big-endian words keep bit order; only popcounts are taken, but a
    # platform-independent layout costs nothing here.
    words = np.frombuffer(joined, dtype=">u8").astype(np.uint64)
    return words.reshape(len(clks), width // 8)


def popcounts(rows: NDArray[np.uint64] | NDArray[np.uint8]) -> NDArray[np.int64]:
    """Return the number of set bits of each row."""
    return np.bitwise_count(rows).sum(axis=1, dtype=np.int64)


def dice_many(
    left: NDArray[np.uint64] | NDArray[np.uint8],
    right: NDArray[np.uint64] | NDArray[np.uint8],
) -> NDArray[np.float64]:
    """Return the Dice coefficients of many pairs of encodings, row by row.

    Args:
        left: ``(n, words)`` array of encodings, uint64 (see `clk_matrix`) or
            uint8 (raw bytes).
        right: The same shape and dtype; row ``i`` pairs with ``left[i]``.

    Returns:
        ``n`` coefficients; 0 where both rows are empty.

    Raises:
        ValueError: Shapes or dtypes differ.
    """
    if left.shape != right.shape or left.dtype != right.dtype or left.ndim != 2:
        raise ValueError("dice_many needs two (n, words) arrays of one dtype")
    shared = popcounts(left & right)
    total = popcounts(left) + popcounts(right)
    out = np.zeros(len(left), dtype=np.float64)
    np.divide(2 * shared, total, out=out, where=total > 0)
    return out
