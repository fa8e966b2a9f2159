"""The policies as one set, cross-checked: names, references, roles and rules.

Each kind of policy is its own module (`purposes`, `datasets`, `audiences`,
`pii_policy`) and checks what it holds; what needs several of them (an
audience's dataset allowing its purpose, a rule on a feature the datasets
give, one type per identifier everywhere) is checked here. Every model
forbids unknown keys and is immutable once loaded.
"""

from collections.abc import Mapping
from typing import Self, TypeVar

from pydantic import BaseModel, Field, model_validator

from gateway.policy.audiences import Audience, Destination, LevelRule
from gateway.policy.constraints import STRICT, Loc, Problems, raise_if
from gateway.policy.datasets import Dataset
from gateway.policy.pii_policy import PiiPolicy
from gateway.policy.predictive import SCORE_FEATURE
from gateway.policy.purposes import Purpose, TcfPolicy
from gateway.policy.segmentation import (
    PURCHASE,
    audience_roles,
    role_field,
    rule_features,
)

T = TypeVar("T")


class UnknownPolicyName(LookupError):  # noqa: N818 - name fixed by the public API
    """A purpose, dataset or audience name that the policies do not define."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"unknown {kind} '{name}'")
        self.kind = kind
        self.name = name


class PolicySet(BaseModel):
    """Every policy, cross-checked, with the content hash of the files it came from."""

    model_config = STRICT

    purposes: dict[str, Purpose]
    datasets: dict[str, Dataset]
    audiences: dict[str, Audience]
    destinations: dict[str, Destination] = Field(default_factory=dict)
    pii: PiiPolicy = Field(default_factory=PiiPolicy)
    tcf: TcfPolicy | None = None
    version: str

    @model_validator(mode="after")
    def _check_references(self) -> Self:
        problems = self._name_problems() + self._tcf_problems()
        for name, dataset in self.datasets.items():
            for index, purpose in enumerate(dataset.purposes):
                if purpose not in self.purposes:
                    loc = ("datasets", name, "purposes", index)
                    problems.append((loc, f"unknown purpose '{purpose}'"))
        for name, audience in self.audiences.items():
            problems += self._audience_problems(name, audience)
        problems += self._identifier_problems()
        raise_if(problems)
        return self

    def _name_problems(self) -> Problems:
        tables: dict[str, Mapping[str, Purpose | Dataset | Audience | Destination]]
        tables = {"purposes": self.purposes, "datasets": self.datasets}
        tables["audiences"] = self.audiences
        tables["destinations"] = self.destinations
        return [
            ((kind, key, "name"), f"must equal its key '{key}'")
            for kind, table in tables.items()
            for key, item in table.items()
            if item.name != key
        ]

    def _tcf_problems(self) -> Problems:
        # Without the operator's vendor id no TC string can prove consent, so
        # a purpose that counts on TC strings needs the tcf policy.
        if self.tcf is not None:
            return []
        return [
            (("purposes", name, "tcf_purposes"), "needs tcf.vendor_id (tcf.yaml)")
            for name, purpose in self.purposes.items()
            if purpose.tcf_purposes
        ]

    def _audience_problems(self, name: str, audience: Audience) -> Problems:
        problems: Problems = []
        if audience.purpose not in self.purposes:
            unknown = f"unknown purpose '{audience.purpose}'"
            problems.append((("audiences", name, "purpose"), unknown))
        for index, dataset_name in enumerate(audience.datasets):
            loc: Loc = ("audiences", name, "datasets", index)
            dataset = self.datasets.get(dataset_name)
            if dataset is None:
                problems.append((loc, f"unknown dataset '{dataset_name}'"))
            elif audience.purpose not in dataset.purposes:
                problems.append(
                    (
                        loc,
                        f"dataset '{dataset_name}' does not allow purpose "
                        f"'{audience.purpose}'",
                    )
                )
        problems += self._predictive_problems(name, audience)
        return problems + self._segmentation_problems(name, audience)

    def _predictive_problems(self, name: str, audience: Audience) -> Problems:
        # The outcome is computed from purchase events: without an events
        # dataset that knows the purchase type there is nothing to predict.
        if audience.propensity is None:
            return []
        events = audience_roles(self.datasets, audience.datasets).get("events")
        types = role_field(self.datasets[events], "event_type") if events else None
        if types is None or PURCHASE not in (types.values or ()):
            loc: Loc = ("audiences", name, "propensity", "target")
            return [(loc, "needs an events dataset with a 'purchase' event type")]
        return []

    def _segmentation_problems(self, name: str, audience: Audience) -> Problems:
        # What the pipeline would only find out after extract and dedupe: a
        # dataset role taken twice, no profiles, a rule on a missing feature.
        problems: Problems = []
        roles = audience_roles(self.datasets, audience.datasets)
        for index, dataset_name in enumerate(audience.datasets):
            dataset = self.datasets.get(dataset_name)
            if dataset is None or dataset.role is None:
                continue
            first = roles[dataset.role]
            if first != dataset_name:
                loc: Loc = ("audiences", name, "datasets", index)
                problems.append(
                    (loc, f"role '{dataset.role}' already taken by '{first}'")
                )
        if "profile" not in roles:
            loc = ("audiences", name, "datasets")
            problems.append((loc, "needs a dataset of role profile"))
        known = rule_features(self.datasets, audience.datasets)
        located: list[tuple[Loc, LevelRule]] = [
            (("audiences", name, "level_rules", index), rule)
            for index, rule in enumerate(audience.level_rules)
        ]
        located += [
            (("audiences", name, "levels", number, "rules", index), rule)
            for number, level in enumerate(audience.levels)
            for index, rule in enumerate(level.rules)
        ]
        for rule_loc, rule in located:
            if rule.feature == SCORE_FEATURE:
                problems += _score_rule_problems(rule_loc, rule, audience)
            elif rule.feature not in known:
                loc = (*rule_loc, "feature")
                scores = (SCORE_FEATURE,) if audience.propensity else ()
                listed = ", ".join((*known, *scores)) or "none"
                problems.append(
                    (
                        loc,
                        f"unknown feature '{rule.feature}' (from the datasets' "
                        f"roles: {listed})",
                    )
                )
        return problems

    def _identifier_problems(self) -> Problems:
        # Consent is kept per identifier pseudonym across datasets, so one
        # identifier name must have one type and one scope everywhere.
        seen: dict[str, tuple[str, str | None, str]] = {}
        problems: Problems = []
        for dataset_name, dataset in self.datasets.items():
            for field in dataset.fields_of("identifier"):
                spec = dataset.fields[field]
                first = seen.setdefault(field, (spec.type, spec.scope, dataset_name))
                if first[:2] != (spec.type, spec.scope):
                    problems.append(
                        (
                            ("datasets", dataset_name, "fields", field),
                            f"identifier declared with another type or scope in "
                            f"dataset '{first[2]}'",
                        )
                    )
        return problems

    def purpose(self, name: str) -> Purpose:
        """Return the purpose of that name (UnknownPolicyName if none)."""
        return _named("purpose", self.purposes, name)

    def dataset(self, name: str) -> Dataset:
        """Return the dataset of that name (UnknownPolicyName if none)."""
        return _named("dataset", self.datasets, name)

    def audience(self, name: str) -> Audience:
        """Return the audience of that name (UnknownPolicyName if none)."""
        return _named("audience", self.audiences, name)


def _score_rule_problems(loc: Loc, rule: LevelRule, audience: Audience) -> Problems:
    # The score exists only where a propensity model is fitted; it is a
    # calibrated probability, so a threshold outside [0, 1] keeps everyone
    # or no one, which is never what the author meant.
    if audience.propensity is None:
        return [
            (
                (*loc, "feature"),
                f"feature '{SCORE_FEATURE}' needs a propensity model: declare "
                "'propensity:' in the audience",
            )
        ]
    if not 0.0 <= rule.value <= 1.0:
        return [((*loc, "value"), "a propensity is a probability: between 0 and 1")]
    return []


def _named(kind: str, items: Mapping[str, T], name: str) -> T:
    try:
        return items[name]
    except KeyError:
        raise UnknownPolicyName(kind, name) from None
