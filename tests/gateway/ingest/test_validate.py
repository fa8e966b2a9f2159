"""Record validation: fields typed email, phone and iban are confirmed by the real
PII recognizers after normalization (`PiiAnalyzer.check_structured`)."""

from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from gateway.fields.normalize import normalize_value
from gateway.ingest.validate import (
    STRUCTURED_TYPES,
    FieldIssue,
    InvalidRecord,
    ValidRecord,
    validate_record,
)
from gateway.pii.analyzer import PiiAnalyzer, load_analyzer
from gateway.policy.datasets import Dataset, FieldType
from gateway.policy.loader import load_policies
from gateway.policy.models import PolicySet

POLICIES = Path(__file__).resolve().parents[3] / "policies"

# Written as partners do: grouped, lower case, national phone spelling.
RAW: dict[str, Any] = {
    "source_id": "crm-1",
    "customer_id": "C-1",
    "email": " Jeanne.Doe@Example.FR ",
    "phone": "06 12 34 56 78",
    "iban": "de89 3704 0044 0532 0130 00",
}

# Addresses normalize_email accepts (RFC 5322 allows the apostrophe; xn--p1ai
# is the ASCII form of .рф) that the e-mail recognizer does not take whole:
# it would find "brien@..." inside the first, and nothing in the second.
VALID_UNUSUAL_EMAILS = ["o'brien@example.co.uk", "anna@mail.xn--p1ai"]
# phonenumbers' own example of a Tokelau mobile number: 7 digits with the
# country code, valid for phonenumbers, under the 8 digits the phone
# recognizer needs before it looks.
TOKELAU_MOBILE = phonenumbers.format_number(
    phonenumbers.example_number_for_type("TK", phonenumbers.PhoneNumberType.MOBILE),
    phonenumbers.PhoneNumberFormat.E164,
)


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies(POLICIES)


@pytest.fixture(scope="module")
def customers(policies: PolicySet) -> Dataset:
    return policies.datasets["customers"]


@pytest.fixture(scope="module")
def analyzer(policies: PolicySet) -> PiiAnalyzer:
    return load_analyzer(policies.pii)


def _errors(checked: ValidRecord | InvalidRecord) -> list[FieldIssue]:
    assert isinstance(checked, InvalidRecord), checked
    return checked.errors


@pytest.mark.parametrize(
    ("field_type", "value"),
    [
        ("email", "jeanne.doe@example.fr"),
        ("phone", "+33612345678"),
        ("iban", "DE89370400440532013000"),
    ],
)
def test_every_typed_field_has_its_recognizer_in_every_language(
    analyzer: PiiAnalyzer, field_type: FieldType, value: str
) -> None:
    # Ingestion checks in the analyzer's default language; a language without
    # the recognizer would make check_structured raise on every record.
    entity = STRUCTURED_TYPES[field_type].entity
    for language in analyzer.languages:
        assert analyzer.check_structured(entity, value, language), language


def test_confirmed_values_are_stored_normalized(
    customers: Dataset, analyzer: PiiAnalyzer
) -> None:
    seen: list[tuple[str, str]] = []

    def check(entity: str, value: str) -> bool:
        seen.append((entity, value))
        return analyzer.check_structured(entity, value)

    checked = validate_record(customers, RAW, "FR", check=check)
    assert isinstance(checked, ValidRecord), checked
    assert checked.values["iban"] == "DE89370400440532013000"
    # The recognizer judges the form that is stored, once per typed field.
    assert sorted(seen) == [
        ("EMAIL_ADDRESS", "jeanne.doe@example.fr"),
        ("IBAN_CODE", "DE89370400440532013000"),
        ("PHONE_NUMBER", "+33612345678"),
    ]


@pytest.mark.parametrize("email", VALID_UNUSUAL_EMAILS)
def test_unusual_valid_emails_are_taken_whole_by_the_recognizer(
    customers: Dataset, analyzer: PiiAnalyzer, email: str
) -> None:
    # RFC 5322 allows these; rejecting them at ingestion would lose customers.
    assert normalize_value("email", email) == email
    assert analyzer.check_structured("EMAIL_ADDRESS", email)
    raw = RAW | {"email": email}
    checked = validate_record(customers, raw, "FR", check=analyzer.check_structured)
    assert isinstance(checked, ValidRecord), checked


def test_the_shortest_valid_phones_are_taken_by_the_recognizer(
    analyzer: PiiAnalyzer,
) -> None:
    assert normalize_value("phone", TOKELAU_MOBILE) == TOKELAU_MOBILE
    assert analyzer.check_structured("PHONE_NUMBER", TOKELAU_MOBILE)


def _refuses_phones(entity: str, value: str) -> bool:
    # The recognizers and the normalizers agree on every case we know of; a
    # check that refuses one type shows what ingestion does when they differ.
    del value
    return entity != "PHONE_NUMBER"


def test_a_value_the_check_refuses_is_invalid(customers: Dataset) -> None:
    raw = RAW | {"phone": TOKELAU_MOBILE}
    checked = validate_record(customers, raw, "FR", check=_refuses_phones)
    errors = _errors(checked)
    assert [(e.field, e.reason) for e in errors] == [("phone", "not_a_phone")]
    assert TOKELAU_MOBILE[1:] not in repr(errors)


def test_every_problem_is_listed_and_a_failed_subject_key_is_not_missing(
    analyzer: PiiAnalyzer,
) -> None:
    # A dataset whose subject key is a phone: one that fails the recognizer
    # is reported as such, not also as a missing required field.
    dataset = Dataset.model_validate(
        {
            "name": "newsletter",
            "subject_key": "phone",
            "purposes": ["analytics"],
            "fields": {
                "phone": {"type": "phone", "class": "identifier", "scope": "global"},
                "iban": {"type": "iban", "class": "direct_pii"},
            },
        }
    )
    raw = {
        "source_id": "nl-1",
        "phone": TOKELAU_MOBILE,
        "iban": "DE89 3704 0044 0532 0130 01",  # mistyped: normalization says so
    }
    checked = validate_record(dataset, raw, "FR", check=_refuses_phones)
    assert sorted((e.field, e.reason) for e in _errors(checked)) == [
        ("iban", "not_an_iban"),
        ("phone", "not_a_phone"),
    ]


def test_without_a_check_only_normalization_applies(customers: Dataset) -> None:
    raw = RAW | {"email": VALID_UNUSUAL_EMAILS[0]}
    checked = validate_record(customers, raw, "FR")
    assert isinstance(checked, ValidRecord), checked
    assert checked.values["email"] == VALID_UNUSUAL_EMAILS[0]
