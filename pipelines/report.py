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
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from numbers import Integral, Real
from typing import Any

import polars as pl

from pipelines.charts import (
    Bar,
    Colours,
    Tree,
    assign_colours,
    format_number,
    heatmap_chart,
    reliability_chart,
    scatter_chart,
    segment_colour,
    silhouette_chart,
    sizes_chart,
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
_RUN_KEYS = ("run_id", "audience", "generated_at", "policy_version", "seed")
_CANDIDATE_KEYS = ("model", "k", "silhouette", "davies_bouldin")
# Summary keys whose plain spelling would read badly ("Ari", "K min").
_LABELS = {
    "k": "k",
    "k_min": "k (minimum segment size)",
    "ari": "Stability (bootstrap mean adjusted Rand)",
    "davies_bouldin": "Davies-Bouldin",
    "n_components": "PCA components",
    "explained_variance": "Explained variance (PCA)",
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


class _Html(str):
    """Markup already escaped, which table cells pass through unchanged."""

    __slots__ = ()


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
    seg = _mapping(summary, "segmentation")
    audience = summary.get("audience")
    title = "Segmentation report" + (f": {audience}" if audience is not None else "")
    sections = [
        ("run", "Run", _run_section(summary)),
        ("quality", "Data quality", _tables(_mapping(summary, "quality"))),
        ("dedupe", "Deduplication", _tables(_mapping(summary, "dedupe"))),
        ("levels", "Levels", _levels_section(seg)),
        ("model", "Model selection", _model_section(seg)),
        ("segments", "Segments", _segments_section(tree, colours)),
        ("pca", "PCA map", scatter_chart(points, colours) or _empty("PCA sample")),
        (
            "silhouette",
            "Silhouette per segment",
            silhouette_chart(tree, colours, seg.get("silhouette"))
            or _empty("per-segment silhouettes"),
        ),
        (
            "profiles",
            "Feature profiles",
            heatmap_chart(profile_rows) or _empty("feature profiles"),
        ),
        ("k-anonymity", "k-anonymity", _k_section(_mapping(summary, "k_anonymity"))),
        ("personas", "Personas", _personas_section(summary)),
        (
            "propensity",
            "Purchase propensity",
            _propensity_section(_mapping(summary, "propensity")),
        ),
        ("drift", "Drift", _drift_section(_mapping(summary, "drift"))),
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
    k_min = _mapping(summary, "k_anonymity").get("k_min")
    if k_min is None:
        return
    # NaN would compare false against every size and so let everything through.
    if isinstance(k_min, bool) or not isinstance(k_min, Real) or math.isnan(k_min):
        raise ValueError("k_anonymity.k_min is not a number; refusing to render")
    # Fail closed: a size that is missing cannot be shown to meet the floor.
    small = sum(1 for row in rows if row["size"] is None or row["size"] < k_min)
    if small:
        raise ValueError(f"{small} segment(s) below k_min={k_min}; refusing to render")


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


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


def _fmt(value: object) -> str:
    """Format a value as escaped text: thousands separators, 3 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Integral):
        return f"{int(value):,}"
    if isinstance(value, Real):
        return format_number(float(value))
    if isinstance(value, Mapping):
        return "; ".join(f"{escape(str(k))}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(item) for item in value)
    return escape(str(value))


def _label(key: object) -> str:
    text = str(key)
    if text in _LABELS:
        return _LABELS[text]
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


def _empty(what: str) -> str:
    return f'<p class="empty">No {escape(what)} recorded for this run.</p>'


def _cell(value: object) -> str:
    if isinstance(value, _Html):
        return f"<td>{value}</td>"
    numeric = isinstance(value, Real) and not isinstance(value, bool)
    return f'<td class="n">{_fmt(value)}</td>' if numeric else f"<td>{_fmt(value)}</td>"


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    caption: str = "",
    chosen: Sequence[bool] = (),
) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    marks = [' class="chosen"' if flag else "" for flag in chosen]
    body = "".join(
        f"<tr{marks[i] if i < len(marks) else ''}>{''.join(map(_cell, row))}</tr>"
        for i, row in enumerate(rows)
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _tables(data: Mapping[str, Any], what: str = "figures") -> str:
    """Render a summary block: its scalars as one table, each sub-mapping as another.

    A sub-mapping of mappings (``{"age": {"count": 3, "rate": 0.01}}``) becomes a
    matrix, its inner keys as columns; its own keys are data (feature names)
    and are shown as given.
    """
    flat = [(_label(k), v) for k, v in data.items() if not isinstance(v, Mapping)]
    parts = [_table(("Measure", "Value"), flat)] if flat else []
    for key, sub in data.items():
        if not isinstance(sub, Mapping):
            continue
        scalars = [(str(k), v) for k, v in sub.items() if not isinstance(v, Mapping)]
        nested = {str(k): v for k, v in sub.items() if isinstance(v, Mapping)}
        if scalars:
            parts.append(_table(("Item", "Value"), scalars, _label(key)))
        if nested:
            columns = list(dict.fromkeys(c for inner in nested.values() for c in inner))
            rows = [
                (name, *(inner.get(c) for c in columns))
                for name, inner in nested.items()
            ]
            parts.append(_table(("Item", *map(_label, columns)), rows, _label(key)))
        if not sub:
            parts.append(_table(("Item", "Value"), [], _label(key)))
    return "".join(parts) or _empty(what)


def _run_section(summary: Mapping[str, Any]) -> str:
    meta = "".join(
        f"<dt>{escape(_label(key))}</dt><dd>{_fmt(summary[key])}</dd>"
        for key in _RUN_KEYS
        if key in summary
    )
    meta_html = f'<dl class="meta">{meta}</dl>' if meta else _empty("run metadata")
    return meta_html + _tables(_mapping(summary, "counts"), "counts")


def _levels_section(seg: Mapping[str, Any]) -> str:
    """Which policy level became which level, what was skipped, what dropped."""
    listed = seg.get("levels")
    levels = [
        lv
        for lv in (listed if isinstance(listed, list | tuple) else ())
        if isinstance(lv, Mapping)
    ]
    if not levels:
        return _empty("policy levels")
    rows = [
        (
            lv.get("name"),
            lv.get("title"),
            lv.get("method"),
            lv.get("groups"),
            lv.get("level"),
            lv.get("columns") if lv.get("method") == "cluster" else lv.get("rules"),
            lv.get("skipped") or "—",
        )
        for lv in levels
    ]
    headers = (
        "Policy level",
        "Title",
        "Method",
        "Feature groups",
        "Level in this run",
        "Features (or rules) used",
        "Skipped because",
    )
    html = _table(headers, rows, "Levels as the audience policy defines them")
    dropped = [
        (
            lv.get("name"),
            d.get("feature"),
            d.get("score"),
            d.get("null_min"),
            d.get("p_value"),
            d.get("reason"),
        )
        for lv in levels
        for d in (lv.get("dropped") or ())
        if isinstance(d, Mapping)
    ]
    caption = (
        "Variables dropped: a Laplacian score (near 0: neighbours on the level's "
        "other features agree on it; about 1: no more than strangers) no lower "
        "than every shuffle of the variable"
    )
    headers = ("Level", "Feature", "Score", "Lowest shuffled score", "p-value", "Why")
    return html + (
        _table(headers, dropped, caption) if dropped else _empty("dropped variables")
    )


def _model_section(seg: Mapping[str, Any]) -> str:
    chosen = {k: v for k, v in seg.items() if k not in ("candidates", "levels")}
    html = _tables(chosen, "model figures")
    listed = seg.get("candidates")
    listed = listed if isinstance(listed, list | tuple) else ()
    candidates = [c for c in listed if isinstance(c, Mapping)]
    if not candidates:
        return html + _empty("model-selection candidates")
    rows = [tuple(c.get(key) for key in _CANDIDATE_KEYS) for c in candidates]
    picked = [
        c.get("model") == seg.get("model")
        and c.get("k") == seg.get("k")
        and "model" in seg
        for c in candidates
    ]
    headers = (
        "Model",
        "k",
        "Silhouette (higher is better)",
        "Davies-Bouldin (lower is better)",
    )
    return html + _table(headers, rows, "Candidates (chosen one highlighted)", picked)


def _k_section(k_anon: Mapping[str, Any]) -> str:
    note = ""
    if k_anon.get("k_min") is not None:
        note = (
            f"<p>Every segment in this report has at least {_fmt(k_anon['k_min'])}"
            " members; smaller ones were merged or suppressed.</p>"
        )
    return note + _tables(k_anon, "k-anonymity figures")


def _segments_section(tree: Tree, colours: Colours) -> str:
    if not tree:
        return _empty("segments")
    total = sum(row["size"] or 0 for depth, _, row in tree if depth == 0)
    bars, rows = [], []
    for depth, root, row in tree:
        share = (
            f" ({row['size'] / total:.1%})" if total and row["size"] is not None else ""
        )
        bars.append(
            Bar(
                str(row["segment_id"]),
                depth,
                row["size"],
                segment_colour(colours, root),
                _fmt(row["size"]) + share,
            )
        )
        indent = "&#160;" * 4 * depth
        rows.append(
            (
                _Html(indent + _fmt(row["segment_id"])),
                row["level"],
                row["parent_id"],
                row["size"],
                _Html(share.strip(" ()") or "—"),
                row["stability"],
                row["silhouette"],
                row["description"],
                row["versus_parent"],
                row["versus_siblings"],
            )
        )
    headers = [
        *[
            "Segment",
            "Level",
            "Parent",
            "Size",
            "Share",
            "Stability",
            "Silhouette",
            "Description",
        ],
        "Versus parent",
        "Versus siblings",
    ]
    return sizes_chart(bars) + _table(headers, rows)


_METRICS = ("roc_auc", "pr_auc", "brier", "log_loss", "ece")
_METRIC_LABELS = (
    "ROC-AUC (higher is better)",
    "PR-AUC (higher is better)",
    "Brier (lower is better)",
    "Log-loss (lower is better)",
    "ECE (lower is better)",
)


def _personas_section(summary: Mapping[str, Any]) -> str:
    """Each exported segment: description, mean propensity, themes; the holdout."""
    listed = summary.get("personas")
    rows = [
        p
        for p in (listed if isinstance(listed, list) else ())
        if isinstance(p, Mapping)
    ]
    holdout = _mapping(summary, "holdout")
    html = _tables(holdout, "holdout") if holdout else ""
    if not rows:
        return html + _empty("personas")
    table = [
        (
            p.get("segment_id"),
            p.get("level"),
            p.get("size"),
            p.get("description"),
            p.get("mean_propensity"),
            _themes_cell(p.get("themes")),
        )
        for p in rows
    ]
    headers = ("Segment", "Level", "Size", "Description", "Mean propensity", "Themes")
    caption = (
        "Themes from the members' redacted free text: a term is shown only when "
        "at least k members use it, and a theme only when it leads k members"
    )
    return html + _table(headers, table, caption)


def _themes_cell(themes: object) -> str:
    if not isinstance(themes, list) or not themes:
        return "—"
    # Each part is escaped by `_fmt`: the cell passes through as markup.
    return _Html(
        "; ".join(
            f"{_fmt(t.get('members'))} members: {_fmt(t.get('terms'))}"
            for t in themes
            if isinstance(t, Mapping)
        )
    )


def _propensity_section(prop: Mapping[str, Any]) -> str:
    status = prop.get("status")
    if status is None:
        return _empty("propensity model")
    if status != "fitted":
        why = prop.get("reason")
        note = f"<p>Propensity model {_fmt(status)}" + (f": {_fmt(why)}" if why else "")
        return note + ".</p>"
    meta = {
        key: prop.get(key)
        for key in (
            "target",
            "horizon_days",
            "cutoff",
            "observed_end",
            "model",
            "selection_rule",
            "calibration",
            "calibration_rule",
            "base_rate",
            "ece_binning",
        )
    }
    meta["rows"] = prop.get("rows")
    html = _tables(meta, "propensity figures")
    cal, raw = _mapping(prop, "calibrated"), _mapping(prop, "uncalibrated")
    rows = [
        (label, cal.get(key), raw.get(key))
        for key, label in zip(_METRICS, _METRIC_LABELS, strict=True)
    ]
    html += _table(
        ("Held-out measure", "Calibrated", "Uncalibrated"),
        rows,
        "Held-out figures of the chosen model, after and before calibration",
    )
    curves = {
        name: [
            b
            for b in _mapping(prop, name).get("reliability") or ()
            if isinstance(b, Mapping)
        ]
        for name in ("calibrated", "uncalibrated")
    }
    html += reliability_chart(curves) or _empty("reliability curve")
    listed = prop.get("candidates")
    candidates = [
        c
        for c in (listed if isinstance(listed, list) else ())
        if isinstance(c, Mapping)
    ]
    html += _table(
        ("Model", "CV log-loss", "Standard error", "CV ROC-AUC"),
        [
            (
                c.get("model"),
                c.get("cv_log_loss"),
                c.get("cv_log_loss_se"),
                c.get("cv_roc_auc"),
            )
            for c in candidates
        ],
        "Candidates (chosen one highlighted)",
        [c.get("model") == prop.get("model") for c in candidates],
    )
    features = prop.get("features") or []
    return html + f"<p>Features used: {_fmt(features)}.</p>"


def _drift_section(drift: Mapping[str, Any]) -> str:
    status = drift.get("status")
    if status is None:
        return _empty("drift measurement")
    if drift.get("drifted"):
        note = (
            "<p><strong>This run drifted from the previous one</strong>: "
            f"features {_fmt(drift.get('drifted_features') or [])}; segment "
            f"levels {_fmt(drift.get('drifted_levels') or [])}.</p>"
        )
    else:
        note = f"<p>No drift flagged ({_fmt(status)}).</p>"
    note += f"<p>{_fmt(drift.get('refit'))}.</p>" if drift.get("refit") else ""
    thresholds = _mapping(drift, "thresholds")
    flagged = set(drift.get("drifted_features") or ())
    psi = _mapping(drift, "feature_psi")
    html = (
        note
        + _table(
            ("Feature", "PSI", "Drifted"),
            [(name, value, name in flagged) for name, value in psi.items()],
            f"Population stability index per feature (threshold "
            f"{_fmt(thresholds.get('feature'))})",
            [name in flagged for name in psi],
        )
        if psi
        else note
    )
    levels = _mapping(drift, "segment_psi")
    if levels:
        html += _table(
            ("Level", "PSI of segment sizes"),
            list(levels.items()),
            f"Segment sizes per level (threshold {_fmt(thresholds.get('segment'))})",
        )
    return html
