import math
import pickle

import pytest

from gateway.fields.normalize import (
    ISO_4217,
    FieldInvalid,
    normalize_datetime,
    normalize_phone,
    normalize_value,
)

VALID = [
    ("string", "  Bonjour  ", "Bonjour"),
    ("string", "ligne 1\r\nligne 2\tfin", "ligne 1\nligne 2\tfin"),
    ("string", "Cafe\u0301", "Caf\u00e9"),  # NFD in, NFC out
    ("email", " Alice.Martin@Example.COM ", "alice.martin@example.com"),
    ("email", "jean+promo@mail.exemple.fr", "jean+promo@mail.exemple.fr"),
    ("email", "o'brien@example.co.uk", "o'brien@example.co.uk"),
    ("email", "Zoë@Exemple.FR", "zoë@exemple.fr"),
    ("phone", "06 12 34 56 78", "+33612345678"),
    ("phone", "06.12.34.56.78", "+33612345678"),
    ("phone", "+33 (0)6 12 34 56 78", "+33612345678"),
    ("phone", "0033 6 12 34 56 78", "+33612345678"),
    ("phone", "+33\u00a06\u00a012\u00a034\u00a056\u00a078", "+33612345678"),
    ("phone", "+44 20 7946 0958", "+442079460958"),
    ("phone", "+1 650-253-0000", "+16502530000"),
    ("date", "1985-12-31", "1985-12-31"),
    ("date", "31/12/1985", "1985-12-31"),
    ("date", "31-12-1985", "1985-12-31"),
    ("date", "31.12.1985", "1985-12-31"),
    ("date", "1/2/1990", "1990-02-01"),
    ("date", "29/02/2000", "2000-02-29"),
    ("date", "1900-01-01", "1900-01-01"),
    ("datetime", "2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"),
    ("datetime", "2024-03-01T10:00:00+02:00", "2024-03-01T08:00:00Z"),
    ("datetime", "2024-03-01T01:30:00-0530", "2024-03-01T07:00:00Z"),
    ("datetime", "2024-03-01 00:30+01", "2024-02-29T23:30:00Z"),
    ("datetime", "2024-03-01T10:00:00.5Z", "2024-03-01T10:00:00.500000Z"),
    ("datetime", "2024-03-01T10:00:00.000Z", "2024-03-01T10:00:00Z"),
    ("datetime", "2024-03-01T10:00:00.123456789Z", "2024-03-01T10:00:00.123456Z"),
    ("integer", 42, 42),
    ("integer", -7, -7),
    ("integer", 3.0, 3),
    ("integer", 2**63 - 1, 2**63 - 1),
    ("number", 1, 1.0),
    ("number", 19.99, 19.99),
    ("boolean", True, True),
    ("boolean", False, False),
    ("currency", "eur", "EUR"),
    ("currency", " Usd ", "USD"),
    ("currency", "XCG", "XCG"),
    ("postal_code", " 75011 ", "75011"),
    ("postal_code", "20000", "20000"),
    ("postal_code", "sw1a 1aa", "SW1A1AA"),
    ("postal_code", "1000-001", "1000001"),
    # ISO 13616 registry examples: several countries, lengths 15 to 31.
    ("iban", "DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ("iban", "fr14 2004 1010 0505 0001 3m02 606", "FR1420041010050500013M02606"),
    ("iban", "GB82-WEST-1234-5698-7654-32", "GB82WEST12345698765432"),
    ("iban", " NO93 8601 1117 947 ", "NO9386011117947"),
    ("iban", "MT84MALT011000012345MTLCAST001S", "MT84MALT011000012345MTLCAST001S"),
    (
        "iban",
        "IT60\u00a0X054\u00a02811\u00a01010\u00a00000\u00a00123\u00a0456",
        "IT60X0542811101000000123456",
    ),
]


@pytest.mark.parametrize(("field_type", "value", "expected"), VALID)
def test_normalizes_valid_values(
    field_type: str, value: object, expected: object
) -> None:
    result = normalize_value(field_type, value)
    assert result == expected
    assert type(result) is type(expected)


INVALID = [
    ("string", 12, "wrong_type"),
    ("string", None, "wrong_type"),
    ("string", "   ", "empty"),
    ("string", "bell\x07", "control_character"),
    ("string", "nul\x00byte", "control_character"),
    ("string", "lone \ud800 surrogate", "control_character"),
    ("string", "x" * 257, "too_long"),
    ("email", 12, "wrong_type"),
    ("email", "alice.martin", "not_an_email"),
    ("email", "alice@@example.com", "not_an_email"),
    ("email", "alice martin@example.com", "not_an_email"),
    ("email", "alice@localhost", "not_an_email"),
    ("email", "alice.@example.com", "not_an_email"),
    ("email", "alice@example..com", "not_an_email"),
    ("email", "alice@-example.com", "not_an_email"),
    ("email", ("a" * 65) + "@example.com", "not_an_email"),
    ("email", "alice@" + "a" * 250 + ".com", "too_long"),
    ("phone", 612345678, "wrong_type"),
    ("phone", "12", "not_a_phone"),
    ("phone", "06 12 34", "not_a_phone"),
    ("phone", "01 00 00 00 00 00 00", "not_a_phone"),
    ("phone", "+33 6 12", "not_a_phone"),
    ("phone", "call 0612345678", "not_a_phone"),
    ("phone", "1-800-FLOWERS", "not_a_phone"),
    ("phone", "0" * 41, "too_long"),
    ("date", 19851231, "wrong_type"),
    ("date", "30/02/1990", "not_a_date"),
    ("date", "1985-13-01", "not_a_date"),
    ("date", "12/31/1985", "not_a_date"),
    ("date", "1985/12/31", "not_a_date"),
    ("date", "31/12-1985", "not_a_date"),
    ("date", "31 décembre 1985", "not_a_date"),
    ("date", "1899-12-31", "out_of_range"),
    ("date", "\u0661\u0669\u0668\u0665-12-31", "not_a_date"),  # Arabic-Indic digits
    ("datetime", 1709287200, "wrong_type"),
    ("datetime", "2024-03-01", "not_a_datetime"),
    ("datetime", "01/03/2024 10:00", "not_a_datetime"),
    ("datetime", "2024-03-01T25:00:00Z", "not_a_datetime"),
    ("datetime", "2024-02-30T10:00:00Z", "not_a_datetime"),
    ("datetime", "2024-03-01T10:00:00+24:00", "not_a_datetime"),
    ("datetime", "2024-03-01T10:00:00 Europe/Paris", "not_a_datetime"),
    ("datetime", "0001-01-01T00:00:00+01:00", "not_a_datetime"),
    ("integer", True, "wrong_type"),
    ("integer", "42", "wrong_type"),
    ("integer", 1.5, "not_an_integer"),
    ("integer", math.nan, "not_an_integer"),
    ("integer", math.inf, "not_an_integer"),
    ("integer", 2**63, "out_of_range"),
    ("number", False, "wrong_type"),
    ("number", "1.5", "wrong_type"),
    ("number", math.nan, "not_finite"),
    ("number", -math.inf, "not_finite"),
    ("number", 10**400, "out_of_range"),
    ("boolean", 1, "wrong_type"),
    ("boolean", "true", "wrong_type"),
    ("currency", "EUX", "not_a_currency"),
    ("currency", "EURO", "not_a_currency"),
    ("currency", "XXX", "not_a_currency"),
    ("currency", 978, "wrong_type"),
    ("postal_code", "7", "not_a_postal_code"),
    ("postal_code", "75 011 PARIS CEDEX", "not_a_postal_code"),
    ("postal_code", "75011!", "not_a_postal_code"),
    ("postal_code", 75011, "wrong_type"),
    ("iban", "DE89 3704 0044 0532 0130 01", "not_an_iban"),  # one digit mistyped
    ("iban", "DE98 3704 0044 0532 0130 00", "not_an_iban"),  # check digits swapped
    ("iban", "DE89 3704 0044 0532 0130", "not_an_iban"),  # too short for Germany
    # Right check digits, but no country has the code XX.
    ("iban", "XX46 3704 0044 0532 0130 00", "not_an_iban"),
    ("iban", "3704 0044 0532 0130 00", "not_an_iban"),  # a BBAN alone
    ("iban", "DE89.3704.0044.0532.0130.00", "not_an_iban"),  # dots are not taken
    ("iban", "\uff24\uff25" + "89370400440532013000", "not_an_iban"),  # full-width
    # A dotless i upper-cases to I: "ıt60..." must not become an Italian IBAN.
    ("iban", "\u0131t60x0542811101000000123456", "not_an_iban"),
    ("iban", "DE89 3704 0044 0532 0130 00 EUR", "not_an_iban"),
    ("iban", "DE" * 33, "too_long"),
    ("iban", 89370400440532013000, "wrong_type"),
]


@pytest.mark.parametrize(("field_type", "value", "reason"), INVALID)
def test_rejects_invalid_values_without_echoing_them(
    field_type: str, value: object, reason: str
) -> None:
    with pytest.raises(FieldInvalid) as caught:
        normalize_value(field_type, value)
    exc = caught.value
    assert exc.reason == reason
    assert str(exc) == exc.message
    assert exc.message
    text = f"{exc} {exc.args} {exc!r}"
    if isinstance(value, str) and value.strip():
        assert value not in text
        assert value.strip() not in text
    else:
        assert repr(value) not in text or repr(value) in {"None", "True", "False"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" WEB ", "web"), ("Store", "store"), ("app", "App")],
)
def test_enum_folds_case_and_returns_the_policy_spelling(
    value: str, expected: str
) -> None:
    assert normalize_value("enum", value, values=("web", "store", "App")) == expected


