"""predictive: the run's propensity stage on small frames with known answers."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from gateway.policy import load_policies
from gateway.policy.predictive import PropensitySpec
from pipelines.features import build_features, category_shares, numeric_matrix
from pipelines.predictive import (
    FITTED,
    NOT_DECLARED,
    SKIPPED,
    CurrentFeatures,
    Scored,
    forbidden_fields,
    observed_window,
    score_propensity,
)
from pipelines.quality import impute
from tests.databases import POLICIES
from tests.pipelines.rows import LEVELS, event_row, events
from tests.pipelines.test_propensity import CUTOFF, loyal_and_casual

SPEC = PropensitySpec(target="purchase", horizon_days=30)
# The day after the last event of `loyal_and_casual` (5 days after the
# cut-off) ends the observed window, whatever the run's as-of.
AS_OF = CUTOFF + timedelta(days=60)


def _run(spec: PropensitySpec | None, forbidden: frozenset[str]) -> Scored:
    people, frame, _ = loyal_and_casual(400)
    features, _ = impute(build_features(people, frame, AS_OF, LEVELS))
    matrix, columns = numeric_matrix(features, LEVELS)
    shares, names = category_shares(frame, features["entity_id"], min_entities=10)
    current = CurrentFeatures(
        features["entity_id"], np.hstack([matrix, shares]), [*columns, *names]
    )
    return score_propensity(
        spec,
        people,
        frame,
        current,
        as_of=AS_OF,
        levels=LEVELS,
        forbidden=forbidden,
        k_min=10,
        seed=3,
    )


def test_the_sample_policies_forbid_the_special_category_field() -> None:
    policies = load_policies(POLICIES)
    audience = policies.audiences["retail_default"]
    assert forbidden_fields(policies, audience) == {"health_interest"}


def test_the_window_ends_at_the_as_of_or_the_day_after_the_last_event() -> None:
    frame = events(event_row("a", occurred_at=datetime(2026, 3, 4, 15, tzinfo=UTC)))
    late = datetime(2026, 6, 1, tzinfo=UTC)
    assert observed_window(frame, late, 30) == (
        datetime(2026, 2, 3, tzinfo=UTC),
        datetime(2026, 3, 5, tzinfo=UTC),
    )
    early = datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert observed_window(frame, early, 30) == (early - timedelta(days=30), early)
    assert observed_window(events(), late, 30) is None


def test_fits_calibrates_and_scores_everyone_on_current_features() -> None:
    scored = _run(SPEC, frozenset({"health_interest"}))
    summary = scored.summary
    assert summary["status"] == FITTED
    assert summary["cutoff"] == (CUTOFF - timedelta(days=24)).isoformat()
    assert summary["calibrated"]["roc_auc"] > 0.8
    assert scored.scores is not None
    assert scored.scores.height == summary["scored"]["people"] == 400
    assert scored.scores["propensity"].is_between(0, 1).all()


def test_special_category_columns_never_enter_and_are_listed() -> None:
    scored = _run(SPEC, frozenset({"gender", "loyalty_tier"}))
    summary = scored.summary
    assert summary["status"] == FITTED
    assert summary["excluded_special_category"]
    assert all(
        c.split("=")[0] in {"gender", "loyalty_tier"}
        for c in summary["excluded_special_category"]
    )
    assert not any(
        c.startswith(("gender", "loyalty_tier")) for c in summary["features"]
    )


@pytest.mark.parametrize(
    ("spec", "status", "reason"),
    [
        (None, NOT_DECLARED, None),
        (
            PropensitySpec(target="purchase", horizon_days=30, min_positives=500),
            SKIPPED,
            "each needs at least 500 (min_positives)",
        ),
    ],
)
def test_skips_with_the_reason_and_no_scores(
    spec: PropensitySpec | None, status: str, reason: str | None
) -> None:
    scored = _run(spec, frozenset())
    assert scored.summary["status"] == status
    assert scored.scores is None
    if reason is not None:
        assert reason in scored.summary["reason"]
