"""segment: cluster entities into multi-level audience segments (pure).

Features are standard-scaled, then projected on the principal components that
explain at least `variance_target` of the variance (80 % by default), which
drops noise directions and the redundancy of shares that sum to one before
any distance is measured.

At each level a model and k are chosen on a random sample among k-means, Ward
and HDBSCAN (`pipelines.cluster_models`), every row goes to the nearest chosen
centroid, and the choice is refitted on bootstrap resamples to measure its
stability (`pipelines.stability`).

Levels are given as data (`LevelSpec`, from the audience policy): each names
the feature columns it clusters on, or the rules it applies. The first level
that yields segments clusters the whole population (k in `k_range`); each
cluster level below repeats the selection inside each segment of the level
above (k in `sub_k_range`) on that segment's rows only, on its own features,
so a member is in its parent by construction. A rules level applies its rules
inside each segment of the level above, first matching rule wins.

A rule may also test a score (`RuleScores`: the calibrated propensity,
``propensity >= 0.75``). A score is no feature: no cluster level sees it, no
centroid holds it, so no description or profile can show it. A score the run
could not compute skips the rules level that tests it, with the reason.

Within a cluster level, constant columns and features that share no
structure with the level's other features (`pipelines.variable_selection`)
are dropped before scaling. A level left with no feature, or with no
eligible clustering, is skipped: it produces no segments and the levels
below run inside the segments of the level above it. Output levels are
numbered by depth among the levels that ran (1, 2, ...); `metrics["levels"]`
says which policy level each is, and why any was skipped.

Without `levels`, the configuration is the historical one: every column at
level 1, every column again inside each level-1 segment, then `rule_levels`,
with no variable selection.

Every random draw comes from `seed`: the same input and seed give the same
output. Ids are "L1-01", "L1-01.2" (numbered by size, largest first) and
"L1-01.2.app_heavy" for rule segments. Centroids are in the standard-scaled
feature space (each coordinate is the z-score of the segment mean), where the
k-anonymity floor measures distances and which `pipelines.describe` reads.
"""

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from gateway.policy.models import AudienceLevel, LevelRule
from gateway.policy.segmentation import feature_group
from pipelines.cluster_models import (
    MODELS,
    SELECTION_RULE,
    Clustering,
    Floats,
    Ints,
    cluster,
    group_means,
    json_number,
)
from pipelines.variable_selection import Verdict, select_features

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
    rule_levels: tuple[tuple[SegmentRule, ...], ...] = ()
    n_threads: int | None = None
    levels: tuple[LevelSpec, ...] = ()
    selection_sample: int = 4_000
    selection_permutations: int = 49

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
        if self.n_bootstrap < 0 or self.min_size < 1:
            raise ValueError("n_bootstrap must be >= 0 and min_size >= 1")
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


@dataclass(frozen=True)
class SegmentationResult:
    """Memberships, segments and metrics of one segmentation.

    Attributes:
        memberships: ``entity_id``, ``segment_id``, ``level``, ``parent_id``:
            one row per entity and level at which it has a segment.
        segments: ``segment_id``, ``level``, ``parent_id``, ``size``,
            ``centroid`` (list of z-scores, in the order of
            ``metrics["columns"]``), ``method``, ``stability``, ``silhouette``.
        metrics: Model choice, candidates, PCA, scores and stability of the
            first clustered level; ``level2``, the splits of the next one;
            ``levels``, one report per configured level (its output level or
            why it was skipped, the columns used, the variables dropped with
            their Laplacian score and p-value); JSON-ready.
    """

    memberships: pl.DataFrame
    segments: pl.DataFrame
    metrics: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Level:
    codes: Ints  # index into `ids` per row, -1 for no segment at this level
    ids: list[str]
    parents: list[str | None]
    method: list[str]
    stability: list[float | None]
    silhouette: list[float | None]


