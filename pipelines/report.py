"""report: one self-contained HTML page describing a segmentation run.

The page must open offline and be safe to mail around: no script, no network
reference (a Content-Security-Policy forbids any that slip in), plots drawn as
inline SVG by ``pipelines.charts`` rather than with a plotting library, and
every string that came from data escaped. It shows only the aggregates it is
given: frames are cut down to the columns the page needs, so an identifier
column passed by mistake never reaches the output, and a segment under the
k-anonymity floor stops the rendering. The same input always gives the same
bytes.
"""

import math
from collections import defaultdict
from collections.abc import Mapping
from html import escape
from numbers import Real
from typing import Any

import polars as pl

from pipelines.charts import (
    assign_colours,
    heatmap_chart,
    scatter_chart,
    silhouette_chart,
)
from pipelines.report_audience import (
    continuity_section,
    drift_section,
    personas_section,
    propensity_section,
)
from pipelines.report_html import empty_note, mapping_at, render_tables
from pipelines.report_segmentation import (
    k_section,
    levels_section,
    model_section,
    run_section,
    segments_section,
)

# A segment as (depth, root segment id, row); a list of them is a charts.Tree.
_Node = tuple[int, str | None, dict[str, Any]]
MAX_POINTS = 5_000  # above this the map is thinned, to keep the page small

