"""What an audience declares about predictive segments: propensity, drift, holdout.

Strict, frozen models like the rest of the policies (`gateway.policy.audiences`
nests them in `Audience`), so a wrong value fails at `gateway policies check`
with the file and line of the key, before any data is read.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="forbid", frozen=True)
# The rule feature a `method: rules` level tests to cut score-based segments
# (`propensity >= 0.75`): the calibrated score of the audience's propensity
# model, so a rule may name it only when the audience declares one.
SCORE_FEATURE = "propensity"
# PSI at or above which a distribution counts as shifted: 0.25 is the
# credit-scoring convention for "significant" (Siddiqi 2006).
DEFAULT_PSI = 0.25


class PropensitySpec(BaseModel):
    """A propensity model the run fits, calibrates and reports.

    `target` names an outcome the gateway computes from the events
    themselves, never a label a partner sends: ``purchase`` is "at least one
    purchase event in the `horizon_days` after the cut-off". The model is
    skipped, and the run says why, when the labelled people hold fewer than
    `min_positives` buyers or as many non-buyers.
    """

    model_config = _STRICT

    target: Literal["purchase"]
    horizon_days: Annotated[int, Field(strict=True, ge=1, le=365)]
    min_positives: Annotated[int, Field(strict=True, ge=10)] = 50


class DriftSpec(BaseModel):
    """PSI thresholds against the audience's previous run."""

    model_config = _STRICT

    feature_psi: Annotated[float, Field(strict=True, gt=0, le=10)] = DEFAULT_PSI
    segment_psi: Annotated[float, Field(strict=True, gt=0, le=10)] = DEFAULT_PSI


# A holdout over half the audience would make the campaign the control group.
HoldoutShare = Annotated[float, Field(strict=True, ge=0, le=0.5)]
