"""cluster_levels: fit one cluster level of a segmentation (pure).

The level's features are selected (`pipelines.variable_selection`),
standard-scaled and projected on their leading principal components; the
first level is clustered on every row, a level below inside each segment of
the level above (`pipelines.cluster_models`). The fit is kept as a later run
assigns with it (`pipelines.assignment`).
"""

from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from pipelines.assignment import Centre, LevelModel, Projection
from pipelines.cluster_models import Clustering, Floats, cluster, json_number
from pipelines.segment_config import LevelSpec, SegmentConfig
from pipelines.segment_levels import Level
from pipelines.variable_selection import Verdict, select_features


def _level_points(
    cfg: SegmentConfig, values: Floats, columns: list[str], keep: list[str]
) -> tuple[Floats, dict[str, Any], Projection]:
    """Standard-scale the kept columns, then keep the leading components."""
    # The fancy index copies, so the scaler may work in place on it.
    scaler = StandardScaler(copy=False)
    scaled = scaler.fit_transform(values[:, [columns.index(name) for name in keep]])
    target = cfg.variance_target if cfg.variance_target < 1.0 else None
    pca = PCA(n_components=target, svd_solver="covariance_eigh").fit(scaled)
    projection = Projection(
        tuple(keep), scaler.mean_, scaler.scale_, pca.mean_, pca.components_
    )
    # The very arithmetic a later assignment repeats (`Projection.project`),
    # so assigning the fitting rows gives back the fit's labels.
    points = projection.rotate(scaled)
    return (
        points,
        {
            "n_components": int(pca.n_components_),
            "explained_variance": float(pca.explained_variance_ratio_.sum()),
        },
        projection,
    )


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


def cluster_level(
    spec: LevelSpec,
    above: "Level | None",
    values: Floats,
    columns: list[str],
    seed: int,
    depth: int,
    cfg: SegmentConfig,
) -> tuple["Level | None", dict[str, Any], dict[str, Any] | None, LevelModel | None]:
    """Cluster one level; None and the reason when it must be skipped."""
    unknown = sorted(set(spec.columns) - set(columns))
    if unknown:
        raise ValueError(f"level {spec.name!r} names unknown feature columns")
    if not spec.columns:
        why = "the data holds none of its features"
        return None, {"columns": [], "dropped": [], "skipped": why}, None, None
    keep, verdicts = _select(spec, values, columns, seed, cfg)
    report: dict[str, Any] = {
        "columns": keep,
        "dropped": [v.as_dict() for v in verdicts if not v.kept],
    }
    if not keep:
        why = "every feature is constant or missing"
        if any(v.reason != "constant" for v in verdicts):
            why = "no feature shares structure with the others (variable selection)"
        return None, report | {"skipped": why}, None, None
    points, pca, projection = _level_points(cfg, values, columns, keep)
    report |= pca
    if above is None:
        top = cluster(points, cfg.k_range, cfg, np.random.default_rng([seed, 1]))
        if top is None:
            return None, report | {"skipped": "no eligible clustering"}, None, None
        level = _first_level(top)
        chosen = {"columns_used": keep, **pca, **top.metrics}
        report |= {k: v for k, v in top.metrics.items() if k != "candidates"}
        return level, report, chosen, _fit(level, projection, top.centroids)
    level, splits, centroids = _split_level(points, above, cfg, seed, depth)
    if not level.ids:
        why = "no segment above could be split"
        return None, report | {"skipped": why}, None, None
    fit = _fit(level, projection, np.vstack(centroids))
    return level, report | {"splits": splits}, None, fit


def _fit(level: "Level", projection: Projection, centroids: Floats) -> LevelModel:
    """The fitted level as a later run assigns with it (row i: `level.ids[i]`)."""
    sizes = np.bincount(level.codes[level.codes >= 0], minlength=len(level.ids))
    centres = tuple(
        Centre(
            level.ids[i],
            level.parents[i],
            tuple(float(v) for v in centroids[i]),
            level.method[i],
            int(sizes[i]),
            level.stability[i],
            level.silhouette[i],
        )
        for i in range(len(level.ids))
    )
    return LevelModel(projection, centres)


def _first_level(top: Clustering) -> Level:
    k = int(top.labels.max()) + 1
    return Level(
        top.labels,
        [f"L1-{rank + 1:02d}" for rank in range(k)],
        [None] * k,
        [top.metrics["model"]] * k,
        [json_number(v) for v in top.stability],
        [json_number(v) for v in top.silhouette],
    )


def _split_level(
    points: Floats, top: Level, cfg: SegmentConfig, seed: int, depth: int
) -> tuple[Level, dict[str, Any], list[Floats]]:
    """Cluster inside each segment of the level above, on its rows only."""
    level = Level(np.full(len(points), -1), [], [], [], [], [])
    metrics: dict[str, Any] = {}
    centroids: list[Floats] = []
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
        centroids.append(child.centroids)
        k = child.metrics["k"]
        level.ids.extend(f"{parent}.{rank + 1}" for rank in range(k))
        level.parents.extend([parent] * k)
        level.method.extend([child.metrics["model"]] * k)
        level.stability.extend(json_number(v) for v in child.stability)
        level.silhouette.extend(json_number(v) for v in child.silhouette)
        metrics[parent] = {"split": True} | {
            key: value for key, value in child.metrics.items() if key != "candidates"
        }
    return level, metrics, centroids
