"""Keyed blocking keys: which records are worth comparing at all (pure).

Comparing every pair of a million records is out of reach, so the dedupe stage
compares only records that share a block key. Each key is an HMAC, under a
sub-key of the linkage key, of a coarse view of the record (a phonetic code of
a name with a birth year, a postal prefix...), so the pipeline sees equal or
different opaque strings and nothing else. Several keys per record, each
built from different fields, mean a typo in any one field still leaves the
true pair a shared key.

The block keys of a record are quasi-identifiers in their own right: a key
shared by one record only singles that record out to whoever knows the
plaintext and the key. They are therefore never exported, and the key that
makes them never leaves the gateway.
"""

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.linkage.clk import KEY_BYTES, derive_key, fold_text

_ISO_DATE = re.compile(r"([0-9]{4})-[0-9]{2}-[0-9]{2}")
_SEPARATOR = "\x1f"  # cannot occur in a folded value
_HEX_CHARS = 16  # 64 bits: collisions stay negligible at 10**8 keys

# Rewrites applied in order before coding, for spellings French and English
# names share or confuse: ph/f, qu/k, the French "eau" and "ou" sounds, a soft
# c or g before e/i/y, a hard c as k (Cathy/Kathy). Each is a regex so that
# context can matter.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"[^a-z]", ""),
        (r"ault$|eaux?|au|ot$", "o"),
        (r"ph", "f"),
        (r"sch|sh|ch", "s"),
        (r"ck|qu|q", "k"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"mps", "ms"),
        (r"g(?=[eiy])", "j"),
        (r"gn", "n"),
        (r"th", "t"),
        (r"ou|oo", "u"),
        (r"ai|ei|ay|ey", "e"),
        (r"y", "i"),
        (r"w", "v"),
        (r"z", "s"),
        # French silent endings: Dupont/Dupond, Renaud/Renault, Lucas/Luca.
        (r"(?<=.)(?:[dtsx]|e)$", ""),
    )
)
# Soundex classes, with the rewrites above already applied.
_CODES = str.maketrans("bfpvcgjkqsxzdtlmnr", "111122222222334556")
_SEPARATES = frozenset("aeiou")  # a vowel lets a repeated class count twice


def phonetic(name: str) -> str:
    """Return a Soundex-style code of a French or English name.

    The first letter is kept, the rest are coded by sound class (Soundex's
    six), repeated classes collapse unless a vowel separates them, ``h`` is
    silent, and the code is cut at four characters. French and English
    spelling rewrites come first: ``Dupont``, ``Dupond`` and ``Dupon`` all
    give ``D150``; ``Philippe`` and ``Filip`` give ``F410``.

    Returns:
        The code, or ``""`` when the name has no letters.
    """
    text = fold_text(name)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    if not text:
        return ""
    code = [text[0].upper()]
    last = text[0].translate(_CODES)
    for letter in text[1:]:
        if letter == "h":
            continue
        digit = letter.translate(_CODES)
        if letter in _SEPARATES:
            last = ""
        elif digit != last:
            code.append(digit)
            last = digit
        if len(code) == 4:
            break
    return "".join(code).ljust(4, "0")


@dataclass(frozen=True, slots=True)
class BlockingSpec:
    """Which coarse views of a record become block keys.

    Attributes:
        postal_prefix: Characters of the postal code kept; a typo in the rest
            of the code keeps the key. Three (a French postal area, about 900)
            keeps the blocks of common first names small at a million records.
    """

    postal_prefix: int = 3


def _year(birth_date: str | None) -> str | None:
    match = _ISO_DATE.fullmatch(birth_date.strip()) if birth_date else None
    return match[1] if match else None


def _views(fields: Mapping[str, str | None], spec: BlockingSpec) -> list[str]:
    """The plaintext of each block key; a view missing a part is left out."""
    first = phonetic(fields.get("first_name") or "")
    last = phonetic(fields.get("last_name") or "")
    birth = (fields.get("birth_date") or "").strip()
    date = birth if _ISO_DATE.fullmatch(birth) else ""
    year = date[:4]
    postal = fold_text(fields.get("postal_code") or "").replace(" ", "")
    prefix = postal[: spec.postal_prefix] if len(postal) >= spec.postal_prefix else ""
    # Either name with the year or the postal prefix, under one kind, so that
    # records with first and last names swapped (a common entry error) still
    # meet; the exact date and the pair of names need no name or no place.
    # Any one damaged field leaves at least two views intact.
    views = [
        ("name+year", first, year),
        ("name+year", last, year),
        ("name+postal", first, prefix),
        ("name+postal", last, prefix),
        ("date", date),
        ("names", *sorted((first, last))),
    ]
    kept = {_SEPARATOR.join(view) for view in views if all(view)}
    return sorted(kept)


class BlockKeyer:
    """`block_keys` bound to one key and spec, for many records."""

    __slots__ = ("_base", "_spec")

    def __init__(self, key: bytes, spec: BlockingSpec | None = None) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"a linkage key has at least {KEY_BYTES} bytes")
        self._base = hmac.new(derive_key(key, "blocking"), None, "sha256")
        self._spec = spec or BlockingSpec()

    def __repr__(self) -> str:
        return f"BlockKeyer(spec={self._spec!r})"  # never the key

    def __call__(self, fields: Mapping[str, str | None]) -> list[str]:
        """Return the block keys of one record (see `block_keys`)."""
        keys: list[str] = []
        for view in _views(fields, self._spec):
            mac = self._base.copy()
            # Each view starts with its kind, so equal values of two kinds
            # never collide.
            mac.update(view.encode())
            keys.append(mac.hexdigest()[:_HEX_CHARS])
        return keys


def block_keys(
    key: bytes, fields: Mapping[str, str | None], spec: BlockingSpec | None = None
) -> list[str]:
    """Return a record's keyed block keys (short hex strings).

    Up to six keys: each phonetic name with the birth year, each with the
    postal prefix, the exact birth date, and the unordered pair of phonetic
    names. A key needs all of its parts; a record missing them all gets no
    key and can only be linked exactly (by identifier pseudonym).

    Args:
        key: The linkage key (32 bytes or more); a sub-key is derived.
        fields: Normalized values as for `encode_clk`.
        spec: Which views to key; `BlockingSpec()` when None.

    Returns:
        Distinct 16-character hex strings (their order carries no meaning).

    Raises:
        ValueError: A short key.
    """
    return BlockKeyer(key, spec)(fields)
