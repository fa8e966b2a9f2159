"""propensity: time-based outcome, model choice, calibration, held-out figures."""

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from pipelines.calibration import ISOTONIC, SIGMOID
from pipelines.features import build_features, numeric_matrix
from pipelines.propensity import (
    BOOSTING,
    LOGISTIC,
    PropensityConfig,
    SpecialCategoryFeatureError,
    events_before,
    fit_propensity,
    purchase_outcome,
)
from pipelines.quality import impute
from tests.pipelines.rows import (
    EPOCH,
    LEVELS,
    customer_row,
    customers,
    event_row,
    events,
)

CUTOFF = EPOCH + timedelta(days=60)
# One thread: OpenMP threads spin when the machine is shared, and small
# fits gain nothing from two.
FAST = PropensityConfig(seed=7, n_folds=3, boosting_iterations=100, n_threads=1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def planted(n: int, seed: int, logit: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Six standard normal features; the outcome follows a known logit."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    z = {
        "linear": 1.5 * x[:, 0] - 1.0 * x[:, 1],
        "interaction": 3.0 * x[:, 0] * x[:, 1],
    }[logit]
    y = (rng.random(n) < sigmoid(z)).astype(np.int8)
    return x, y, [f"x{i}" for i in range(6)]


def test_outcome_is_a_purchase_inside_the_window_only() -> None:
    frame = events(
        event_row("in", event_type="purchase", occurred_at=CUTOFF + timedelta(days=3)),
        event_row("at_cutoff", event_type="purchase", occurred_at=CUTOFF),
        event_row("before", event_type="purchase", occurred_at=CUTOFF - timedelta(1)),
        event_row("at_end", event_type="purchase", occurred_at=CUTOFF + timedelta(30)),
        event_row("refund", event_type="refund", occurred_at=CUTOFF + timedelta(2)),
        event_row("view", occurred_at=CUTOFF + timedelta(days=2)),
    )
    ids = pl.Series(["in", "at_cutoff", "before", "at_end", "refund", "view", "none"])
    outcome = purchase_outcome(frame, ids, CUTOFF, horizon_days=30)
    assert outcome.tolist() == [1, 1, 0, 0, 0, 0, 0]


def test_features_see_only_events_before_the_cutoff() -> None:
    frame = events(
        event_row("a", occurred_at=CUTOFF - timedelta(seconds=1)),
        event_row("a", occurred_at=CUTOFF),
    )
    assert events_before(frame, CUTOFF)["occurred_at"].to_list() == [
        CUTOFF - timedelta(seconds=1)
    ]


def test_outcome_refuses_a_naive_cutoff_and_an_empty_window() -> None:
    frame = events(event_row("a"))
    with pytest.raises(ValueError, match="time zone"):
        purchase_outcome(frame, pl.Series(["a"]), CUTOFF.replace(tzinfo=None), 30)
    with pytest.raises(ValueError, match="horizon_days"):
        purchase_outcome(frame, pl.Series(["a"]), CUTOFF, 0)


def test_refuses_special_category_features_one_hot_or_not() -> None:
    x, y, _ = planted(400, 1, "linear")
    columns = ["frequency", "health_interest=diabetes", "religion", "x3", "x4", "x5"]
    with pytest.raises(SpecialCategoryFeatureError) as raised:
        fit_propensity(x, y, columns, forbidden={"health_interest", "religion"})
    assert "health_interest=diabetes" in str(raised.value)
    assert "religion" in str(raised.value)


def test_refuses_missing_values_and_non_binary_outcomes() -> None:
    x, y, columns = planted(400, 1, "linear")
    x[3, 2] = np.nan
    with pytest.raises(ValueError, match="impute"):
        fit_propensity(x, y, columns, forbidden=set())
    x[3, 2] = 0.0
    with pytest.raises(ValueError, match="only 0 and 1"):
        fit_propensity(x, y * 2, columns, forbidden=set())


def test_chooses_the_logistic_model_on_a_linear_truth() -> None:
    x, y, columns = planted(3000, 2, "linear")
    _, report = fit_propensity(x, y, columns, forbidden=set(), config=FAST)
    assert report.model == LOGISTIC
    assert report.calibrated.roc_auc > 0.8


def test_chooses_boosting_when_the_truth_is_an_interaction() -> None:
    x, y, columns = planted(3000, 2, "interaction")
    _, report = fit_propensity(x, y, columns, forbidden=set(), config=FAST)
    by_model = {c.model: c for c in report.candidates}
    assert report.model == BOOSTING
    assert by_model[BOOSTING].cv_log_loss < by_model[LOGISTIC].cv_log_loss
    # A linear model cannot see x0 * x1: no better than chance.
    assert by_model[LOGISTIC].cv_roc_auc < 0.6 < report.calibrated.roc_auc


def test_report_holds_held_out_figures_beside_the_uncalibrated_ones() -> None:
    x, y, columns = planted(3000, 4, "linear")
    _, report = fit_propensity(x, y, columns, forbidden=set(), config=FAST)
    data = json.loads(json.dumps(report.as_dict()))
    assert data["features"] == columns
    assert data["calibration"] in {SIGMOID, ISOTONIC}
    assert set(data["calibration_cv_brier"]) == {SIGMOID, ISOTONIC}
    rows = data["rows"]
    assert rows["fitted"] + rows["calibration"] + rows["held_out"] == 3000
    for figures in (data["calibrated"], data["uncalibrated"]):
        assert set(figures) == {
            "roc_auc", "pr_auc", "brier", "log_loss", "ece", "reliability"
        }  # fmt: skip
        # 600 held-out rows at 100 or more per bin: six equal-mass bins.
        assert [b["members"] for b in figures["reliability"]] == [100] * 6


def test_same_seed_gives_the_same_scores() -> None:
    x, y, columns = planted(2000, 5, "interaction")
    first, _ = fit_propensity(x, y, columns, forbidden=set(), config=FAST)
    again, _ = fit_propensity(x, y, columns, forbidden=set(), config=FAST)
    np.testing.assert_array_equal(first.predict(x), again.predict(x))
    assert ((first.predict(x) >= 0) & (first.predict(x) <= 1)).all()


def purchase(person: str, at: datetime, **over: Any) -> dict[str, Any]:
    return event_row(
        person, **({"event_type": "purchase", "amount": 30.0, "occurred_at": at} | over)
    )


def loyal_and_casual(n: int) -> tuple[pl.DataFrame, pl.DataFrame, set[str]]:
    """Loyal app buyers and casual web buyers, and who is loyal.

    Before the cut-off a loyal person buys weekly for 8 weeks, a casual one
    once; after it, 80 % of the loyal and 10 % of the casual buy (the others
    only look: a view is not an outcome).
    """
    rng = np.random.default_rng(9)
    loyal = {f"p{i:04d}" for i in range(0, n, 2)}
    rows = []
    for i in range(n):
        person = f"p{i:04d}"
        channel, weeks = ("app", range(1, 9)) if person in loyal else ("web", [6])
        before = [CUTOFF - timedelta(weeks=w) for w in weeks]
        buys = rng.random() < (0.8 if person in loyal else 0.1)
        after = "purchase" if buys else "view"
        rows += [
            *(purchase(person, at, channel=channel) for at in before),
            purchase(person, CUTOFF + timedelta(days=5), event_type=after),
        ]
    people = customers(*(customer_row(f"p{i:04d}") for i in range(n)))
    return people, events(*rows), loyal


def test_time_split_on_the_pipeline_frames_recovers_the_planted_rates() -> None:
    people, frame, loyal = loyal_and_casual(800)
    features, _ = impute(
        build_features(people, events_before(frame, CUTOFF), CUTOFF, LEVELS)
    )
    is_loyal = features["entity_id"].is_in(list(loyal)).to_numpy()
    # The features saw the 8 or 1 purchases before the cut-off, not the one after.
    assert features["frequency"].to_list() == [8 if f else 1 for f in is_loyal]
    x, names = numeric_matrix(features, LEVELS)
    y = purchase_outcome(frame, features["entity_id"], CUTOFF, horizon_days=30)
    assert y[is_loyal].mean() > 0.7 > 0.2 > y[~is_loyal].mean()
    model, report = fit_propensity(
        x, y, names, forbidden={"health_interest"}, config=FAST
    )
    scores = model.predict(x)
    # Calibrated: each group's mean score is its observed purchase rate.
    assert abs(scores[is_loyal].mean() - y[is_loyal].mean()) < 0.05
    assert abs(scores[~is_loyal].mean() - y[~is_loyal].mean()) < 0.05
    assert report.features == tuple(names)
