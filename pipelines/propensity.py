"""propensity: a calibrated purchase propensity per person (pure).

The split is in time, not at random: features describe each person up to a
cut-off (`events_before`), and the outcome is whether they bought in the N
days after it (`purchase_outcome`), derived from the events themselves, never
from a label a partner sends, whose meaning we could not check. A model fitted
that way predicts the future from the past, so it can then score everyone on
their features as of the run.

`fit_propensity` draws everything from `config.seed`:

1. Refuse any special-category feature (GDPR Art. 9 data never models).
2. Hold out `test_share` of the labelled rows for the report. Of the rest, at
   most `max_fit_rows` (stratified draw) are split into fitting and
   calibration rows: beyond that size more rows barely move the figures but
   cost minutes, and everyone is still scored.
3. Choose the model on the fitting rows by stratified K-fold cross-validation
   (`SELECTION_RULE`): the lowest mean log-loss, logistic regression kept when
   within one standard error of the best (Breiman's one-SE rule: the simpler
   model unless the other is measurably better).
4. Refit it on the fitting rows and calibrate its scores on the calibration
   rows, Platt's sigmoid or isotonic regression (`CALIBRATION_RULE`).
5. Report on the held-out rows, calibrated and uncalibrated side by side.

The fitting and calibration rows are disjoint: a calibrator fitted on the
rows its model learnt from sees overconfident scores and learns the wrong map.
"""

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.special import expit
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from gateway.policy.segmentation import PURCHASE
from pipelines.calibration import (
    CALIBRATION_RULE,
    ECE_BINNING,
    ISOTONIC,
    SIGMOID,
    Calibrator,
    Metrics,
    ReliabilityBin,
    choose_calibrator,
    expected_calibration_error,
    fit_calibrator,
    measure,
)
from pipelines.frames import EVENTS_SCHEMA, check_schema

# The calibration names are re-exported: the propensity API (and the bench)
# predates their move to `pipelines.calibration`.
__all__ = [
    "BOOSTING",
    "CALIBRATION_RULE",
    "ECE_BINNING",
    "ISOTONIC",
    "LOGISTIC",
    "SELECTION_RULE",
    "SIGMOID",
    "Calibrator",
    "CandidateScore",
    "Metrics",
    "PropensityConfig",
    "PropensityModel",
    "PropensityReport",
    "ReliabilityBin",
    "SpecialCategoryFeatureError",
    "check_features",
    "choose_calibrator",
    "events_before",
    "expected_calibration_error",
    "fit_calibrator",
    "fit_propensity",
    "measure",
    "purchase_outcome",
]

Floats = NDArray[np.float64]
Labels = NDArray[np.int8]

LOGISTIC = "logistic_regression"
BOOSTING = "hist_gradient_boosting"
SELECTION_RULE = (
    "lowest mean stratified-CV log-loss; logistic regression kept when within "
    "one standard error of the best"
)
_OUTCOME_COLUMNS = ("entity_id", "event_type", "occurred_at")
# Scoring in chunks bounds the transient copies a predictor makes.
_SCORE_CHUNK = 250_000


class SpecialCategoryFeatureError(ValueError):
    """A feature derived from special-category data was offered to a model."""


@dataclass(frozen=True)
class PropensityConfig:
    """Parameters of a fit; all of them belong in the run's summary.

    Attributes:
        seed: Source of every random draw (splits, folds, boosting).
        n_folds: Folds of the stratified cross-validations.
        test_share: Share of the labelled rows held out for the report.
        calibration_share: Share of the drawn rows that calibrate.
        max_fit_rows: Most rows drawn for fitting and calibration together.
        n_bins: Reliability bins (equal-mass) at most.
        min_bin_members: Fewest held-out people per bin; fewer bins when the
            held-out rows are few, so no bin describes a handful of people.
        boosting_iterations: Most boosting rounds (early stopping may stop
            sooner).
        n_threads: BLAS/OpenMP threads.
    """

    seed: int = 20261123
    n_folds: int = 5
    test_share: float = 0.2
    calibration_share: float = 0.25
    max_fit_rows: int = 100_000
    n_bins: int = 10
    min_bin_members: int = 100
    boosting_iterations: int = 300
    n_threads: int = 2


@dataclass(frozen=True)
class CandidateScore:
    """One candidate model's cross-validated figures on the fitting rows."""

    model: str
    cv_log_loss: float
    cv_log_loss_se: float
    cv_roc_auc: float


