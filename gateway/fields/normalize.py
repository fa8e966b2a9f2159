"""Normalize one submitted JSON value to the canonical form of its field type (pure).

Every function here sits on the ingest hot path: regexes are compiled once at
import, nothing else is built per call, and no value is ever cached (a cache
would keep personal data in memory). Errors are `FieldInvalid`, whose text
never contains the value it rejects (CONVENTIONS R6).
"""

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache, partial

import phonenumbers
from stdnum import iban as stdnum_iban

from gateway.fields.currencies import ISO_4217
from gateway.pii.phones import FRENCH_VALID

# JSON integers are unbounded in Python but not in the database (BIGINT).
_INT64_MAX = 2**63 - 1
_EMAIL_MAX = 254  # RFC 5321 path limit, minus the angle brackets
_LOCAL_MAX = 64
# The longest written phone number (E.164 is 15 digits) with generous spacing,
# prefix and extension; anything longer is not worth parsing.
_PHONE_MAX = 40
_PHONE_SEPARATORS = re.compile(r"[\s.\-]")
_FRENCH_DIGITS = re.compile(r"(?:0|\+33)(?P<nsn>[1-9]\d{8})")
_MIN_DATE = date(1900, 1, 1)

# C0 and C1 control characters except \t and \n, and unpaired surrogates (which
# JSON can carry but UTF-8 cannot encode, so they would break hashing later).
_BAD_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_NEWLINES = re.compile(r"\r\n?")
_LOCAL_ATOM = r"[^\s@\"(),:;<>\[\]\\.\x00-\x1f\x7f]+"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_EMAIL = re.compile(
    rf"(?P<local>{_LOCAL_ATOM}(?:\.{_LOCAL_ATOM})*)"
    rf"@(?:{_LABEL}\.)+(?:[^\W\d_]{{2,63}}|xn--[a-z0-9-]{{1,59}})"
)
# Only what people write in a phone number: digits, separators, a leading +,
# and an extension marker; letters (vanity numbers) and other text are refused
# before the (comparatively slow) parser runs.
_PHONE_TEXT = re.compile(
    r"\+?[0-9\s().\-/]{4,}(?:\s*(?:ext\.?|x|#)\s*[0-9]{1,6})?", re.IGNORECASE
)
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_EU_DATE = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})")
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?"
    r"(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?"
)
_POSTAL_CODE = re.compile(r"[0-9A-Z]{2,10}")
_POSTAL_SEPARATORS = re.compile(r"[ \-]")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
# ISO 13616: a country code, two check digits, then 11 to 30 letters and digits
# (15 characters in Norway, 34 at most). People group it by fours with spaces,
# sometimes dashes; a pasted one may carry no-break spaces.
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_IBAN_SEPARATORS = re.compile(r"[\s\-]")
# 34 characters grouped by fours with a separator or two between groups;
# anything longer is not worth cleaning.
_IBAN_TEXT_MAX = 64