def segment(
    entity_ids: Sequence[str] | pl.Series,
    matrix: NDArray[np.floating[Any]],
    columns: Sequence[str],
    seed: int,
    config: SegmentConfig | None = None,
    scores: RuleScores | None = None,
) -> SegmentationResult:
    """Cluster entities into nested levels of segments (`SegmentConfig.levels`).

    Args:
        entity_ids: One id per row of `matrix`, unique.
        matrix: Imputed features, shape ``(n, len(columns))``.
        columns: The feature names, in matrix column order.
        seed: Seed of every random draw.
        config: Parameters; the defaults when omitted.
        scores: Scores rule levels may test besides `columns`; none when
            omitted.

    Returns:
        The memberships, segments and metrics.

    Raises:
        ValueError: Inconsistent shapes, duplicate ids, non-finite values, an
            unknown rule or level column, a score of the wrong length, non-finite
            or named like a column, or no level yields segments.
    """
    cfg = config or SegmentConfig()
    scores = scores or RuleScores()
    ids = _check_input(entity_ids, matrix, columns, cfg, scores)
    with threadpool_limits(limits=cfg.n_threads):
        return _segment(
            ids, np.asarray(matrix, dtype=np.float64), list(columns), seed, cfg, scores
        )


def _segment(
    ids: pl.Series,
    values: Floats,
    columns: list[str],
    seed: int,
    cfg: SegmentConfig,
    scores: RuleScores,
) -> SegmentationResult:
    # The scaler, and so every centroid, sees the feature columns only.
    scaler = StandardScaler().fit(values)
    levels: list[_Level] = []
    reports: list[dict[str, Any]] = []
    first: dict[str, Any] | None = None
    splits: dict[str, Any] | None = None
    for spec in cfg.level_specs(columns):
        above = levels[-1] if levels else None
        if spec.method == "rules":
            level, report = _rules_level(spec, above, values, columns, scores)
            if level is not None:
                levels.append(level)
        else:
            level, report, found = _cluster_level(
                spec, above, values, columns, seed, len(levels) + 1, cfg
            )
            if level is not None:
                levels.append(level)
                if above is None:
                    first = found
                elif splits is None:
                    splits = report["splits"]
        report = {
            "name": spec.name,
            "title": spec.title,
            "method": spec.method,
            "groups": list(spec.groups),
            "level": len(levels) if "skipped" not in report else None,
        } | report
        reports.append(report)
    if first is None or not levels:
        reasons = "; ".join(
            f"{r['name']}: {r['skipped']}" for r in reports if "skipped" in r
        )
        raise ValueError(f"no level yields an eligible clustering ({reasons})")
    metrics = {
        "n_rows": len(ids),
        "columns": columns,
        "seed": seed,
        "scaling": "standard",
        "variance_target": cfg.variance_target,
        "selection_rule": SELECTION_RULE,
        "sample_size": min(len(ids), cfg.sample_size),
        "n_bootstrap": cfg.n_bootstrap,
        **first,
        "level2": splits or {},
        "levels": reports,
    }
    return SegmentationResult(
        _memberships(ids, levels), _segments(levels, values, scaler), metrics
    )


def _rules_level(
    spec: LevelSpec,
    above: "_Level | None",
    values: Floats,
    columns: list[str],
    scores: RuleScores,
) -> tuple["_Level | None", dict[str, Any]]:
    """Apply a rules level; None and the reason when it must be skipped."""
    absent = [rule.column for rule in spec.rules if rule.column in scores.missing]
    if absent:
        why = scores.missing[absent[0]]
        return None, {
            "skipped": f"its rules test '{absent[0]}', which this run could "
            f"not compute ({why})"
        }
    if above is None:
        return None, {"skipped": "a rules level needs a level above it"}

    def tested(name: str) -> Floats:
        if name in scores.values:
            return np.asarray(scores.values[name], dtype=np.float64)
        return values[:, columns.index(name)]

    level = _rule_level(above, len(values), tested, spec.rules)
    return level, {"rules": [rule.name for rule in spec.rules]}


def _level_points(
    cfg: SegmentConfig, values: Floats, columns: list[str], keep: list[str]
) -> tuple[Floats, dict[str, Any]]:
    """Standard-scale the kept columns, then keep the leading components."""
    picked = values[:, [columns.index(name) for name in keep]]
    target = cfg.variance_target if cfg.variance_target < 1.0 else None
    pca = PCA(n_components=target, svd_solver="covariance_eigh")
    points = pca.fit_transform(StandardScaler().fit_transform(picked))
    return points, {
        "n_components": int(pca.n_components_),
        "explained_variance": float(pca.explained_variance_ratio_.sum()),
    }