@pytest.mark.parametrize("value", ["kiosk", "", "w eb", 3])
def test_enum_rejects_values_outside_the_list(value: object) -> None:
    with pytest.raises(FieldInvalid) as caught:
        normalize_value("enum", value, values=("web", "store"))
    assert caught.value.reason in {"not_in_enum", "wrong_type"}
    assert "web" not in str(caught.value)


def test_string_respects_max_length_after_stripping() -> None:
    assert normalize_value("string", "  abcd  ", max_length=4) == "abcd"
    with pytest.raises(FieldInvalid, match="at most 3"):
        normalize_value("string", "abcd", max_length=3)


@pytest.mark.parametrize(
    ("region", "value", "expected"),
    [
        ("FR", "06 12 34 56 78", "+33612345678"),
        ("GB", "020 7946 0958", "+442079460958"),
        ("GB", "+33 6 12 34 56 78", "+33612345678"),
    ],
)
def test_phone_reads_national_numbers_in_the_given_region(
    region: str, value: str, expected: str
) -> None:
    assert normalize_value("phone", value, region=region) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01T10:00:00", ("2024-03-01T10:00:00Z", True)),
        ("2024-03-01 10:00", ("2024-03-01T10:00:00Z", True)),
        ("2024-03-01T10:00:00Z", ("2024-03-01T10:00:00Z", False)),
        ("2024-03-01T10:00:00+02:00", ("2024-03-01T08:00:00Z", False)),
        ("2024-03-01T10:00:00-00:00", ("2024-03-01T10:00:00Z", False)),
    ],
)
def test_normalize_datetime_reports_naive_input(
    value: str, expected: tuple[str, bool]
) -> None:
    assert normalize_datetime(value) == expected