_SEGMENTS: Mapping[str, pl.DataType] = {
    "segment_id": pl.String(),
    "level": pl.Int64(),
    "parent_id": pl.String(),
    "size": pl.Int64(),
    "description": pl.String(),
    "versus_parent": pl.String(),
    "versus_siblings": pl.String(),
    "stability": pl.Float64(),
    "silhouette": pl.Float64(),
}
_POINTS: Mapping[str, pl.DataType] = {
    "x": pl.Float64(),
    "y": pl.Float64(),
    "segment_id": pl.String(),
}
_PROFILES: Mapping[str, pl.DataType] = {
    "segment_id": pl.String(),
    "feature": pl.String(),
    "z": pl.Float64(),
}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#222;margin:0;background:#fff}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 8px}
h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:36px}
nav a{margin-right:14px;color:#0072B2}
table{border-collapse:collapse;margin:8px 0 18px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border-bottom:1px solid #e6e6e6;padding:3px 10px;text-align:left;
vertical-align:top}
th{background:#f5f5f5}
td.n{text-align:right}
tr.chosen{background:#fff3cd;font-weight:600}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 16px}
dt{color:#666}
dd{margin:0}
svg.plot{max-width:100%;height:auto;display:block;margin:8px 0}
svg text{font-size:11px;fill:#333}
svg text.inv{fill:#fff}
.axis{stroke:#bbb}
.grid{stroke:#eee}
.empty{color:#777;font-style:italic}
footer{margin-top:40px;color:#777;font-size:12px}
"""


def render_report(
    summary: Mapping[str, Any],
    segments: pl.DataFrame,
    pca_points: pl.DataFrame,
    profiles: pl.DataFrame,
) -> str:
    """Render the HTML report of one segmentation run.

    Any summary key may be missing and any frame may be empty: the section then
    says that nothing was recorded, so a partial run still gets a report.

    Args:
        summary: The run summary (JSON-able): run metadata, ``counts``,
            ``quality``, ``dedupe``, ``segmentation`` and ``k_anonymity``.
        segments: One row per segment of every level (``segment_id``,
            ``level``, ``parent_id``, ``size``, ``description``, ``stability``,
            ``silhouette``).
        pca_points: A sample of ``x``, ``y`` and level-1 ``segment_id``.
        profiles: Long ``segment_id``, ``feature``, ``z`` (the segment mean's
            z-score against the population).

    Returns:
        A complete HTML document.

    Raises:
        ValueError: ``summary["k_anonymity"]["k_min"]`` is set and a segment is
            smaller or of unknown size: such a segment must never be shown.
    """
    segment_rows = _rows(segments, _SEGMENTS)
    _check_k_floor(summary, segment_rows)
    points = _rows(
        pca_points.gather_every(max(1, -(-pca_points.height // MAX_POINTS))), _POINTS
    )
    profile_rows = _rows(profiles, _PROFILES)
    tree = _ordered_segments(segment_rows)
    colours = assign_colours(
        [row["segment_id"] for depth, _, row in tree if depth == 0]
        + [row["segment_id"] for row in points + profile_rows]
    )
    seg = mapping_at(summary, "segmentation")
    audience = summary.get("audience")
    title = "Segmentation report" + (f": {audience}" if audience is not None else "")
    sections = [
        ("run", "Run", run_section(summary)),
        ("quality", "Data quality", render_tables(mapping_at(summary, "quality"))),
        ("dedupe", "Deduplication", render_tables(mapping_at(summary, "dedupe"))),
        ("levels", "Levels", levels_section(seg)),
        ("model", "Model selection", model_section(seg)),
        ("segments", "Segments", segments_section(tree, colours)),
        ("pca", "PCA map", scatter_chart(points, colours) or empty_note("PCA sample")),
        (
            "silhouette",
            "Silhouette per segment",
            silhouette_chart(tree, colours, seg.get("silhouette"))
            or empty_note("per-segment silhouettes"),
        ),
        (
            "profiles",
            "Feature profiles",
            heatmap_chart(profile_rows) or empty_note("feature profiles"),
        ),
        ("k-anonymity", "k-anonymity", k_section(mapping_at(summary, "k_anonymity"))),
        ("personas", "Personas", personas_section(summary)),
        (
            "propensity",
            "Purchase propensity",
            propensity_section(mapping_at(summary, "propensity")),
        ),
        ("drift", "Drift", drift_section(mapping_at(summary, "drift"))),
        (
            "continuity",
            "Continuity",
            continuity_section(mapping_at(summary, "continuity")),
        ),
    ]
    nav = "".join(f'<a href="#{key}">{escape(name)}</a>' for key, name, _ in sections)
    body = "".join(
        f'<section id="{key}"><h2>{escape(name)}</h2>{html}</section>'
        for key, name, html in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><main><header><h1>{escape(title)}</h1></header><nav>{nav}</nav>\n"
        f"{body}\n<footer>Aggregates only: this page holds no record or entity "
        "identifiers.</footer>"
        "</main></body></html>\n"
    )


def _rows(
    frame: pl.DataFrame, schema: Mapping[str, pl.DataType]
) -> list[dict[str, Any]]:
    # Selecting by schema both tolerates missing columns and drops extra ones.
    if frame.height == 0:
        return []
    missing = [pl.lit(None).alias(name) for name in schema if name not in frame.columns]
    exprs = [pl.col(name).cast(dtype, strict=False) for name, dtype in schema.items()]
    return frame.with_columns(missing).select(exprs).to_dicts()


def _check_k_floor(summary: Mapping[str, Any], rows: list[dict[str, Any]]) -> None:
    k_min = mapping_at(summary, "k_anonymity").get("k_min")
    if k_min is None:
        return
    # NaN would compare false against every size and so let everything through.
    if isinstance(k_min, bool) or not isinstance(k_min, Real) or math.isnan(k_min):
        raise ValueError("k_anonymity.k_min is not a number; refusing to render")
    # Fail closed: a size that is missing cannot be shown to meet the floor.
    small = sum(1 for row in rows if row["size"] is None or row["size"] < k_min)
    if small:
        raise ValueError(f"{small} segment(s) below k_min={k_min}; refusing to render")


def _ordered_segments(rows: list[dict[str, Any]]) -> list[_Node]:
    """Order segments depth first; each as (depth, root segment id, row)."""
    rows = sorted(rows, key=lambda row: (str(row["segment_id"]), row["level"] or 0))
    ids = {row["segment_id"] for row in rows}
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    roots = []
    for row in rows:
        parent = row["parent_id"]
        if parent is not None and parent in ids and parent != row["segment_id"]:
            children[parent].append(row)
        else:
            roots.append(row)
    ordered: list[_Node] = []
    seen: set[int] = set()
    stack = [(0, row["segment_id"], row) for row in reversed(roots)]
    while stack:
        depth, root, row = stack.pop()
        if id(row) not in seen:
            seen.add(id(row))
            ordered.append((depth, root, row))
            kids = children.get(row["segment_id"], [])
            stack.extend((depth + 1, root, kid) for kid in reversed(kids))
    # A parent cycle has no root to start from; show its members rather than drop them.
    return ordered + [
        (0, row["segment_id"], row) for row in rows if id(row) not in seen
    ]
