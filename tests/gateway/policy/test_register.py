"""The Art. 30 record of processing, built from the policies and rendered."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gateway.policy import load_policies
from gateway.policy.register import NOT_STATED, build_register
from gateway.policy.register_md import render_markdown
from tests.databases import POLICIES

MINIMAL_CUSTOMERS = """\
name: customers
subject_key: customer_id
role: profile
purposes: [segmentation, analytics]
fields:
  customer_id: {type: string, class: identifier, scope: partner, required: true}
  first_name: {type: string, class: direct_pii}
"""


@pytest.fixture(scope="module")
def register() -> dict[str, Any]:
    return build_register(load_policies(POLICIES))


def _by_name(items: list[dict[str, Any]], key: str = "name") -> dict[str, Any]:
    return {item[key]: item for item in items}


def test_purposes_carry_basis_tcf_purposes_retention_and_use(
    register: dict[str, Any],
) -> None:
    purposes = _by_name(register["purposes"])

    assert set(purposes) == {"segmentation", "analytics"}
    segmentation = purposes["segmentation"]
    assert segmentation["legal_basis"] == "consent"
    assert "Art. 6(1)(a)" in segmentation["legal_basis_text"]
    assert [t["id"] for t in segmentation["tcf_purposes"]] == [1, 3, 4]
    assert segmentation["tcf_purposes"][1]["name"] == (
        "Create profiles for personalised advertising"
    )
    assert segmentation["retention_days"] == 395
    assert segmentation["datasets"] == ["customers", "events"]
    assert segmentation["audiences"] == ["retail_default"]
    analytics = purposes["analytics"]
    assert analytics["legal_basis"] == "legitimate_interest"
    assert "Art. 6(1)(f)" in analytics["legal_basis_text"]
    assert (analytics["tcf_purposes"], analytics["audiences"]) == ([], [])
    assert analytics["retention_days"] == 730
    assert register["policy_version"] == load_policies(POLICIES).version


def test_data_categories_follow_the_field_classes(register: dict[str, Any]) -> None:
    datasets = _by_name(register["data_categories"])
    customers = datasets["customers"]["categories"]

    def fields(category: str) -> list[str]:
        return [f["field"] for f in customers[category]["fields"]]

    assert fields("identifiers") == ["customer_id", "email", "phone"]
    assert fields("direct_pii") == ["first_name", "last_name", "street", "iban"]
    assert fields("free_text") == ["comment"]
    assert fields("special_category") == ["health_interest"]
    quasi = {
        f["field"]: f["generalisation"]
        for f in customers["quasi_identifiers"]["fields"]
    }
    assert quasi == {
        "birth_date": "year only",
        "postal_code": "first 2 characters",
        "city": "not kept on the record",
    }
    assert "refused" in customers["special_category"]["stored_as"]
    assert "AES-GCM" in customers["direct_pii"]["stored_as"]
    # Events hold one identifier and attributes: no other category is listed.
    assert set(datasets["events"]["categories"]) == {"identifiers", "attributes"}
    subjects = _by_name(register["data_subjects"], "dataset")
    assert subjects["customers"]["identified_by"] == "customer_id"
    assert "customers of the partners" in subjects["customers"]["who"]


def test_recipients_are_the_destinations_and_audiences_with_their_floors(
    register: dict[str, Any],
) -> None:
    recipients = register["recipients"]

    assert recipients["destinations"] == [
        {
            "name": "demo_platform",
            "description": (
                "The platform `make demo` creates; it asks for larger segments."
            ),
            "k_min": 150,
            "id_format": "uuid",
        }
    ]
    audience = _by_name(recipients["audiences"])["retail_default"]
    assert (audience["purpose"], audience["k_min"]) == ("segmentation", 100)
    safeguards = {s["measure"]: s["detail"] for s in register["safeguards"]}
    assert "retail_default: k >= 100" in safeguards["k-anonymity floor"]
    assert "demo_platform: k >= 150" in safeguards["k-anonymity floor"]


def test_what_the_policies_do_not_state_is_marked_not_guessed(
    register: dict[str, Any],
) -> None:
    assert register["controller"] == NOT_STATED
    assert register["data_protection_officer"] == NOT_STATED
    assert register["transfers_outside_eea"] == NOT_STATED
    tcf = load_policies(POLICIES).tcf
    assert tcf is not None
    assert register["tcf_vendor_id"] == tcf.vendor_id


def test_safeguards_follow_what_the_datasets_hold(
    register: dict[str, Any], tmp_path: Path
) -> None:
    measures = [s["measure"] for s in register["safeguards"]]
    assert measures == [
        "Pseudonymisation",
        "Encryption at rest",
        "Crypto-shredding",
        "Generalisation",
        "PII redaction",
        "Special categories",
        "k-anonymity floor",
        "Destination-scoped ids",
        "Consent checks",
        "Tamper-evident audit log",
        "Access control",
    ]
    # Without quasi-identifiers or special categories, no measure about them
    # is claimed.
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    (policies / "datasets" / "customers.yaml").write_text(MINIMAL_CUSTOMERS)
    trimmed = build_register(load_policies(policies))
    assert [s["measure"] for s in trimmed["safeguards"]] == [
        m for m in measures if m not in ("Generalisation", "Special categories")
    ]


def test_markdown_has_the_purposes_table_and_escapes_cells(
    register: dict[str, Any], tmp_path: Path
) -> None:
    text = render_markdown(register)

    assert text.startswith("# Record of processing activities (GDPR Art. 30)\n")
    section = text.split("## Purposes\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| Purpose | Description | Legal basis |")
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| analytics",
        "| segmentation",
    ]
    rows = rows[2:]
    assert "| 395 |" in rows[0]
    assert "consent, GDPR Art. 6(1)(a)" in rows[0]
    for section in ("## Data subjects", "## Recipients", "## Retention"):
        assert section in text
    assert "### Dataset `customers`" in text
    assert "`birth_date` (year only)" in text
    assert f"Controller: {NOT_STATED}" in text
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    purposes_file = policies / "purposes.yaml"
    purposes_file.write_text(
        purposes_file.read_text().replace("(counts, trends)", "(counts | trends)")
    )
    piped = render_markdown(build_register(load_policies(policies)))
    assert "(counts \\| trends)" in piped


def test_json_is_one_document_that_round_trips(register: dict[str, Any]) -> None:
    assert json.loads(json.dumps(register)) == register


def test_profiling_names_each_audience_model_and_where_art_22_stands(
    register: dict[str, Any], tmp_path: Path
) -> None:
    profiling = register["profiling"]
    audiences = _by_name(profiling["audiences"], "audience")

    retail = audiences["retail_default"]
    assert retail["purpose"] == "segmentation"
    assert retail["propensity"]["target"] == "purchase"
    assert retail["propensity"]["horizon_days"] == 30
    assert [lv["level"] for lv in retail["segmentation"]] == [
        lv.name for lv in load_policies(POLICIES).audiences["retail_default"].levels
    ]
    assert "Art. 22(1)" in profiling["automated_decisions"]
    assert "Art. 21(2)" in profiling["objection"]
    assert "Art. 9" in profiling["model_inputs"]
    text = render_markdown(register)
    section = text.split("## Profiling (GDPR Art. 4(4), 21, 22)\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert "| retail_default | segmentation |" in section
    assert "purchase in the 30 days after the run" in section
    assert "Automated decisions:" in section
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    audiences_file = policies / "audiences.yaml"
    declared = "    propensity:\n      target: purchase\n      horizon_days: 30\n"
    assert declared in audiences_file.read_text()
    audiences_file.write_text(audiences_file.read_text().replace(declared, ""))
    plain = build_register(load_policies(policies))["profiling"]["audiences"]
    assert _by_name(plain, "audience")["retail_default"]["propensity"] is None