def _select(
    spec: LevelSpec, values: Floats, columns: list[str], seed: int, cfg: SegmentConfig
) -> tuple[list[str], list[Verdict]]:
    """The level's columns worth clustering on, and the verdict on each feature."""
    present = [name for name in spec.columns if name in columns]
    picked = values[:, [columns.index(name) for name in present]]
    spread = picked.std(axis=0)
    varying = [name for name, sd in zip(present, spread, strict=True) if sd > 0]
    # A one-hot feature ("gender=female", "gender=male") is judged as one.
    owners = [name.partition("=")[0] for name in present]
    constant = [
        Verdict(owner, False, None, None, "constant", None, ())
        for owner in dict.fromkeys(owners)
        if not any(
            n in varying for n, o in zip(present, owners, strict=True) if o == owner
        )
    ]
    if not spec.select or not varying:
        return varying, constant
    verdicts = select_features(
        values[:, [columns.index(name) for name in varying]],
        varying,
        features=[name.partition("=")[0] for name in varying],
        permutations=cfg.selection_permutations,
        sample=cfg.selection_sample,
        seed=seed,
    )
    kept = {column for v in verdicts if v.kept for column in v.columns}
    return [name for name in varying if name in kept], constant + verdicts


def _cluster_level(
    spec: LevelSpec,
    above: "_Level | None",
    values: Floats,
    columns: list[str],
    seed: int,
    depth: int,
    cfg: SegmentConfig,
) -> tuple["_Level | None", dict[str, Any], dict[str, Any] | None]:
    """Cluster one level; None and the reason when it must be skipped."""
    unknown = sorted(set(spec.columns) - set(columns))
    if unknown:
        raise ValueError(f"level {spec.name!r} names unknown feature columns")
    if not spec.columns:
        why = "the data holds none of its features"
        return None, {"columns": [], "dropped": [], "skipped": why}, None
    keep, verdicts = _select(spec, values, columns, seed, cfg)
    report: dict[str, Any] = {
        "columns": keep,
        "dropped": [v.as_dict() for v in verdicts if not v.kept],
    }
    if not keep:
        why = "every feature is constant or missing"
        if any(v.reason != "constant" for v in verdicts):
            why = "no feature shares structure with the others (variable selection)"
        return None, report | {"skipped": why}, None
    points, pca = _level_points(cfg, values, columns, keep)
    report |= pca
    if above is None:
        top = cluster(points, cfg.k_range, cfg, np.random.default_rng([seed, 1]))
        if top is None:
            return None, report | {"skipped": "no eligible clustering"}, None
        level = _first_level(top)
        chosen = {"columns_used": keep, **pca, **top.metrics}
        report |= {k: v for k, v in top.metrics.items() if k != "candidates"}
        return level, report, chosen
    level, splits = _split_level(points, above, cfg, seed, depth)
    if not level.ids:
        return None, report | {"skipped": "no segment above could be split"}, None
    return level, report | {"splits": splits}, None


def _check_input(
    entity_ids: Sequence[str] | pl.Series,
    matrix: NDArray[np.floating[Any]],
    columns: Sequence[str],
    cfg: SegmentConfig,
    scores: RuleScores,
) -> pl.Series:
    ids = pl.Series("entity_id", entity_ids, dtype=pl.String, strict=False)
    if matrix.ndim != 2 or matrix.shape != (len(ids), len(columns)):
        raise ValueError("matrix must have one row per entity, one column per name")
    if ids.null_count() or ids.n_unique() != len(ids):
        raise ValueError("entity ids must be unique and non-null")
    if not np.isfinite(matrix).all():
        raise ValueError("matrix holds NaN or infinite values; impute first")
    named = [*scores.values, *scores.missing]
    if set(named) & set(columns):
        raise ValueError("a score cannot share its name with a feature column")
    for name, score in scores.values.items():
        row = np.asarray(score, dtype=np.float64)
        if row.shape != (len(ids),) or not np.isfinite(row).all():
            raise ValueError(f"score {name!r} needs one finite value per entity")
    known = {*columns, *named}
    rule_sets = [*cfg.rule_levels, *(spec.rules for spec in cfg.levels)]
    for rules in rule_sets:
        unknown = sorted({rule.name for rule in rules if rule.column not in known})
        if unknown:
            raise ValueError(f"rules {unknown} name unknown feature columns")
    return ids


def _first_level(top: Clustering) -> _Level:
    k = int(top.labels.max()) + 1
    return _Level(
        top.labels,
        [f"L1-{rank + 1:02d}" for rank in range(k)],
        [None] * k,
        [top.metrics["model"]] * k,
        [json_number(v) for v in top.stability],
        [json_number(v) for v in top.silhouette],
    )