@dataclass(frozen=True)
class PropensityReport:
    """What was fitted, how it was chosen and how it scores on held-out rows.

    Attributes:
        features: The feature columns, in matrix order.
        model: The chosen model (`LOGISTIC` or `BOOSTING`).
        selection_rule: `SELECTION_RULE`.
        candidates: Every candidate's cross-validated figures.
        calibration: The chosen calibration, "sigmoid" or "isotonic".
        calibration_rule: `CALIBRATION_RULE`.
        calibration_cv_brier: Each calibration's mean CV Brier score.
        ece_binning: How the calibration error bins are drawn.
        rows: Row counts: labelled, fitted, calibration, held-out.
        base_rate: Share of positives among the labelled rows.
        calibrated: Held-out figures of the calibrated probabilities.
        uncalibrated: Held-out figures of the chosen model before calibration.
    """

    features: tuple[str, ...]
    model: str
    selection_rule: str
    candidates: tuple[CandidateScore, ...]
    calibration: str
    calibration_rule: str
    calibration_cv_brier: dict[str, float]
    ece_binning: str
    rows: dict[str, int]
    base_rate: float
    calibrated: Metrics
    uncalibrated: Metrics

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON values (for ``summary.json``)."""
        return asdict(self)


@dataclass(frozen=True)
class PropensityModel:
    """A fitted model and its calibrator, to score people on the same columns."""

    columns: tuple[str, ...]
    estimator: BaseEstimator
    calibrator: Calibrator

    def predict(self, X: Floats) -> Floats:
        """Return the calibrated probability of each row."""
        return self.calibrator.transform(self.decision(X))

    def predict_uncalibrated(self, X: Floats) -> Floats:
        """Return the model's own probability of each row."""
        return expit(self.decision(X))

    def decision(self, X: Floats) -> Floats:
        """Return the model's log-odds score of each row."""
        X = _checked_matrix(X, self.columns)
        parts = [
            self.estimator.decision_function(X[start : start + _SCORE_CHUNK])  # type: ignore[attr-defined]
            for start in range(0, len(X), _SCORE_CHUNK)
        ]
        return np.concatenate(parts) if parts else np.empty(0)


