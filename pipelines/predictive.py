"""predictive: the run's propensity stage, from the audience policy to figures (pure).

The audience declares the target (`gateway.policy.predictive.PropensitySpec`);
this stage builds what `pipelines.propensity` fits on, from the same frames
and the same feature builder as the run's segmentation:

- the observed end is the run's as-of, or the day after its last event when
  earlier (a partner's feed that stopped a week ago would otherwise leave
  the last week of the outcome window empty, and every buyer of that week
  labelled a non-buyer); the cut-off is the observed end minus the horizon;
- features as of the cut-off, from the events before it (`events_before`),
  imputed the way the run imputes; the outcome from the events in the
  horizon after it (`purchase_outcome`);
- the columns are those both the cut-off features and the run's own share
  (category shares are drawn from the data, so a label common now may not
  have been then), minus any built from a special-category field.

Everyone is then scored on the run's current features. The scores stay
inside the run: rules levels that test ``propensity`` cut score-based
segments from them (`rule_scores`), and destinations only ever see those
segments' memberships, never a score. Too few buyers or non-buyers,
or a split that cannot hold both classes, skips the model with the reason;
a propensity model never stops the segmentation.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from gateway.policy.audiences import Audience
from gateway.policy.models import PolicySet
from gateway.policy.predictive import SCORE_FEATURE, PropensitySpec
from pipelines.features import build_features, category_shares, numeric_matrix
from pipelines.frames import Levels
from pipelines.propensity import (
    PropensityConfig,
    SpecialCategoryFeatureError,
    events_before,
    fit_propensity,
    purchase_outcome,
)
from pipelines.quality import impute
from pipelines.segment import RuleScores

FITTED = "fitted"
SKIPPED = "skipped"
NOT_DECLARED = "not declared"
WINDOW_RULE = (
    "observed end: the run's as-of, or the day after its last event when "
    "earlier; cut-off: observed end minus the horizon; features from the "
    "events before the cut-off, outcome from the events in [cut-off, observed end)"
)


@dataclass(frozen=True)
class Scored:
    """The stage's figures for the summary, and each person's score (or None)."""

    summary: dict[str, Any]
    scores: pl.DataFrame | None  # entity_id, propensity: never exported


@dataclass(frozen=True)
class CurrentFeatures:
    """The run's own features as of its as-of, in matrix form."""

    entity_ids: pl.Series
    matrix: NDArray[np.float64]
    columns: Sequence[str]


def forbidden_fields(policies: PolicySet, audience: Audience) -> frozenset[str]:
    """The special-category fields (GDPR Art. 9) of the audience's datasets.

    Their names and the roles they would play: a feature column is named
    after a role, and neither may ever feed a model.
    """
    names: set[str] = set()
    for name in audience.datasets:
        dataset = policies.datasets[name]
        for field in dataset.fields_of("special_category"):
            names.add(field)
            role = dataset.fields[field].role
            if role is not None:
                names.add(role)
    return frozenset(names)


def observed_window(
    events: pl.DataFrame, as_of: datetime, horizon_days: int
) -> tuple[datetime, datetime] | None:
    """``(cut-off, observed end)`` under `WINDOW_RULE`; None without events."""
    last = events["occurred_at"].max()
    if not isinstance(last, datetime):
        return None
    # Whole days: the summary then names a date, not one person's event time.
    day_after = datetime.combine(last.date() + timedelta(days=1), datetime.min.time())
    end = min(as_of.astimezone(UTC), day_after.replace(tzinfo=UTC))
    return end - timedelta(days=horizon_days), end