def _split_level(
    points: Floats, top: _Level, cfg: SegmentConfig, seed: int, depth: int
) -> tuple[_Level, dict[str, Any]]:
    """Cluster inside each segment of the level above, on its rows only."""
    level = _Level(np.full(len(points), -1), [], [], [], [], [])
    metrics: dict[str, Any] = {}
    for index, parent in enumerate(top.ids):
        rows = np.flatnonzero(top.codes == index)
        if len(rows) < 2 * cfg.min_size:
            metrics[parent] = {"split": False, "reason": "too small to split"}
            continue
        # Independent of other parents' draws.
        rng = np.random.default_rng([seed, depth, index])
        child = cluster(points[rows], cfg.sub_k_range, cfg, rng)
        if child is None:
            metrics[parent] = {"split": False, "reason": "no eligible model"}
            continue
        level.codes[rows] = child.labels + len(level.ids)
        k = child.metrics["k"]
        level.ids.extend(f"{parent}.{rank + 1}" for rank in range(k))
        level.parents.extend([parent] * k)
        level.method.extend([child.metrics["model"]] * k)
        level.stability.extend(json_number(v) for v in child.stability)
        level.silhouette.extend(json_number(v) for v in child.silhouette)
        metrics[parent] = {"split": True} | {
            key: value for key, value in child.metrics.items() if key != "candidates"
        }
    return level, metrics


def _rule_level(
    above: _Level,
    n_rows: int,
    tested: Callable[[str], Floats],
    rules: Sequence[SegmentRule],
) -> _Level:
    """Apply rules inside each segment of the level above; first match wins."""
    choice = np.full(n_rows, -1)
    for number, rule in enumerate(rules):
        hit = rule.matches(tested(rule.column))
        choice[(choice < 0) & (above.codes >= 0) & hit] = number
    key = np.where(choice >= 0, above.codes * len(rules) + choice, -1)
    found, codes = np.unique(key[key >= 0], return_inverse=True)
    level_codes = np.full(n_rows, -1)
    level_codes[key >= 0] = codes
    parents = [above.ids[int(u) // len(rules)] for u in found]
    names = [rules[int(u) % len(rules)].name for u in found]
    return _Level(
        level_codes,
        [f"{parent}.{name}" for parent, name in zip(parents, names, strict=True)],
        list(parents),
        ["rule"] * len(found),
        [None] * len(found),
        [None] * len(found),
    )


def _memberships(ids: pl.Series, levels: list[_Level]) -> pl.DataFrame:
    parts = []
    for number, level in enumerate(levels, start=1):
        rows = np.flatnonzero(level.codes >= 0)
        codes = level.codes[rows]
        parts.append(
            pl.DataFrame(
                {
                    "entity_id": ids.gather(rows),
                    "segment_id": pl.Series(level.ids, dtype=pl.String).gather(codes),
                    "level": pl.repeat(number, len(rows), dtype=pl.Int64, eager=True),
                    "parent_id": pl.Series(level.parents, dtype=pl.String).gather(
                        codes
                    ),
                }
            )
        )
    return pl.concat(parts)


def _segments(
    levels: list[_Level], values: Floats, scaler: StandardScaler
) -> pl.DataFrame:
    frames = []
    for number, level in enumerate(levels, start=1):
        k = len(level.ids)
        if k == 0:
            continue
        # Rows without a segment here get label k, which group_means leaves out.
        labels = np.where(level.codes >= 0, level.codes, k)
        centroids = scaler.transform(group_means(values, labels, k))
        frames.append(
            pl.DataFrame(
                {
                    "segment_id": level.ids,
                    "level": [number] * k,
                    "parent_id": level.parents,
                    "size": np.bincount(labels, minlength=k + 1)[:k],
                    "centroid": centroids.tolist(),
                    "method": level.method,
                    "stability": level.stability,
                    "silhouette": level.silhouette,
                },
                schema_overrides={
                    "level": pl.Int64,
                    "parent_id": pl.String,
                    "size": pl.Int64,
                    "centroid": pl.List(pl.Float64),
                    "stability": pl.Float64,
                    "silhouette": pl.Float64,
                },
            )
        )
    frame = pl.concat(frames)
    return frame.sort(["level", "size", "segment_id"], descending=[False, True, False])
