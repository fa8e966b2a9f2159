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
