"""Validation and class-by-class transformation of one record (pure)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.consent.identifiers import identifier_kinds
from gateway.crypto.keyring import KeyPurpose, create_keyring
from gateway.crypto.pseudonym import Pseudonymizer
from gateway.ingest.transform import redact_texts, transform
from gateway.ingest.validate import InvalidRecord, ValidRecord, validate_record
from gateway.pii import Redacted
from gateway.pii.analyzer import PiiAnalyzer, load_analyzer
from gateway.policy.datasets import Dataset
from gateway.policy.loader import load_policies
from gateway.policy.models import PolicySet

POLICIES = Path(__file__).resolve().parents[3] / "policies"


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies(POLICIES)


@pytest.fixture(scope="module")
def pseudonymize() -> Pseudonymizer:
    ring = create_keyring(datetime(2026, 1, 1, tzinfo=UTC))
    return Pseudonymizer(ring.active(KeyPurpose.PSEUDONYM))


@pytest.fixture(scope="module")
def analyzer(policies: PolicySet) -> PiiAnalyzer:
    return load_analyzer(policies.pii)


def _pii(
    analyzer: PiiAnalyzer, dataset: Dataset, record: ValidRecord
) -> dict[str, Redacted]:
    """What ingestion does before transform, for one record."""
    return redact_texts(analyzer, dataset, [record])[0]


RAW = {
    "source_id": "crm-1",
    "customer_id": "C-1",
    "email": " Jeanne.Doe@Example.FR ",
    "phone": "06 12 34 56 78",
    "first_name": "Jeanne",
    "street": "3 rue Haute",
    "birth_date": "02/04/1990",
    "postal_code": "69 003",
    "city": "Lyon",
    "loyalty_tier": "GOLD",
    "comment": "appelez le 06 12 34 56 78",
}


def _valid(policies: PolicySet, raw: dict[str, object]) -> ValidRecord:
    checked = validate_record(policies.datasets["customers"], raw, "FR")
    assert isinstance(checked, ValidRecord), checked
    return checked


def test_validation_normalizes(policies: PolicySet) -> None:
    values = _valid(policies, RAW).values
    assert values["email"] == "jeanne.doe@example.fr"
    assert values["phone"] == "+33612345678"
    assert values["birth_date"] == "1990-04-02"
    assert values["postal_code"] == "69003"
    assert values["loyalty_tier"] == "gold"


def test_validation_reports_every_problem_without_values(policies: PolicySet) -> None:
    raw = RAW | {"email": "nope", "jeanne@doe.fr": 1, "shoe": 2, "customer_id": None}
    checked = validate_record(policies.datasets["customers"], raw, "FR")
    assert isinstance(checked, InvalidRecord)
    reasons = {(e.field, e.reason) for e in checked.errors}
    assert ("email", "not_an_email") in reasons
    assert ("shoe", "unknown_field") in reasons
    assert ("<unrecognised key>", "unknown_field") in reasons
    assert ("customer_id", "missing") in reasons
    assert "jeanne" not in repr(checked.errors).lower()


def test_naive_datetime_is_read_as_utc_with_a_warning(policies: PolicySet) -> None:
    event = {
        "source_id": "e-1",
        "customer_id": "C-1",
        "event_type": "purchase",
        "occurred_at": "2026-03-01T12:00:00",
    }
    checked = validate_record(policies.datasets["events"], event, "FR")
    assert isinstance(checked, ValidRecord)
    assert checked.values["occurred_at"] == "2026-03-01T12:00:00Z"
    assert [w.reason for w in checked.warnings] == ["assumed_utc"]


def test_each_class_goes_where_the_policy_says(
    policies: PolicySet, pseudonymize: Pseudonymizer, analyzer: PiiAnalyzer
) -> None:
    dataset = policies.datasets["customers"]
    record = _valid(policies, RAW)
    form = transform(
        record,
        dataset,
        identifier_kinds(policies),
        "partner-1",
        "segmentation",
        pseudonymize,
        _pii(analyzer, dataset, record),
    )
    assert set(form.identifiers) == {"customer_id", "email", "phone"}
    assert form.subject_id == form.identifiers["customer_id"]
    assert form.subject_id == pseudonymize("customer_id:partner-1", "C-1")
    assert form.identifiers["email"] == pseudonymize("email", "jeanne.doe@example.fr")
    assert form.data == {
        "birth_date": "1990",
        "postal_code": "69",
        "loyalty_tier": "gold",
        "comment": "appelez le <PHONE_NUMBER>",
    }
    assert form.vault["first_name"] == "Jeanne"
    assert form.vault["city"] == "Lyon"
    assert form.vault["email"] == "jeanne.doe@example.fr"
    assert [(w.field, w.reason) for w in form.warnings] == [("comment", "pii_redacted")]
    assert form.pii_found == {"comment": ("PHONE_NUMBER",)}


def test_content_hash_follows_content_and_purpose(
    policies: PolicySet, pseudonymize: Pseudonymizer, analyzer: PiiAnalyzer
) -> None:
    dataset = policies.datasets["customers"]
    kinds = identifier_kinds(policies)

    def digest(raw: dict[str, object], purpose: str = "segmentation") -> str:
        record = _valid(policies, raw)
        pii = _pii(analyzer, dataset, record)
        form = transform(record, dataset, kinds, "p", purpose, pseudonymize, pii)
        return form.content_hash

    reordered = dict(reversed(list(RAW.items())))
    assert digest(RAW) == digest(reordered)
    assert digest(RAW) == digest(RAW | {"email": "JEANNE.DOE@example.fr"})
    assert digest(RAW) != digest(RAW | {"loyalty_tier": "silver"})
    assert digest(RAW) != digest(RAW, "analytics")


def test_attribute_holding_personal_data_is_redacted(
    policies: PolicySet, pseudonymize: Pseudonymizer, analyzer: PiiAnalyzer
) -> None:
    event = {
        "source_id": "e-2",
        "customer_id": "C-1",
        "event_type": "view",
        "occurred_at": "2026-03-01T12:00:00Z",
        "category": "mail jeanne@doe.fr",
    }
    dataset = policies.datasets["events"]
    checked = validate_record(dataset, event, "FR")
    assert isinstance(checked, ValidRecord)
    form = transform(
        checked,
        dataset,
        identifier_kinds(policies),
        "p",
        "segmentation",
        pseudonymize,
        _pii(analyzer, dataset, checked),
    )
    assert form.data["category"] == "mail <EMAIL_ADDRESS>"
    assert [(w.field, w.reason) for w in form.warnings] == [
        ("category", "pii_redacted")
    ]
    assert form.pii_found == {"category": ("EMAIL_ADDRESS",)}


def test_a_note_repeating_the_records_own_values_loses_them(
    policies: PolicySet, analyzer: PiiAnalyzer
) -> None:
    # A made-up name no detector has seen, in a note about its bearer: the
    # record itself says it is a name.
    raw = RAW | {
        "first_name": "Xqorvenka",
        "last_name": "Pluzdrabec",
        "comment": "rappeler XQORVENKA pluzdrabec, 3 rue haute, Lyon",
    }
    dataset = policies.datasets["customers"]
    (pii,) = redact_texts(analyzer, dataset, [_valid(policies, raw)])
    text = pii["comment"].text
    for value in ("xqorvenka", "pluzdrabec", "rue haute", "lyon"):
        assert value not in text.lower(), text
    assert "PERSON" in pii["comment"].entity_types
