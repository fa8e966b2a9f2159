"""Predictive segments in the audience policy: checked at load, with file and line."""

from pathlib import Path

import pytest

from gateway.policy import load_policies
from tests.gateway.policy.test_loader import (
    POLICIES,
    copy_policies,
    edit,
    line_of,
    load_error,
)


def test_the_sample_audience_declares_a_30_day_purchase_propensity() -> None:
    audience = load_policies(POLICIES).audiences["retail_default"]
    assert audience.propensity is not None
    assert (audience.propensity.target, audience.propensity.horizon_days) == (
        "purchase",
        30,
    )
    assert (audience.drift.feature_psi, audience.drift.segment_psi) == (0.25, 0.25)
    assert audience.holdout_share == 0.0


def test_defaults_when_absent(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    text = path.read_text()
    start, end = text.index("    # A purchase propensity"), text.index("    # Which")
    path.write_text(text[:start] + text[end:])
    audience = load_policies(directory).audiences["retail_default"]
    assert audience.propensity is None
    assert audience.drift.feature_psi == audience.drift.segment_psi == 0.25
    assert audience.holdout_share == 0.0


@pytest.mark.parametrize(
    ("old", "new", "where", "why"),
    [
        ("horizon_days: 30", "horizon_days: 0", "propensity.horizon_days", "greater"),
        ("horizon_days: 30", 'horizon_days: "30"', "propensity.horizon_days", "int"),
        ("target: purchase", "target: revenue", "propensity.target", "'purchase'"),
        ("feature_psi: 0.25", "feature_psi: -1", "drift.feature_psi", "greater"),
        ("holdout_share: 0.0", "holdout_share: 0.8", "holdout_share", "0.5"),
        ("holdout_share: 0.0", "holdout_share: yes", "holdout_share", "number"),
    ],
)
def test_a_wrong_value_names_file_line_and_key(
    tmp_path: Path, old: str, new: str, where: str, why: str
) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    edit(path, old, new)
    line = line_of(path, new)
    message = load_error(directory)
    assert message.startswith(
        f"audiences.yaml:{line}: audiences.retail_default.{where}:"
    )
    assert why in message


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    edit(path, "horizon_days: 30", "horizon_days: 30\n      label_field: bought")
    line = line_of(path, "label_field")
    assert load_error(directory).startswith(
        f"audiences.yaml:{line}: audiences.retail_default.propensity.label_field:"
    )


def test_a_propensity_needs_purchase_events(tmp_path: Path) -> None:
    directory = copy_policies(tmp_path)
    edit(directory / "audiences.yaml", "[customers, events]", "[customers]")
    line = line_of(directory / "audiences.yaml", "target: purchase")
    assert load_error(directory).startswith(
        f"audiences.yaml:{line}: audiences.retail_default.propensity.target: "
        "needs an events dataset with a 'purchase' event type"
    )


# Named apart from the commented example in the sample policy, so that
# `line_of` finds this rule, not the comment.
SCORE_LEVEL = (
    "\n      - name: score\n        title: Likely buyers\n"
    "        method: rules\n        rules:\n"
    "          - {name: likely, feature: propensity, op: '>=', value: 0.75}"
)
PREFERENCES = "features: [category]\n        method: cluster"


def test_a_rules_level_may_test_the_propensity_the_audience_declares(
    tmp_path: Path,
) -> None:
    directory = copy_policies(tmp_path)
    edit(directory / "audiences.yaml", PREFERENCES, PREFERENCES + SCORE_LEVEL)
    audience = load_policies(directory).audiences["retail_default"]
    level = audience.levels[-1]
    assert (level.name, level.method) == ("score", "rules")
    rule = level.rules[0]
    assert (rule.feature, rule.op, rule.value) == ("propensity", ">=", 0.75)


def test_a_propensity_rule_without_a_propensity_model_names_file_and_line(
    tmp_path: Path,
) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    text = path.read_text()
    start, end = text.index("    # A purchase propensity"), text.index("    # PSI")
    path.write_text(text[:start] + text[end:])
    edit(path, PREFERENCES, PREFERENCES + SCORE_LEVEL)
    line = line_of(path, "{name: likely,")
    assert load_error(directory).startswith(
        f"audiences.yaml:{line}: audiences.retail_default.levels[3].rules[0].feature: "
        "feature 'propensity' needs a propensity model: declare 'propensity:' "
        "in the audience"
    )


def test_a_propensity_threshold_outside_0_1_names_file_and_line(
    tmp_path: Path,
) -> None:
    directory = copy_policies(tmp_path)
    path = directory / "audiences.yaml"
    edit(path, PREFERENCES, PREFERENCES + SCORE_LEVEL.replace("0.75", "75"))
    line = line_of(path, "{name: likely,")
    assert load_error(directory).startswith(
        f"audiences.yaml:{line}: audiences.retail_default.levels[3].rules[0].value: "
        "a propensity is a probability: between 0 and 1"
    )


def test_the_sample_policy_shows_a_score_level_as_a_comment() -> None:
    audience = load_policies(POLICIES).audiences["retail_default"]
    assert all(
        rule.feature != "propensity"
        for level in audience.levels
        for rule in level.rules
    )
    assert "feature: propensity, op: '>=', value: 0.75" in (
        (POLICIES / "audiences.yaml").read_text()
    )