def score_propensity(
    spec: PropensitySpec | None,
    customers: pl.DataFrame,
    events: pl.DataFrame,
    current: CurrentFeatures,
    *,
    as_of: datetime,
    levels: Levels,
    forbidden: Collection[str],
    k_min: int,
    seed: int,
) -> Scored:
    """Fit, calibrate and report the audience's propensity; score everyone.

    Args:
        spec: The audience's propensity, or None when it declares none.
        customers: The run's customers frame (after quality).
        events: The run's events frame (after quality).
        current: The run's features as of `as_of`, in matrix form.
        as_of: The run's reference instant.
        levels: The run's enum levels.
        forbidden: Special-category field names (`forbidden_fields`).
        k_min: The audience's floor: the fewest people a reliability bin or
            a category column stands for.
        seed: The run's seed.

    Returns:
        The summary (``status`` "fitted", "skipped" with a ``reason``, or
        "not declared") and, when fitted, the scores.
    """
    if spec is None:
        return Scored({"status": NOT_DECLARED}, None)
    head: dict[str, Any] = {
        "target": spec.target,
        "horizon_days": spec.horizon_days,
        "window_rule": WINDOW_RULE,
    }
    window = observed_window(events, as_of, spec.horizon_days)
    if window is None:
        return _skipped(head, "no events to compute the outcome from")
    cutoff, end = window
    head |= {"cutoff": cutoff.isoformat(), "observed_end": end.isoformat()}
    X, columns, y = _labelled(customers, events, cutoff, spec, levels, k_min)
    excluded = sorted(c for c in columns if c.split("=", 1)[0] in forbidden)
    keep = [c for c in columns if c in set(current.columns) and c not in excluded]
    head["excluded_special_category"] = excluded
    positives = int(y.sum())
    head["labelled"] = {"people": len(y), "positives": positives}
    if min(positives, len(y) - positives) < spec.min_positives:
        return _skipped(
            head,
            f"{positives} buyers and {len(y) - positives} non-buyers among "
            f"{len(y)} people: each needs at least {spec.min_positives} "
            "(min_positives)",
        )
    config = PropensityConfig(seed=seed, min_bin_members=max(100, k_min))
    X = X[:, [columns.index(c) for c in keep]]
    try:
        model, report = fit_propensity(X, y, keep, forbidden=forbidden, config=config)
    except SpecialCategoryFeatureError:
        raise  # a bug, never a reason to skip: the columns were filtered above
    except ValueError as exc:
        # Counts only (`fit_propensity` names no value): safe to report.
        return _skipped(head, str(exc))
    order = [list(current.columns).index(c) for c in keep]
    probabilities = model.predict(current.matrix[:, order])
    scores = pl.DataFrame(
        {"entity_id": current.entity_ids, SCORE_FEATURE: probabilities}
    )
    summary = head | report.as_dict()
    summary["scored"] = {
        "people": scores.height,
        "mean_propensity": float(probabilities.mean()) if scores.height else None,
    }
    return Scored({"status": FITTED, **summary}, scores)


def rule_scores(scored: Scored, entity_ids: pl.Series) -> RuleScores:
    """The score rules levels may test, in the order of `entity_ids`, or why none.

    A skipped model leaves no score: a level whose rules test it is then
    skipped with the model's reason (counts only), never the whole run.
    """
    if scored.scores is None:
        status = scored.summary["status"]
        why = scored.summary.get("reason", "the audience declares no model")
        return RuleScores(missing={SCORE_FEATURE: f"propensity {status}: {why}"})
    aligned = entity_ids.to_frame("entity_id").join(
        scored.scores, on="entity_id", how="left", maintain_order="left"
    )
    return RuleScores(values={SCORE_FEATURE: aligned[SCORE_FEATURE].to_numpy()})


def _labelled(
    customers: pl.DataFrame,
    events: pl.DataFrame,
    cutoff: datetime,
    spec: PropensitySpec,
    levels: Levels,
    k_min: int,
) -> tuple[NDArray[np.float64], list[str], NDArray[np.int8]]:
    """Features as of the cut-off and the outcome after it, for everyone."""
    past = events_before(events, cutoff)
    features, _ = impute(build_features(customers, past, cutoff, levels))
    matrix, columns = numeric_matrix(features, levels)
    shares, share_names = category_shares(
        past, features["entity_id"], min_entities=k_min
    )
    y = purchase_outcome(events, features["entity_id"], cutoff, spec.horizon_days)
    return np.hstack([matrix, shares]), [*columns, *share_names], y


def _skipped(head: dict[str, Any], reason: str) -> Scored:
    return Scored({"status": SKIPPED, "reason": reason, **head}, None)
