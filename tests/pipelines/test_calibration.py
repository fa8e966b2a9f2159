"""calibration: the error it measures, and what a calibrator fixes."""

import numpy as np
import pytest

from pipelines.calibration import (
    ISOTONIC,
    SIGMOID,
    choose_calibrator,
    expected_calibration_error,
    fit_calibrator,
)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def test_ece_over_equal_mass_bins_is_the_weighted_gap() -> None:
    y = np.array([0, 0, 1, 1], dtype=np.int8)
    p = np.array([0.1, 0.3, 0.6, 0.8])
    ece, bins = expected_calibration_error(y, p, n_bins=2)
    # Bins {0.1, 0.3} (mean 0.2, observed 0) and {0.6, 0.8} (0.7, observed 1).
    assert ece == pytest.approx((0.2 + 0.3) / 2)
    assert [(b.mean_predicted, b.observed_rate, b.members) for b in bins] == [
        pytest.approx((0.2, 0.0, 2)),
        pytest.approx((0.7, 1.0, 2)),
    ]


@pytest.mark.parametrize("method", [SIGMOID, ISOTONIC, "chosen"])
def test_calibration_improves_a_miscalibrated_model(method: str) -> None:
    # The model's log-odds are 2.5 times too timid and 1 too high: its own
    # probabilities sit far from the observed rates.
    rng = np.random.default_rng(3)
    scores = rng.normal(0.0, 1.5, size=8000)
    y = (rng.random(8000) < sigmoid(2.5 * scores - 1.0)).astype(np.int8)
    fit, test = slice(0, 4000), slice(4000, None)
    if method == "chosen":
        calibrator, _ = choose_calibrator(scores[fit], y[fit], n_folds=5, seed=1)
    else:
        calibrator = fit_calibrator(scores[fit], y[fit], method)
    before, _ = expected_calibration_error(y[test], sigmoid(scores[test]), 10)
    after, _ = expected_calibration_error(
        y[test], calibrator.transform(scores[test]), 10
    )
    assert before > 0.08
    assert after < 0.03
    assert after < before / 3