def test_one_instant_gives_one_string() -> None:
    spellings = [
        "2024-03-01T12:00:00Z",
        "2024-03-01T12:00:00.000Z",
        "2024-03-01T14:00+02:00",
        "2024-03-01 07:00:00-05:00",
    ]
    assert {normalize_datetime(s)[0] for s in spellings} == {"2024-03-01T12:00:00Z"}


def test_normalize_value_returns_the_datetime_string_only() -> None:
    assert normalize_value("datetime", "2024-03-01T10:00:00") == "2024-03-01T10:00:00Z"


def test_field_invalid_survives_pickling() -> None:

    exc = pickle.loads(pickle.dumps(FieldInvalid("too_long", "expected less")))  # noqa: S301
    assert (exc.reason, exc.message, str(exc)) == (
        "too_long",
        "expected less",
        "expected less",
    )


def test_unknown_field_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown field type") as caught:
        normalize_value("colour", "red")
    assert not isinstance(caught.value, FieldInvalid)


def test_enum_without_values_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="allowed values") as caught:
        normalize_value("enum", "web")
    assert not isinstance(caught.value, FieldInvalid)


def test_currency_list_holds_active_codes_only() -> None:
    assert {"EUR", "USD", "GBP", "CHF", "JPY", "XOF", "XPF"} <= ISO_4217
    assert not {"FRF", "DEM", "HRK", "XXX", "XTS"} & ISO_4217
    assert all(
        len(code) == 3 and code.isalpha() and code.isupper() for code in ISO_4217
    )


def _reference_phone(text: str) -> str | None:
    """What phonenumbers alone says: E.164 when valid, else None."""
    import phonenumbers

    try:
        number = phonenumbers.parse(text.strip(), "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _french_spellings(count: int) -> list[str]:
    import random

    rng = random.Random(20261123)  # noqa: S311 -- test data, not secrets
    out: list[str] = []
    for _ in range(count):
        lead = rng.choice(["0", "+33", "+33 ", "0033", "+33 (0)", "+44 ", ""])
        first = rng.choice("0123456789")
        rest = "".join(rng.choice("0123456789") for _ in range(rng.choice([7, 8, 9])))
        digits = first + rest
        sep = rng.choice(["", " ", ".", "-", "  "])
        body = sep.join(digits[i : i + 2] for i in range(0, len(digits), 2))
        out.append(lead + body)
    return out


def test_french_fast_path_agrees_with_phonenumbers() -> None:
    mismatches = []
    for text in _french_spellings(5000):
        try:
            got: str | None = normalize_phone(text, "FR")
        except FieldInvalid:
            got = None
        if got != _reference_phone(text):
            mismatches.append(text)
    assert mismatches == []


def test_french_validity_table_agrees_with_phonenumbers() -> None:
    import random

    import phonenumbers

    from gateway.fields.normalize import _FRENCH_VALID

    rng = random.Random(7)  # noqa: S311 -- test data, not secrets
    # Every two-digit national prefix, with random tails: the number-type
    # patterns branch on the first digits.
    mismatches = []
    for prefix in range(10, 100):
        for _ in range(60):
            nsn = f"{prefix}{rng.randrange(10**7):07d}"
            number = phonenumbers.PhoneNumber(country_code=33, national_number=int(nsn))
            if _FRENCH_VALID(nsn) != phonenumbers.is_valid_number(number):
                mismatches.append(nsn)
    assert mismatches == []
