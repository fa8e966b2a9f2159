"""calibration: from a model's scores to probabilities that mean what they say (pure).

A classifier's own probabilities are often off: boosting overfits towards 0
and 1, class weights inflate every score, and a logistic model on the wrong
scale is too timid. A calibrator is a monotone map fitted on rows the model
did not learn from: Platt's sigmoid (two parameters, hard to overfit) or
isotonic regression (any monotone shape, needs more rows), chosen by
cross-validated Brier score (`CALIBRATION_RULE`).

The figures that say how well it worked are here too: the expected
calibration error over equal-mass bins, the reliability curve those bins
draw, and the held-out metrics a propensity report shows side by side,
calibrated and not (`measure`).
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold

Floats = NDArray[np.float64]
Labels = NDArray[np.int8]

SIGMOID = "sigmoid"
ISOTONIC = "isotonic"
CALIBRATION_RULE = (
    "lowest mean CV Brier score on the calibration rows; sigmoid kept when "
    "isotonic is not better by more than one standard error"
)
ECE_BINNING = "equal-mass bins of the predicted probability"


@dataclass(frozen=True)
class ReliabilityBin:
    """One point of the reliability curve: predicted against observed."""

    mean_predicted: float
    observed_rate: float
    members: int


@dataclass(frozen=True)
class Metrics:
    """Held-out figures of one set of probabilities.

    Attributes:
        roc_auc: Area under the ROC curve.
        pr_auc: Area under the precision-recall curve (average precision).
        brier: Mean squared error of the probabilities.
        log_loss: Mean negative log-likelihood.
        ece: Expected calibration error: the members-weighted mean gap
            between predicted and observed rates over the bins.
        reliability: The bins, lowest predictions first.
    """

    roc_auc: float
    pr_auc: float
    brier: float
    log_loss: float
    ece: float
    reliability: tuple[ReliabilityBin, ...]


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from a model's log-odds score to a probability.

    ``identity`` is the model's own sigmoid; ``sigmoid`` is Platt scaling,
    ``1 / (1 + exp(-(slope * score + intercept)))``; ``isotonic`` a fitted
    non-decreasing step function.
    """

    method: str
    slope: float = 1.0
    intercept: float = 0.0
    isotonic: IsotonicRegression | None = None

    @classmethod
    def identity(cls) -> "Calibrator":
        """Return the calibrator that leaves the model's probabilities as they are."""
        return cls("none")

    def transform(self, scores: Floats) -> Floats:
        """Return the calibrated probability of each score."""
        if self.isotonic is not None:
            return np.asarray(self.isotonic.predict(scores), dtype=np.float64)
        return expit(self.slope * scores + self.intercept)


def fit_calibrator(scores: Floats, y: Labels, method: str) -> Calibrator:
    """Fit Platt's sigmoid or an isotonic map from log-odds scores to outcomes.

    Args:
        scores: A model's log-odds scores of the calibration rows.
        y: Their 0/1 outcomes.
        method: `SIGMOID` or `ISOTONIC`.

    Raises:
        ValueError: The method is unknown.
    """
    column = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    if method == SIGMOID:
        # Barely regularised: Platt's two parameters are the whole model.
        platt = LogisticRegression(C=1e6).fit(column, y)
        return Calibrator(SIGMOID, float(platt.coef_[0, 0]), float(platt.intercept_[0]))
    if method == ISOTONIC:
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        return Calibrator(ISOTONIC, isotonic=iso.fit(column.ravel(), y))
    raise ValueError(f"unknown calibration method; use {SIGMOID!r} or {ISOTONIC!r}")


def choose_calibrator(
    scores: Floats, y: Labels, n_folds: int, seed: int
) -> tuple[Calibrator, dict[str, float]]:
    """Choose and fit the calibration by `CALIBRATION_RULE`.

    Each method is fitted on K-1 folds of the calibration rows and scored on
    the last: choosing on the rows it was fitted on would always favour
    isotonic regression, which can follow those rows exactly.

    Returns:
        The chosen method fitted on all the rows, and each method's mean CV
        Brier score.
    """
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    briers: dict[str, list[float]] = {SIGMOID: [], ISOTONIC: []}
    for train, test in folds.split(scores.reshape(-1, 1), y):
        for method, values in briers.items():
            calibrator = fit_calibrator(scores[train], y[train], method)
            values.append(brier_score_loss(y[test], calibrator.transform(scores[test])))
    means = {method: float(np.mean(values)) for method, values in briers.items()}
    spread = np.subtract(briers[ISOTONIC], briers[SIGMOID])
    margin = float(spread.std(ddof=1) / np.sqrt(len(spread)))
    method = ISOTONIC if means[ISOTONIC] < means[SIGMOID] - margin else SIGMOID
    return fit_calibrator(scores, y, method), means


def expected_calibration_error(
    y: Labels, probabilities: Floats, n_bins: int
) -> tuple[float, tuple[ReliabilityBin, ...]]:
    """Return the ECE over equal-mass bins and the reliability curve.

    Rows are sorted by predicted probability and cut into `n_bins` bins of
    equal size (within one row); the ECE is the members-weighted mean of
    ``|mean predicted - observed rate|``. Equal-mass bins, unlike equal-width
    ones, never leave a bin nearly empty where few predictions fall.
    """
    order = np.argsort(probabilities, kind="stable")
    bins = [
        ReliabilityBin(
            mean_predicted=float(probabilities[rows].mean()),
            observed_rate=float(y[rows].mean()),
            members=len(rows),
        )
        for rows in np.array_split(order, n_bins)
        if len(rows)
    ]
    ece = sum(b.members * abs(b.mean_predicted - b.observed_rate) for b in bins)
    return float(ece / max(len(y), 1)), tuple(bins)


def measure(y: Labels, probabilities: Floats, n_bins: int) -> Metrics:
    """Return the held-out figures of `probabilities` against outcomes `y`."""
    ece, reliability = expected_calibration_error(y, probabilities, n_bins)
    return Metrics(
        roc_auc=float(roc_auc_score(y, probabilities)),
        pr_auc=float(average_precision_score(y, probabilities)),
        brier=float(brier_score_loss(y, probabilities)),
        log_loss=float(log_loss(y, probabilities, labels=(0, 1))),
        ece=ece,
        reliability=reliability,
    )
