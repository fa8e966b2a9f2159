"""segment: cluster entities into multi-level audience segments (pure).

Features are standard-scaled, then projected on the principal components that
explain at least `variance_target` of the variance (80 % by default), which
drops noise directions and the redundancy of shares that sum to one before
any distance is measured.

At each level a model and k are chosen on a random sample among k-means, Ward
and HDBSCAN (`pipelines.cluster_models`), every row goes to the nearest chosen
centroid, and the choice is refitted on bootstrap resamples to measure its
stability (`pipelines.stability`).

Level 2 repeats the selection inside each level-1 segment (k in 2..4) on that
segment's rows only, so a level-2 member is in its parent by construction.
Further levels come from rules given as data, applied inside each segment of
the level above, first matching rule wins.

Every random draw comes from `seed`: the same input and seed give the same
output. Ids are "L1-01", "L1-01.2" (numbered by size, largest first) and
"L1-01.2.app_heavy" for rule segments. Centroids are in the standard-scaled
feature space (each coordinate is the z-score of the segment mean), where the
k-anonymity floor measures distances and which `pipelines.describe` reads.
"""

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

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
        column: A feature column, compared in its raw (unscaled) units.
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
        rule_levels: One tuple of rules per level below level 2.
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
        for rules in self.rule_levels:
            if len({rule.name for rule in rules}) != len(rules):
                raise ValueError("rule names must be unique within a level")


@dataclass(frozen=True)
class SegmentationResult:
    """Memberships, segments and metrics of one segmentation.

    Attributes:
        memberships: ``entity_id``, ``segment_id``, ``level``, ``parent_id``:
            one row per entity and level at which it has a segment.
        segments: ``segment_id``, ``level``, ``parent_id``, ``size``,
            ``centroid`` (list of z-scores, in the order of
            ``metrics["columns"]``), ``method``, ``stability``, ``silhouette``.
        metrics: Model choice, candidates, PCA, scores and stability; JSON-ready.
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
) -> SegmentationResult:
    """Cluster entities into level-1, level-2 and rule-based segments.

    Args:
        entity_ids: One id per row of `matrix`, unique.
        matrix: Imputed features, shape ``(n, len(columns))``.
        columns: The feature names, in matrix column order.
        seed: Seed of every random draw.
        config: Parameters; the defaults when omitted.

    Returns:
        The memberships, segments and metrics.

    Raises:
        ValueError: Inconsistent shapes, duplicate ids, non-finite values, an
            unknown rule column, or no candidate model fits the data.
    """
    cfg = config or SegmentConfig()
    ids = _check_input(entity_ids, matrix, columns, cfg)
    with threadpool_limits(limits=cfg.n_threads):
        return _segment(
            ids, np.asarray(matrix, dtype=np.float64), list(columns), seed, cfg
        )


def _segment(
    ids: pl.Series, values: Floats, columns: list[str], seed: int, cfg: SegmentConfig
) -> SegmentationResult:
    scaler = StandardScaler().fit(values)
    target = cfg.variance_target if cfg.variance_target < 1.0 else None
    pca = PCA(n_components=target, svd_solver="covariance_eigh")
    points = pca.fit_transform(scaler.transform(values))
    top = cluster(points, cfg.k_range, cfg, np.random.default_rng([seed, 1]))
    if top is None:
        raise ValueError("no candidate model yields an eligible clustering")
    levels = [_first_level(top)]
    second, split_metrics = _second_level(points, levels[0], cfg, seed)
    levels.append(second)
    for rules in cfg.rule_levels:
        levels.append(_rule_level(levels[-1], values, columns, rules))
    metrics = {
        "n_rows": len(ids),
        "columns": columns,
        "seed": seed,
        "scaling": "standard",
        "variance_target": cfg.variance_target,
        "n_components": int(pca.n_components_),
        "explained_variance": float(pca.explained_variance_ratio_.sum()),
        "selection_rule": SELECTION_RULE,
        "sample_size": min(len(ids), cfg.sample_size),
        "n_bootstrap": cfg.n_bootstrap,
        **top.metrics,
        "level2": split_metrics,
    }
    return SegmentationResult(
        _memberships(ids, levels), _segments(levels, values, scaler), metrics
    )


def _check_input(
    entity_ids: Sequence[str] | pl.Series,
    matrix: NDArray[np.floating[Any]],
    columns: Sequence[str],
    cfg: SegmentConfig,
) -> pl.Series:
    ids = pl.Series("entity_id", entity_ids, dtype=pl.String, strict=False)
    if matrix.ndim != 2 or matrix.shape != (len(ids), len(columns)):
        raise ValueError("matrix must have one row per entity, one column per name")
    if ids.null_count() or ids.n_unique() != len(ids):
        raise ValueError("entity ids must be unique and non-null")
    if not np.isfinite(matrix).all():
        raise ValueError("matrix holds NaN or infinite values; impute first")
    for rules in cfg.rule_levels:
        unknown = sorted({rule.name for rule in rules if rule.column not in columns})
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


def _second_level(
    points: Floats, top: _Level, cfg: SegmentConfig, seed: int
) -> tuple[_Level, dict[str, Any]]:
    level = _Level(np.full(len(points), -1), [], [], [], [], [])
    metrics: dict[str, Any] = {}
    for index, parent in enumerate(top.ids):
        rows = np.flatnonzero(top.codes == index)
        if len(rows) < 2 * cfg.min_size:
            metrics[parent] = {"split": False, "reason": "too small to split"}
            continue
        rng = np.random.default_rng([seed, 2, index])  # independent of other parents
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
    above: _Level, values: Floats, columns: list[str], rules: Sequence[SegmentRule]
) -> _Level:
    """Apply rules inside each segment of the level above; first match wins."""
    choice = np.full(len(values), -1)
    for number, rule in enumerate(rules):
        hit = rule.matches(values[:, columns.index(rule.column)])
        choice[(choice < 0) & (above.codes >= 0) & hit] = number
    key = np.where(choice >= 0, above.codes * len(rules) + choice, -1)
    found, codes = np.unique(key[key >= 0], return_inverse=True)
    level_codes = np.full(len(values), -1)
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
