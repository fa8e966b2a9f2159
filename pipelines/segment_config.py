"""segment_config: what a segmentation is asked to do (pure).

The rules a rules level applies (`SegmentRule`), the scores they may test
besides the features (`RuleScores`), the levels as the audience policy
defines them (`LevelSpec`, `policy_levels`) and the parameters of a fit
(`SegmentConfig`). `pipelines.segment` reads them; nothing here touches data.
"""

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gateway.policy.audiences import AudienceLevel, LevelRule
from gateway.policy.segmentation import feature_group
from pipelines.cluster_models import MODELS, Floats

_OPS: Mapping[str, Callable[[NDArray[Any], float], NDArray[np.bool_]]] = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
    "==": np.equal,
    "!=": np.not_equal,
}
_RULE_NAME = re.compile(r"[a-z0-9_]{1,40}")
_RULE_KEYS = frozenset({"name", "column", "op", "value"})


@dataclass(frozen=True, slots=True)
class SegmentRule:
    """A named rule that carves a sub-segment out of a parent: `column op value`.

    Attributes:
        name: Short name, ``[a-z0-9_]``, used in the segment id.
        column: A feature column or a score (`RuleScores`), compared in its
            raw (unscaled) units.
        op: One of ``>``, ``>=``, ``<``, ``<=``, ``==``, ``!=``.
        value: The threshold.
    """

    name: str
    column: str
    op: str
    value: float

    def __post_init__(self) -> None:
        if not _RULE_NAME.fullmatch(self.name):
            raise ValueError("rule name must be 1 to 40 of a-z, 0-9 and _")
        if self.op not in _OPS:
            raise ValueError(f"rule operator must be one of {sorted(_OPS)}")
        if not math.isfinite(self.value):
            raise ValueError("rule value must be a finite number")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "SegmentRule":
        """Build a rule from data such as ``{"name", "column", "op", "value"}``.

        Raises:
            ValueError: A key is missing or unknown, or a value is invalid.
        """
        if set(data) != _RULE_KEYS:
            raise ValueError(f"a rule has exactly the keys {sorted(_RULE_KEYS)}")
        value = data["value"]
        if not isinstance(value, int | float):
            raise ValueError("rule value must be a number")
        return cls(str(data["name"]), str(data["column"]), str(data["op"]), value)

    def matches(self, values: Floats) -> NDArray[np.bool_]:
        """Return which of `values` satisfy the rule."""
        return _OPS[self.op](values, self.value)


@dataclass(frozen=True)
class RuleScores:
    """Per-person scores a rules level may test besides the feature columns.

    Attributes:
        values: Score name -> one value per row of the matrix, in its order
            (e.g. "propensity", the calibrated purchase propensity).
        missing: Score name -> why this run has none (e.g. the propensity
            model was skipped for too few buyers): a rules level testing it
            is skipped with that reason instead of failing the run.
    """

    values: Mapping[str, Floats] = field(default_factory=dict)
    missing: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LevelSpec:
    """One level of segments, as the audience policy defines it.

    Attributes:
        name: The policy's name for the level, e.g. "behaviour".
        columns: The feature columns a cluster level may use (those of its
            feature groups that the data holds); ignored by a rules level.
        method: ``"cluster"`` or ``"rules"``.
        rules: A rules level's rules, in order (first match wins).
        title: A readable title, e.g. "Purchase behaviour".
        groups: The feature groups the columns come from (for the report).
        select: Drop features that share no structure with the others.
    """

    name: str
    columns: tuple[str, ...] = ()
    method: str = "cluster"
    rules: tuple[SegmentRule, ...] = ()
    title: str = ""
    groups: tuple[str, ...] = ()
    select: bool = True

    def __post_init__(self) -> None:
        if self.method not in ("cluster", "rules"):
            raise ValueError("a level's method is 'cluster' or 'rules'")
        if self.method == "rules" and not self.rules:
            raise ValueError("a rules level needs at least one rule")
        if len({rule.name for rule in self.rules}) != len(self.rules):
            raise ValueError("rule names must be unique within a level")


def policy_levels(
    levels: Sequence[AudienceLevel],
    level_rules: Sequence[LevelRule],
    columns: Sequence[str],
) -> tuple[LevelSpec, ...]:
    """The levels an audience policy defines, on the feature columns at hand.

    A cluster level gets the columns of its feature groups that the data
    holds (none: the level will be skipped); the legacy `level_rules` are one
    more rules level at the bottom.
    """

    def rules_of(rules: Sequence[LevelRule]) -> tuple[SegmentRule, ...]:
        return tuple(SegmentRule(r.name, r.feature, r.op, r.value) for r in rules)

    specs = [
        LevelSpec(
            level.name,
            tuple(c for c in columns if feature_group(c) in level.features),
            level.method,
            rules_of(level.rules),
            level.title,
            level.features,
        )
        for level in levels
    ]
    if level_rules:
        specs.append(LevelSpec("rules", method="rules", rules=rules_of(level_rules)))
    return tuple(specs)