def events_before(events: pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    """Return the events strictly before `cutoff`: what the features may see.

    Raises:
        ValueError: `cutoff` is naive, or the frame lacks the event columns.
    """
    _check_events(events, cutoff)
    return events.filter(pl.col("occurred_at") < cutoff)


def purchase_outcome(
    events: pl.DataFrame, entity_ids: pl.Series, cutoff: datetime, horizon_days: int
) -> Labels:
    """Whether each entity made a purchase in the `horizon_days` after `cutoff`.

    The window is ``[cutoff, cutoff + horizon_days)``; only ``purchase``
    events count (a refund, a view or a partner's own flag do not).

    Args:
        events: Frame with the `frames.EVENTS_SCHEMA` columns ``entity_id``,
            ``event_type`` and ``occurred_at`` (UTC).
        entity_ids: The people to label, in the feature matrix's row order.
        cutoff: The end of the feature window (time zone aware).
        horizon_days: Length of the outcome window, at least 1.

    Returns:
        0/1 per entity of `entity_ids`, in its order.

    Raises:
        ValueError: `cutoff` is naive, `horizon_days` is not positive, or the
            frame lacks the event columns.
    """
    _check_events(events, cutoff)
    if isinstance(horizon_days, bool) or horizon_days < 1:
        raise ValueError("horizon_days must be a positive integer")
    end = cutoff + timedelta(days=horizon_days)
    at = pl.col("occurred_at")
    buyers = events.filter(
        (pl.col("event_type") == PURCHASE) & (at >= cutoff) & (at < end)
    )["entity_id"].unique()
    return entity_ids.is_in(buyers.implode()).to_numpy().astype(np.int8)


def check_features(columns: Sequence[str], forbidden: Collection[str]) -> None:
    """Refuse any column built from a forbidden (special-category) field.

    A column matches a field by its name or, one-hot encoded, by its
    ``"<field>=<level>"`` prefix.

    Raises:
        SpecialCategoryFeatureError: A column comes from a forbidden field.
    """
    banned = set(forbidden)
    offending = sorted(c for c in columns if c.split("=", 1)[0] in banned)
    if offending:
        raise SpecialCategoryFeatureError(
            f"special-category features may not enter a propensity model: {offending}"
        )


def fit_propensity(
    X: Floats,
    y: Labels,
    columns: Sequence[str],
    *,
    forbidden: Collection[str],
    config: PropensityConfig | None = None,
) -> tuple[PropensityModel, PropensityReport]:
    """Fit, choose and calibrate a propensity model; report it on held-out rows.

    Args:
        X: Imputed numeric features before the cut-off, one row per person.
        y: 0/1 outcome after the cut-off per row (`purchase_outcome`).
        columns: The names of the columns of `X`.
        forbidden: Field names that may not enter (the special categories).
        config: The parameters; defaults when None.

    Returns:
        The fitted model (score everyone with ``model.predict``) and its report.

    Raises:
        SpecialCategoryFeatureError: A column comes from a forbidden field.
        ValueError: Shapes disagree, a value is missing or not finite, the
            outcome is not 0/1, or a split would hold too few of a class.
    """
    cfg = config or PropensityConfig()
    check_features(columns, forbidden)
    X = _checked_matrix(X, tuple(columns))
    y = _checked_outcome(y, len(X))
    fit_rows, cal_rows, test_rows = _split(y, cfg)
    for name, rows in (("fitting", fit_rows), ("calibration", cal_rows)):
        _check_classes(y[rows], cfg.n_folds, name)
    with threadpool_limits(limits=cfg.n_threads):
        candidates = _cross_validate(X[fit_rows], y[fit_rows], cfg)
        chosen = _choose(candidates)
        estimator = _candidates(cfg)[chosen].fit(X[fit_rows], y[fit_rows])
        model = PropensityModel(tuple(columns), estimator, Calibrator.identity())
        calibrator, cv_brier = choose_calibrator(
            model.decision(X[cal_rows]), y[cal_rows], cfg.n_folds, cfg.seed
        )
        model = PropensityModel(tuple(columns), estimator, calibrator)
        test_scores = model.decision(X[test_rows])
    n_bins = max(1, min(cfg.n_bins, len(test_rows) // cfg.min_bin_members))
    report = PropensityReport(
        features=tuple(columns),
        model=chosen,
        selection_rule=SELECTION_RULE,
        candidates=tuple(candidates.values()),
        calibration=calibrator.method,
        calibration_rule=CALIBRATION_RULE,
        calibration_cv_brier=cv_brier,
        ece_binning=f"{ECE_BINNING}, {n_bins} bins",
        rows={
            "labelled": len(y),
            "fitted": len(fit_rows),
            "calibration": len(cal_rows),
            "held_out": len(test_rows),
        },
        base_rate=float(y.mean()),
        calibrated=measure(y[test_rows], calibrator.transform(test_scores), n_bins),
        uncalibrated=measure(y[test_rows], expit(test_scores), n_bins),
    )
    return model, report


def _check_events(events: pl.DataFrame, cutoff: datetime) -> None:
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be time zone aware")
    check_schema(events, {c: EVENTS_SCHEMA[c] for c in _OUTCOME_COLUMNS}, "events")


def _checked_matrix(X: Floats, columns: tuple[str, ...]) -> Floats:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(columns):
        raise ValueError("X must have one column per name in columns")
    if not np.isfinite(X).all():
        raise ValueError("X holds missing or infinite values; impute them first")
    return X


def _checked_outcome(y: Labels, n_rows: int) -> Labels:
    y = np.asarray(y)
    if y.shape != (n_rows,):
        raise ValueError("y must have one value per row of X")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold only 0 and 1")
    return y.astype(np.int8)


def _check_classes(y: Labels, n_folds: int, name: str) -> None:
    positives = int(y.sum())
    if min(positives, len(y) - positives) < n_folds:
        raise ValueError(
            f"the {name} rows hold {positives} positives of {len(y)}: each class "
            f"needs at least {n_folds} (one per fold)"
        )


def _split(
    y: Labels, cfg: PropensityConfig
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Stratified, seeded row indices: fitting, calibration, held out."""
    _check_classes(y, 2, "labelled")
    rows = np.arange(len(y))
    pool, test = train_test_split(
        rows, test_size=cfg.test_share, stratify=y, random_state=cfg.seed
    )
    if len(pool) > cfg.max_fit_rows:
        pool, _ = train_test_split(
            pool, train_size=cfg.max_fit_rows, stratify=y[pool], random_state=cfg.seed
        )
    fit, cal = train_test_split(
        pool, test_size=cfg.calibration_share, stratify=y[pool], random_state=cfg.seed
    )
    return np.sort(fit), np.sort(cal), np.sort(test)


def _candidates(cfg: PropensityConfig) -> dict[str, BaseEstimator]:
    return {
        LOGISTIC: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        BOOSTING: HistGradientBoostingClassifier(
            max_iter=cfg.boosting_iterations,
            early_stopping=True,
            random_state=cfg.seed,
        ),
    }


def _cross_validate(
    X: Floats, y: Labels, cfg: PropensityConfig
) -> dict[str, CandidateScore]:
    folds = StratifiedKFold(cfg.n_folds, shuffle=True, random_state=cfg.seed)
    scores = {}
    for name, estimator in _candidates(cfg).items():
        result = cross_validate(
            clone(estimator), X, y, cv=folds, scoring=("neg_log_loss", "roc_auc")
        )
        losses = -result["test_neg_log_loss"]
        scores[name] = CandidateScore(
            model=name,
            cv_log_loss=float(losses.mean()),
            cv_log_loss_se=float(losses.std(ddof=1) / np.sqrt(len(losses))),
            cv_roc_auc=float(result["test_roc_auc"].mean()),
        )
    return scores


def _choose(candidates: dict[str, CandidateScore]) -> str:
    best = min(candidates.values(), key=lambda c: c.cv_log_loss)
    simple = candidates[LOGISTIC]
    if simple.cv_log_loss <= best.cv_log_loss + best.cv_log_loss_se:
        return LOGISTIC
    return best.model
