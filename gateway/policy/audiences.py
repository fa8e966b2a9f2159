"""Audiences and destinations: what is segmented together, how, and who receives it.

An audience's levels say which feature groups drive each level of its
segments; a destination's entry, how its member ids are written and how high
its floor is. Checks that need the datasets (a rule on a feature no dataset
gives) are `PolicySet`'s.
"""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from gateway.policy.constraints import (
    STRICT,
    FieldName,
    PolicyName,
    duplicates,
    raise_if,
)
from gateway.policy.predictive import DriftSpec, HoldoutShare, PropensitySpec
from gateway.policy.segmentation import DEFAULT_LEVELS, FEATURE_GROUPS


class AudienceLevel(BaseModel):
    """One level of an audience's segments: which feature groups drive it, and how.

    A `cluster` level clusters its groups' features inside each segment of
    the level above (the whole population for the first); a `rules` level
    carves its `rules` out of each of them, first matching rule wins.
    """

    model_config = STRICT

    name: PolicyName
    title: str = ""
    features: tuple[str, ...] = ()
    method: Literal["cluster", "rules"] = "cluster"
    rules: tuple["LevelRule", ...] = ()

    @model_validator(mode="after")
    def _check_level(self) -> Self:
        problems = duplicates(self.features, ("features",))
        for index, group in enumerate(self.features):
            if group not in FEATURE_GROUPS:
                known = ", ".join(FEATURE_GROUPS)
                problems.append(
                    (("features", index), f"unknown feature group '{group}' ({known})")
                )
        if self.method == "cluster" and not self.features:
            problems.append((("features",), "a cluster level needs a feature group"))
        if self.method == "cluster" and self.rules:
            problems.append((("rules",), "only a rules level has rules"))
        if self.method == "rules" and not self.rules:
            problems.append((("rules",), "a rules level needs at least one rule"))
        raise_if(problems)
        return self


def _default_levels() -> tuple[AudienceLevel, ...]:
    return tuple(
        AudienceLevel(name=name, title=title, features=groups, method=method)
        for name, title, groups, method in DEFAULT_LEVELS
    )


class Audience(BaseModel):
    """Datasets segmented together for one purpose, with a k-anonymity floor."""

    model_config = STRICT

    name: PolicyName
    description: str = ""
    datasets: tuple[str, ...] = Field(min_length=1)
    purpose: str
    k_min: Annotated[int, Field(strict=True, ge=2)] = 100
    # Rule-defined levels under the clustered ones (e.g. "app_lovers":
    # share_channel_app > 0.5), applied inside each deepest segment.
    level_rules: tuple["LevelRule", ...] = ()
    # Which feature groups drive each level, top down (DEFAULT_LEVELS when
    # not given); `level_rules`, when given, is one more rules level below.
    levels: tuple[AudienceLevel, ...] = Field(
        default_factory=_default_levels, min_length=1
    )
    # Household levels in the linkage model (people at one address share a
    # surname, sometimes a birth date): they keep namesakes, twins and
    # families apart, but take heavily mistyped duplicates at one address for
    # housemates when no e-mail or phone links them (README, linkage quality).
    linkage_households: Annotated[bool, Field(strict=True)] = True
    # Predictive segments (gateway.policy.predictive): a propensity model fitted
    # every run, PSI thresholds against the previous run, and the share of
    # people held out of every campaign segment for lift measurement.
    propensity: PropensitySpec | None = None
    drift: DriftSpec = Field(default_factory=DriftSpec)
    holdout_share: HoldoutShare = 0.0

    @model_validator(mode="after")
    def _check_datasets(self) -> Self:
        problems = duplicates(self.datasets, ("datasets",))
        names = tuple(level.name for level in self.levels)
        problems += [
            ((loc[0], loc[1], "name"), why)
            for loc, why in duplicates(names, ("levels",))
        ]
        raise_if(problems)
        return self


class LevelRule(BaseModel):
    """A rule-defined segment inside each parent: members whose feature passes."""

    model_config = STRICT

    name: PolicyName
    feature: FieldName
    op: Literal[">", ">=", "<", "<="]
    value: float


class Destination(BaseModel):
    """What one destination (a client of role destination, by name) receives.

    `k_min` may only raise the audience's floor: the strictest floor applies to
    what a destination sees. `id_format` is how member ids are written; every
    format is derived from the destination's own key, so two destinations can
    never join their lists.
    """

    model_config = STRICT

    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    description: str = ""
    k_min: Annotated[int, Field(strict=True, ge=2)] | None = None
    id_format: Literal["pseudonym", "uuid"] = "pseudonym"
