"""run_outputs: a run's files: entities and segments as parquet, the HTML report."""

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pipelines.report import render_report
from pipelines.report_data import pca_points, profiles


def write_outputs(
    out: Path,
    summary: dict[str, Any],
    entities: pl.DataFrame,
    members: pl.DataFrame,
    segments: pl.DataFrame,
    matrix: np.ndarray,
    features: pl.DataFrame,
    metrics: dict[str, Any],
) -> None:
    """Write the entities, memberships and report of a run under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    entities.select("record_id", "entity_id").write_parquet(out / "entities.parquet")
    members.select("entity_id", "segment_id", "level").write_parquet(
        out / "segments.parquet"
    )
    html = render_report(
        summary,
        segments,
        pca_points(features["entity_id"], matrix, members, seed=summary["seed"]),
        profiles(segments, metrics["columns"]),
    )
    (out / "report.html").write_text(html, encoding="utf-8")
