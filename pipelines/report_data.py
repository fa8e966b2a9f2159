"""What the report plots, computed from a run's frames (pure).

Only aggregates and anonymous points: a 2-D PCA sample carries no id, and
only members of segments that passed the floor are drawn.
"""

from collections.abc import Sequence

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

MAP_POINTS = 5000


def pca_points(
    entity_ids: pl.Series,
    matrix: NDArray[np.float64],
    members: pl.DataFrame,
    *,
    seed: int,
    points: int = MAP_POINTS,
) -> pl.DataFrame:
    """A sample of members on the first two principal components.

    Returns:
        ``x``, ``y``, ``segment_id`` (the level-1 segment); no entity id.
    """
    level1 = members.filter(pl.col("level") == 1).select("entity_id", "segment_id")
    rows = (
        pl.DataFrame({"entity_id": entity_ids})
        .with_row_index("row")
        .join(level1, on="entity_id")
    )
    if rows.height < 3:
        return pl.DataFrame(
            schema={"x": pl.Float64, "y": pl.Float64, "segment_id": pl.Utf8}
        )
    if rows.height > points:
        rows = rows.sample(points, seed=seed)
    picked = matrix[rows["row"].to_numpy()]
    scaled = StandardScaler().fit_transform(picked)
    xy = PCA(n_components=2, random_state=seed).fit_transform(scaled)
    return pl.DataFrame(
        {"x": xy[:, 0], "y": xy[:, 1], "segment_id": rows["segment_id"]}
    ).sort("segment_id", "x", "y")


def profiles(segments: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Level-1 segments' centroids (z-scores) in long form, for the heat map."""
    level1 = segments.filter(pl.col("level") == 1, pl.col("centroid").is_not_null())
    rows = [
        {"segment_id": segment_id, "feature": feature, "z": float(z)}
        for segment_id, centroid in level1.select("segment_id", "centroid").iter_rows()
        for feature, z in zip(columns, centroid, strict=True)
    ]
    schema = {"segment_id": pl.Utf8, "feature": pl.Utf8, "z": pl.Float64}
    return pl.DataFrame(rows, schema=schema)