@dataclass(frozen=True)
class SegmentConfig:
    """Parameters of `segment`; the defaults fit a million rows in about a minute.

    Attributes:
        k_range: Smallest and largest number of level-1 segments.
        sub_k_range: Smallest and largest number of level-2 segments per parent.
        variance_target: Share of variance the kept principal components explain.
        models: The model families to try, a subset of `MODELS`.
        sample_size: Rows on which models are chosen and stability is measured.
        silhouette_size: Rows of that sample on which silhouettes are computed.
        hierarchical_size: Rows on which Ward and HDBSCAN are fitted.
        hdbscan_fractions: HDBSCAN ``min_cluster_size`` values to try, as
            shares of the rows it is fitted on.
        n_bootstrap: Bootstrap refits for stability (0 skips it).
        min_size: A level-1 segment with fewer than twice this is not split.
        floor: A cluster of fewer rows is dissolved into its nearest others
            (the audience's k floor; 1 dissolves none).
        rule_levels: One tuple of rules per level below level 2 (only
            without `levels`).
        levels: The levels, top down; empty for the historical two
            all-feature cluster levels plus `rule_levels`.
        selection_sample: People the variable selection scores on.
        selection_permutations: Shuffles per feature in its permutation test.
        n_threads: Threads for the native code (OpenMP, BLAS); None leaves the
            libraries' default. One is faster on a busy machine, where idle
            OpenMP workers spin against other processes.
    """

    k_range: tuple[int, int] = (3, 8)
    sub_k_range: tuple[int, int] = (2, 4)
    variance_target: float = 0.8
    models: tuple[str, ...] = MODELS
    sample_size: int = 20_000
    silhouette_size: int = 3_000
    hierarchical_size: int = 3_000
    hdbscan_fractions: tuple[float, ...] = (0.02, 0.05, 0.1)
    n_bootstrap: int = 5
    min_size: int = 100
    floor: int = 1
    rule_levels: tuple[tuple[SegmentRule, ...], ...] = ()
    n_threads: int | None = None
    levels: tuple[LevelSpec, ...] = ()
    selection_sample: int = 4_000
    selection_permutations: int = 199

    def __post_init__(self) -> None:
        for low, high in (self.k_range, self.sub_k_range):
            if not 2 <= low <= high:
                raise ValueError("k ranges need 2 <= smallest <= largest")
        if not 0.0 < self.variance_target <= 1.0:
            raise ValueError("variance_target must be in (0, 1]")
        if not self.models or not set(self.models) <= set(MODELS):
            raise ValueError(f"models must be a non-empty subset of {MODELS}")
        if min(self.sample_size, self.silhouette_size, self.hierarchical_size) < 10:
            raise ValueError("sample sizes must be at least 10")
        if self.n_bootstrap < 0 or min(self.min_size, self.floor) < 1:
            raise ValueError("n_bootstrap must be >= 0, min_size and floor >= 1")
        if self.n_threads is not None and self.n_threads < 1:
            raise ValueError("n_threads must be None or >= 1")
        self._check_levels()

    def _check_levels(self) -> None:
        for rules in self.rule_levels:
            if len({rule.name for rule in rules}) != len(rules):
                raise ValueError("rule names must be unique within a level")
        if self.levels and self.rule_levels:
            raise ValueError("give rules as rules levels when levels are given")
        if self.selection_sample < 10 or self.selection_permutations < 1:
            raise ValueError("selection needs 10 people and one shuffle at least")

    def definition(self) -> dict[str, Any]:
        """What a fit depends on besides the data, as JSON values.

        Two runs with the same definition and the same feature columns fit
        the same kind of segmentation (`pipelines.assignment.fingerprint`);
        seeds, bootstrap counts and threads only measure or speed it.
        """

        def rules(rules: Sequence[SegmentRule]) -> list[list[Any]]:
            return [[r.name, r.column, r.op, r.value] for r in rules]

        return {
            "levels": [
                {
                    "name": spec.name,
                    "method": spec.method,
                    "groups": list(spec.groups),
                    "select": spec.select,
                    "rules": rules(spec.rules),
                }
                for spec in self.levels
            ],
            "rule_levels": [rules(level) for level in self.rule_levels],
            "k_range": list(self.k_range),
            "sub_k_range": list(self.sub_k_range),
            "variance_target": self.variance_target,
            "models": list(self.models),
            "min_size": self.min_size,
            "floor": self.floor,
            "hdbscan_fractions": list(self.hdbscan_fractions),
            "sizes": [
                self.sample_size,
                self.silhouette_size,
                self.hierarchical_size,
                self.selection_sample,
                self.selection_permutations,
            ],
        }

    def level_specs(self, columns: Sequence[str]) -> tuple[LevelSpec, ...]:
        """The levels to run: `levels`, or the historical ones on `columns`."""
        if self.levels:
            return self.levels
        every = tuple(columns)
        return (
            LevelSpec("level1", every, select=False),
            LevelSpec("level2", every, select=False),
            *(
                LevelSpec(f"rules{n}", method="rules", rules=rules)
                for n, rules in enumerate(self.rule_levels, start=3)
            ),
        )
