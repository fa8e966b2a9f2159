"""segment_levels: run a segmentation's levels top down (pure).

A level's rows carry a code into its segments (`Level`); each level below
works inside the segments of the one above. A rules level is applied here
(first matching rule wins, inside each parent); a cluster level is made by
the step the caller passes, which fits it (`pipelines.cluster_levels`) or
replays a stored fit (`pipelines.segment_replay`), so both ways skip and
number levels alike.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.cluster_models import Floats, Ints
from pipelines.segment_config import LevelSpec, RuleScores, SegmentRule


@dataclass(frozen=True, slots=True)
class Level:
    """One level's segments and which of them each row is in."""

    codes: Ints  # index into `ids` per row, -1 for no segment at this level
    ids: list[str]
    parents: list[str | None]
    method: list[str]
    stability: list[float | None]
    silhouette: list[float | None]


LevelStep = Callable[
    [LevelSpec, "Level | None", int],
    tuple["Level | None", dict[str, Any], dict[str, Any] | None],
]


def run_levels(
    specs: Sequence[LevelSpec],
    values: Floats,
    columns: list[str],
    scores: RuleScores,
    clustered: LevelStep,
) -> tuple[list[Level], list[dict[str, Any]], dict[str, Any] | None, Any]:
    """Run the levels top down; `clustered` makes a cluster level."""
    levels: list[Level] = []
    reports: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    splits: Any = None
    for spec in specs:
        above = levels[-1] if levels else None
        if spec.method == "rules":
            level, report = rules_level(spec, above, values, columns, scores)
            if level is not None:
                levels.append(level)
        else:
            level, report, found = clustered(spec, above, len(levels) + 1)
            if level is not None:
                levels.append(level)
                if above is None:
                    first = found
                elif splits is None:
                    splits = report.get("splits")
        report = {
            "name": spec.name,
            "title": spec.title,
            "method": spec.method,
            "groups": list(spec.groups),
            "level": len(levels) if "skipped" not in report else None,
        } | report
        reports.append(report)
    return levels, reports, first, splits


def rules_level(
    spec: LevelSpec,
    above: "Level | None",
    values: Floats,
    columns: list[str],
    scores: RuleScores,
) -> tuple["Level | None", dict[str, Any]]:
    """Apply a rules level; None and the reason when it must be skipped."""
    absent = [rule.column for rule in spec.rules if rule.column in scores.missing]
    if absent:
        why = scores.missing[absent[0]]
        return None, {
            "skipped": f"its rules test '{absent[0]}', which this run could "
            f"not compute ({why})"
        }

    def tested(name: str) -> Floats:
        if name in scores.values:
            return np.asarray(scores.values[name], dtype=np.float64)
        return values[:, columns.index(name)]

    level = _rule_level(above, len(values), tested, spec.rules)
    return level, {"rules": [rule.name for rule in spec.rules]}


def _rule_level(
    above: Level | None,
    n_rows: int,
    tested: Callable[[str], Floats],
    rules: Sequence[SegmentRule],
) -> Level:
    """Apply rules inside each segment of the level above; first match wins.

    With no level above (a score segment over the whole audience, such as
    "propensity >= 0.75" alone), the rules cut the whole population: each
    rule's segment is named after the rule, and people no rule holds for are
    in no segment at this level (nor below it).
    """
    within = np.zeros(n_rows, dtype=np.int64) if above is None else above.codes
    choice = np.full(n_rows, -1)
    for number, rule in enumerate(rules):
        hit = rule.matches(tested(rule.column))
        choice[(choice < 0) & (within >= 0) & hit] = number
    key = np.where(choice >= 0, within * len(rules) + choice, -1)
    found, codes = np.unique(key[key >= 0], return_inverse=True)
    level_codes = np.full(n_rows, -1)
    level_codes[key >= 0] = codes
    names = [rules[int(u) % len(rules)].name for u in found]
    if above is None:
        parents: list[str | None] = [None] * len(found)
        ids = names
    else:
        parents = [above.ids[int(u) // len(rules)] for u in found]
        ids = [f"{p}.{name}" for p, name in zip(parents, names, strict=True)]
    return Level(
        level_codes,
        ids,
        parents,
        ["rule"] * len(found),
        [None] * len(found),
        [None] * len(found),
    )
