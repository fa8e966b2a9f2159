"""Audience levels: feature groups checked at load time, with file and line."""

from pathlib import Path

import pytest

from gateway.policy import load_policies
from gateway.policy.segmentation import (
    DEFAULT_LEVELS,
    FEATURE_GROUPS,
    feature_group,
    producible_groups,
)
from tests.gateway.policy.test_loader import (
    POLICIES,
    copy_policies,
    edit,
    line_of,
    load_error,
)


def test_the_sample_audience_names_the_default_levels() -> None:
    audience = load_policies(POLICIES).audiences["retail_default"]
    assert [
        (level.name, level.features, level.method) for level in audience.levels
    ] == [(name, groups, method) for name, _, groups, method in DEFAULT_LEVELS]


def test_levels_default_when_absent(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("    levels:")])
    audience = load_policies(directory).audiences["retail_default"]
    assert [level.name for level in audience.levels] == [
        "profile",
        "behaviour",
        "preferences",
    ]


def test_an_unknown_feature_group_names_file_and_line(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    edit(path, "features: [category]", "features: [category, shoe_size]")
    line = line_of(path, "shoe_size")
    assert load_error(directory).startswith(
        f"audiences.yaml:{line}: audiences.retail_default.levels[2].features[1]: "
        "unknown feature group 'shoe_size'"
    )


def test_an_empty_level_names_file_and_line(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    edit(path, "features: [category]", "features: []")
    line = line_of(path, "features: []")
    assert load_error(directory).startswith(
        f"audiences.yaml:{line}: audiences.retail_default.levels[2].features: "
        "a cluster level needs a feature group"
    )


def test_a_rules_level_without_rules_is_refused(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    edit(path, "features: [category]\n        method: cluster", "method: rules")
    assert "audiences.retail_default.levels[2].rules: a rules level needs" in (
        load_error(directory)
    )


def test_a_rules_level_rule_on_an_unknown_feature_names_file_and_line(
    tmp_path: Path,
) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    rule = "{name: kiosk, feature: share_channel_kiosk, op: '>', value: 0.5}"
    edit(
        path,
        "features: [category]\n        method: cluster",
        f"method: rules\n        rules:\n          - {rule}",
    )
    line = line_of(path, "share_channel_kiosk")
    assert load_error(directory).startswith(
        f"audiences.yaml:{line}: audiences.retail_default.levels[2].rules[0].feature: "
        "unknown feature 'share_channel_kiosk'"
    )


def test_two_levels_of_one_name_are_refused(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    edit(path, "name: preferences", "name: profile")
    line = line_of(path, "features: [category]") - 2
    assert load_error(directory).startswith(
        f"audiences.yaml:{line}: audiences.retail_default.levels[2].name: "
        "duplicate 'profile'"
    )


@pytest.mark.parametrize(
    ("column", "group"),
    [
        ("gender=female", "demographic"),
        ("age_band=18-24", "demographic"),
        ("region=bretagne", "geographic"),
        ("monetary_mean", "rfm"),
        ("share_channel_app", "channel"),
        ("share_device_unknown", "device"),
        ("share_daypart_night", "time"),
        ("share_weekend", "time"),
        ("share_category_books", "category"),
        ("no_such_thing", None),
    ],
)
def test_every_feature_column_has_its_group(column: str, group: str | None) -> None:
    assert feature_group(column) == group


def test_groups_follow_the_declared_roles(tmp_path: Path) -> None:
    # A partner that sends no demographics: the profile dataset declares no
    # birth date, gender or loyalty tier, so the group cannot be produced.
    directory = copy_policies(tmp_path)
    customers = directory / "datasets" / "customers.yaml"
    for role in ("birth_date", "gender", "loyalty_tier"):
        edit(customers, f"    role: {role}\n", "")
    policies = load_policies(directory)
    audience = policies.audiences["retail_default"]
    groups = producible_groups(policies.datasets, audience.datasets)
    assert "demographic" not in groups
    assert set(groups) == set(FEATURE_GROUPS) - {"demographic"}
