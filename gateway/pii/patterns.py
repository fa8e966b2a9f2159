"""Pattern-based detection and redaction of personal data in text (pure).

Each recognizer is a precompiled pattern plus one check (mod-97, Luhn, the NIR
key, octet ranges, phone-number metadata), in the spirit of Presidio's pattern
recognizers, which will extend or replace these behind the same functions.
Nothing here logs or raises with the analysed text (CONVENTIONS R6).
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain

import phonenumbers


@dataclass(frozen=True, slots=True)
class Span:
    """A detected entity: its type, its ``[start, end)`` offsets and a score in 0-1."""

    entity_type: str
    start: int
    end: int
    score: float


_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w%+-]+(?:\.[\w%+-]+)*"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}(?![\w-])"
)
# Country code, check digits, then up to 30 letters or digits, optionally grouped
# by spaces or dashes; the country's IBAN length then says where it ends, so that
# a following word ("... 189 EUR") is not swallowed.
_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]){11,30}\b")
# 13 to 19 digits starting like a card number (2-6: Mastercard 2-series, Amex,
# Visa, Mastercard, Discover...), as 4-4-4-(1-7) or 4-6-(4-5) groups with one
# consistent separator, so that a following date or amount is not taken in.
_CARD = re.compile(
    r"(?<![0-9])(?:[2-6][0-9]{3}([ -]?)[0-9]{4}\1[0-9]{4}\1[0-9]{1,7}"
    r"|3[0-9]{3}([ -]?)[0-9]{6}\2[0-9]{4,5})(?![0-9])"
)
# Sex (1, 2; 3, 4, 7, 8 for provisional numbers), birth year, birth month,
# département (2 digits, or 2A/2B for Corsica), commune, order number, key.
_NIR = re.compile(
    r"(?<![0-9A-Za-z])([123478])[ \u00a0]?([0-9]{2})[ \u00a0]?([0-9]{2})[ \u00a0]?"
    r"([0-9]{2}|2[AaBb])[ \u00a0]?([0-9]{3})[ \u00a0]?([0-9]{3})[ \u00a0]?([0-9]{2})"
    r"(?![0-9A-Za-z])"
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![0-9.])(?:{_OCTET}\.){{3}}{_OCTET}(?![0-9]|\.[0-9])")
# A phone number has at least 8 digits in a row with few separators: only then
# is the (slow) phonenumbers matcher worth running.
_PHONE_HINT = re.compile(r"[0-9](?:[\s.\-()/]{0,3}[0-9]){7}")
_DIGIT = re.compile(r"[0-9]")
_SEPARATORS = re.compile(r"[ \-]")

_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
# Corsica: 2A counts as 19 and 2B as 18 in the NIR key computation (INSEE).
_CORSICA = {"2A": "19", "2B": "18"}
# Letters count as 10..35 in the IBAN checksum (ISO 13616).
_IBAN_DIGITS = str.maketrans({chr(c): str(c - 55) for c in range(65, 91)})


def _iban_valid(compact: str) -> bool:
    rearranged = (compact[4:] + compact[:4]).translate(_IBAN_DIGITS)
    return int(rearranged) % 97 == 1


def _iban_end(match: re.Match[str]) -> int | None:
    """Where the IBAN in a candidate match ends, or None when it is not one."""
    candidate = match[0]
    compact = _SEPARATORS.sub("", candidate)
    length = _IBAN_LENGTHS.get(compact[:2])
    if length is None or len(compact) < length:
        return None
    if not _iban_valid(compact[:length]):
        return None
    seen = 0
    for offset, char in enumerate(candidate):
        if char not in " -":
            seen += 1
            if seen == length:
                return match.start() + offset + 1
    return None  # pragma: no cover - unreachable: compact holds `length` chars


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _nir_valid(match: re.Match[str]) -> bool:
    sex, year, month, dept, commune, order, key = match.groups()
    month_number = int(month)
    # 01-12, or 20-42 and 50-99 for births whose month is unknown.
    if month_number == 0 or 12 < month_number < 20 or 42 < month_number < 50:
        return False
    dept = _CORSICA.get(dept.upper(), dept)
    body = int(sex + year + month + dept + commune + order)
    return 97 - body % 97 == int(key)


def _emails(text: str) -> Iterator[Span]:
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        yield Span("EMAIL_ADDRESS", match.start(), match.end(), 0.95)


def _ibans(text: str) -> Iterator[Span]:
    for match in _IBAN.finditer(text):
        end = _iban_end(match)
        if end is not None:
            yield Span("IBAN_CODE", match.start(), end, 0.95)


def _cards(text: str) -> Iterator[Span]:
    for match in _CARD.finditer(text):
        if _luhn_valid(_SEPARATORS.sub("", match[0])):
            yield Span("CREDIT_CARD", match.start(), match.end(), 0.9)


def _nirs(text: str) -> Iterator[Span]:
    for match in _NIR.finditer(text):
        if _nir_valid(match):
            yield Span("FR_NIR", match.start(), match.end(), 0.95)


def _ips(text: str) -> Iterator[Span]:
    for match in _IPV4.finditer(text):
        yield Span("IP_ADDRESS", match.start(), match.end(), 0.6)


def _phones(text: str) -> Iterator[Span]:
    if not _PHONE_HINT.search(text):
        return
    # Region FR reads national numbers ("06 12 34 56 78"); numbers written with
    # "+" and a country code are found whatever the region.
    for match in phonenumbers.PhoneNumberMatcher(text, "FR"):
        yield Span("PHONE_NUMBER", match.start, match.end, 0.75)


_Recognizer = Callable[[str], Iterator[Span]]
# The phone matcher is by far the slowest: last, so contains_pii can stop early.
_DIGIT_RECOGNIZERS: tuple[_Recognizer, ...] = (_ibans, _cards, _nirs, _ips, _phones)


def _candidates(text: str) -> Iterator[Span]:
    yield from _emails(text)
    if _DIGIT.search(text):  # every other entity holds digits
        yield from chain.from_iterable(r(text) for r in _DIGIT_RECOGNIZERS)


def _by_preference(span: Span) -> tuple[int, float, int]:
    return span.start - span.end, -span.score, span.start


def _by_start(span: Span) -> int:
    return span.start


def _resolve(spans: list[Span]) -> list[Span]:
    """Drop overlaps, preferring the longest span, then the highest score."""
    if len(spans) < 2:  # the common case: nothing to resolve
        return spans
    kept: list[Span] = []
    for span in sorted(spans, key=_by_preference):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    kept.sort(key=_by_start)
    return kept


def find_pii(text: str) -> list[Span]:
    """Find personal data in a text.

    Detects EMAIL_ADDRESS, PHONE_NUMBER (read as French when written without a
    country code), IBAN_CODE (mod-97 checked), CREDIT_CARD (Luhn checked),
    FR_NIR (French social security number, key checked) and IP_ADDRESS (IPv4).

    Args:
        text: The text to scan.

    Returns:
        Non-overlapping spans sorted by start; where candidates overlap, the
        longest (then the highest scored) is kept.
    """
    return _resolve(list(_candidates(text)))


def redact(text: str, spans: list[Span]) -> str:
    """Replace each span by its typed placeholder, e.g. ``<EMAIL_ADDRESS>``.

    Args:
        text: The original text.
        spans: Spans from `find_pii`, in any order; a span that overlaps the one
            before it extends that one's placeholder.

    Returns:
        The redacted text.
    """
    pieces: list[str] = []
    cursor = 0
    for span in sorted(spans, key=_by_start):
        if span.start < cursor:
            cursor = max(cursor, span.end)
            continue
        pieces.append(text[cursor : span.start])
        pieces.append(f"<{span.entity_type}>")
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def redact_text(text: str) -> tuple[str, list[str]]:
    """Find and redact personal data in a text.

    Returns:
        The redacted text and the sorted, unique entity types found.
    """
    spans = find_pii(text)
    if not spans:
        return text, []
    return redact(text, spans), sorted({span.entity_type for span in spans})


def contains_pii(text: str) -> bool:
    """Tell whether a text holds any personal data `find_pii` would report."""
    return next(_candidates(text), None) is not None