class FieldInvalid(ValueError):  # noqa: N818 - name fixed by the public API
    """A value that does not fit its field type.

    Attributes:
        reason: A short machine code, e.g. ``"not_an_email"``.
        message: Human text naming what was expected; never contains the value.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason, message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return self.message


def _wrong_type(expected: str) -> FieldInvalid:
    return FieldInvalid("wrong_type", f"expected {expected}")


def _require_str(value: object, expected: str = "a string") -> str:
    if not isinstance(value, str):
        raise _wrong_type(expected)
    return value


def normalize_string(value: object, max_length: int = 256) -> str:
    """Strip, NFC-normalize and check a free string.

    CR LF and lone CR become LF: HTML forms submit CR LF, and refusing every
    multi-line comment for it would be unhelpful. Other control characters and
    unpaired surrogates are refused.

    Args:
        value: The JSON value.
        max_length: The most characters allowed after normalization.

    Returns:
        The normalized string.

    Raises:
        FieldInvalid: Not a string, empty, too long or with control characters.
    """
    text = _require_str(value).strip()
    if not text:
        raise FieldInvalid("empty", "expected a non-empty string")
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    if _BAD_TEXT.search(text):
        raise FieldInvalid("control_character", "contains a control character")
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if len(text) > max_length:
        raise FieldInvalid("too_long", f"expected at most {max_length} characters")
    return text


def normalize_email(value: object) -> str:
    """Strip and lower-case an e-mail address, and check that it is plausible.

    RFC 5321 lets the local part be case-sensitive, but no mainstream mail
    system treats it so, and matching (consent, deduplication, erasure) must see
    ``Alice@x.fr`` and ``alice@x.fr`` as one person: lower-casing the whole
    address is the accepted practice. ``str.lower`` rather than ``casefold``:
    casefold would turn ``ß`` into ``ss``, merging distinct internationalized
    mailboxes; for ASCII both are identical.

    Raises:
        FieldInvalid: Not a string, too long or not an address.
    """
    text = _require_str(value).strip()
    if len(text) > _EMAIL_MAX:
        raise FieldInvalid("too_long", f"expected at most {_EMAIL_MAX} characters")
    text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    match = _EMAIL.fullmatch(text)
    if match is None or len(match["local"]) > _LOCAL_MAX:
        raise FieldInvalid("not_an_email", "expected an e-mail address")
    return text


# phonenumbers.is_valid_number for French numbers, compiled once.
_FRENCH_VALID = FRENCH_VALID


def _french_e164(text: str) -> str | None:
    """E.164 of the common French spellings, without the general parser.

    ``06 12 34 56 78``, ``06.12.34.56.78``, ``+33 6 12 34 56 78`` and the like
    are most of what French partners send; ``phonenumbers.parse`` and
    ``is_valid_number`` spend about 40 µs on each. Anything else (extensions,
    ``0033``, ``+33 (0)6``, letters) returns None and goes to the parser.

    Raises:
        FieldInvalid: A French spelling of a number that is not valid.
    """
    digits = _PHONE_SEPARATORS.sub("", text)
    match = _FRENCH_DIGITS.fullmatch(digits)
    if match is None:
        return None
    nsn = match["nsn"]
    if not _FRENCH_VALID(nsn):
        raise FieldInvalid("not_a_phone", "expected a valid phone number")
    return "+33" + nsn


def normalize_phone(value: object, region: str = "FR") -> str:
    """Parse a phone number and return it in E.164 form (``+33612345678``).

    Args:
        value: The JSON value; national numbers are read in ``region``.
        region: ISO 3166-1 alpha-2 default region for numbers without ``+``.

    Returns:
        The E.164 string (an extension, if written, is dropped).

    Raises:
        FieldInvalid: Not a string or not a valid number.
    """
    text = _require_str(value).strip()
    if len(text) > _PHONE_MAX:
        raise FieldInvalid("too_long", f"expected at most {_PHONE_MAX} characters")
    if not _PHONE_TEXT.fullmatch(text):
        raise FieldInvalid("not_a_phone", "expected a phone number")
    if region == "FR" and (e164 := _french_e164(text)) is not None:
        return e164
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise FieldInvalid("not_a_phone", "expected a phone number") from None
    valid = phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(
        number
    )
    if not valid:
        raise FieldInvalid("not_a_phone", "expected a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_date(value: object) -> str:
    """Read ``YYYY-MM-DD``, ``DD/MM/YYYY``, ``DD-MM-YYYY`` or ``DD.MM.YYYY``.

    Returns:
        The ISO date ``YYYY-MM-DD`` (a date has no time zone).

    Raises:
        FieldInvalid: Not a string, not a real date, or before 1900-01-01.
    """
    text = _require_str(value, "a date string").strip()
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := _EU_DATE.fullmatch(text):
        day, _sep, month, year = match.groups()
    else:
        raise FieldInvalid("not_a_date", "expected YYYY-MM-DD or DD/MM/YYYY")
    try:
        parsed = date(int(year), int(month), int(day))
    except ValueError:
        raise FieldInvalid("not_a_date", "expected a calendar date") from None
    if parsed < _MIN_DATE:
        raise FieldInvalid("out_of_range", "expected a date on or after 1900-01-01")
    return parsed.isoformat()


@lru_cache(maxsize=64)
def _offset(sign: str, hours: str, minutes: str | None) -> timezone:
    # Cached: a handful of distinct offsets, none of them personal data.
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta >= timedelta(hours=24):
        raise FieldInvalid("not_a_datetime", "expected a UTC offset under 24 hours")
    return timezone(-delta if sign == "-" else delta)


def normalize_datetime(value: object) -> tuple[str, bool]:
    """Read an ISO 8601 date and time and return it in UTC.

    Accepts ``T`` or a space between date and time, optional seconds, up to
    nine fractional digits (truncated to microseconds), and ``Z`` or a
    ``±HH:MM`` / ``±HHMM`` / ``±HH`` offset. A time without an offset is read
    as UTC, and reported so that the caller can warn.

    Returns:
        ``(stamp, was_naive)``: stamp is ``YYYY-MM-DDTHH:MM:SSZ``, or
        ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` when the instant has microseconds (one
        instant, one string, however it was written).

    Raises:
        FieldInvalid: Not a string or not a date and time.
    """
    text = _require_str(value, "an ISO 8601 date-time string").strip()
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise FieldInvalid("not_a_datetime", "expected an ISO 8601 date-time")
    year, month, day, hour, minute, second, fraction, zulu, sign, oh, om = (
        match.groups()
    )
    naive = zulu is None and sign is None
    tz = UTC if naive or zulu else _offset(sign, oh, om)
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        stamp = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=tz,
        ).astimezone(UTC)
    except (ValueError, OverflowError):
        raise FieldInvalid("not_a_datetime", "expected a real date and time") from None
    return stamp.replace(tzinfo=None).isoformat() + "Z", naive


def _normalize_datetime_only(value: object) -> str:
    return normalize_datetime(value)[0]


def normalize_integer(value: object) -> int:
    """Accept a JSON integer (or an integral float such as ``3.0``), not a bool.

    Raises:
        FieldInvalid: Another type, a fraction, or outside the signed 64-bit range.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong_type("an integer")
    if isinstance(value, float):
        if not value.is_integer():  # also false for NaN and infinities
            raise FieldInvalid("not_an_integer", "expected a whole number")
        value = int(value)
    if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        raise FieldInvalid("out_of_range", "expected a signed 64-bit integer")
    return value


def normalize_number(value: object) -> float:
    """Accept a finite JSON number (int or float, not a bool) as a float.

    Raises:
        FieldInvalid: Another type, NaN, an infinity or a float overflow.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong_type("a number")
    try:
        number = float(value)
    except OverflowError:
        raise FieldInvalid("out_of_range", "expected a finite number") from None
    if not math.isfinite(number):
        raise FieldInvalid("not_finite", "expected a finite number")
    return number


def normalize_boolean(value: object) -> bool:
    """Accept a JSON boolean only (no ``"yes"``, no ``1``).

    Raises:
        FieldInvalid: Any other type.
    """
    if not isinstance(value, bool):
        raise _wrong_type("a boolean")
    return value


@lru_cache(maxsize=256)
def _enum_lookup(values: tuple[str, ...]) -> dict[str, str]:
    # Keyed by the policy's tuple, not by submitted values.
    return {v.strip().lower(): v for v in values}


def normalize_enum(value: object, values: tuple[str, ...]) -> str:
    """Strip and lower-case a value and check it against the allowed ones.

    Returns:
        The allowed value as the policy spells it (the same string, when the
        policy writes its values in lower case, as it should).

    Raises:
        FieldInvalid: Not a string or not one of ``values``.
    """
    text = _require_str(value).strip().lower()
    found = _enum_lookup(values).get(text)
    if found is None:
        expected = f"expected one of {len(values)} allowed values"
        raise FieldInvalid("not_in_enum", expected)
    return found


def _enum_normalizer(values: tuple[str, ...]) -> Callable[[object], str]:
    lookup = _enum_lookup(values)
    expected = f"expected one of {len(values)} allowed values"

    def normalize(value: object) -> str:
        found = lookup.get(_require_str(value).strip().lower())
        if found is None:
            raise FieldInvalid("not_in_enum", expected)
        return found

    return normalize


def normalize_currency(value: object) -> str:
    """Upper-case a three-letter ISO 4217 currency code (``eur`` → ``EUR``).

    Raises:
        FieldInvalid: Not a string or not an active ISO 4217 code.
    """
    text = _require_str(value, "a currency code").strip()
    if not _CURRENCY.fullmatch(text) or (code := text.upper()) not in ISO_4217:
        raise FieldInvalid("not_a_currency", "expected an ISO 4217 currency code")
    return code


def normalize_postal_code(value: object) -> str:
    """Upper-case a postal code and drop spaces and dashes (``sw1a 1aa``: ``SW1A1AA``).

    Any country's format is accepted as 2 to 10 letters and digits (French codes
    are 5 digits); the country is not known here, so no finer check is made.

    Raises:
        FieldInvalid: Not a string, or not 2 to 10 letters and digits.
    """
    text = _POSTAL_SEPARATORS.sub("", _require_str(value).strip().upper())
    if not _POSTAL_CODE.fullmatch(text):
        raise FieldInvalid("not_a_postal_code", "expected 2 to 10 letters and digits")
    return text


def normalize_iban(value: object) -> str:
    """Drop spaces and dashes, upper-case, and check an IBAN of any country.

    ``fr76 3000-6000 ...`` becomes ``FR763000600000...``: one account, one
    string, however it was written. The check is python-stdnum's (mod-97 check
    digits, the country's length and BBAN format, and the national check where
    stdnum has one), the same one the IBAN recognizer applies.

    Raises:
        FieldInvalid: Not a string, too long, not shaped as an IBAN, or with
            wrong check digits or a wrong format for its country.
    """
    text = _require_str(value, "an IBAN string").strip()
    if len(text) > _IBAN_TEXT_MAX:
        raise FieldInvalid("too_long", f"expected at most {_IBAN_TEXT_MAX} characters")
    text = _IBAN_SEPARATORS.sub("", text)
    # ASCII before upper-casing: "ﬀ".upper() is "FF" and "ı".upper() is "I", so
    # other characters could otherwise turn into a valid-looking IBAN.
    if not text.isascii() or not _IBAN.fullmatch(text := text.upper()):
        raise FieldInvalid(
            "not_an_iban", "expected an IBAN: country code, check digits, account"
        )
    if not stdnum_iban.is_valid(text):
        raise FieldInvalid("not_an_iban", "expected a valid IBAN")
    return text


_SIMPLE: dict[str, Callable[[object], str | int | float | bool]] = {
    "email": normalize_email,
    "date": normalize_date,
    "datetime": _normalize_datetime_only,
    "integer": normalize_integer,
    "number": normalize_number,
    "boolean": normalize_boolean,
    "currency": normalize_currency,
    "postal_code": normalize_postal_code,
    "iban": normalize_iban,
}


def normalizer_for(
    field_type: str,
    *,
    values: tuple[str, ...] | None = None,
    max_length: int = 256,
    region: str = "FR",
) -> Callable[[object], str | int | float | bool]:
    """The normalizer of a field type, its parameters bound (see `normalize_value`).

    Resolved once per field and reused for every record: the hot path calls
    the right function directly instead of dispatching on the type each time.

    Raises:
        ValueError: An unknown field type, or an enum without values (a policy bug).
    """
    simple = _SIMPLE.get(field_type)
    if simple is not None:
        return simple
    if field_type == "string":
        return partial(normalize_string, max_length=max_length)
    if field_type == "phone":
        return partial(normalize_phone, region=region)
    if field_type == "enum":
        if not values:
            raise ValueError("an enum field needs its allowed values")
        return _enum_normalizer(values)
    raise ValueError(f"unknown field type {field_type!r}")


def normalize_value(
    field_type: str,
    value: object,
    *,
    values: tuple[str, ...] | None = None,
    max_length: int = 256,
    region: str = "FR",
) -> str | int | float | bool:
    """Normalize a JSON value to the canonical form of its field type.

    Args:
        field_type: One of the policy field types (``"string"``, ``"email"``...).
        value: The decoded JSON value.
        values: The allowed values of an ``enum`` field.
        max_length: The longest ``string`` accepted.
        region: Default region for phone numbers written without ``+``.

    Returns:
        The normalized value.

    Raises:
        FieldInvalid: The value does not fit the type (reason + safe message).
        ValueError: An unknown field type, or an enum without values (a policy bug).
    """
    normalize = normalizer_for(
        field_type, values=values, max_length=max_length, region=region
    )
    return normalize(value)
