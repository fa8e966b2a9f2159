"""report_audience: the report's sections beyond the segment tree (pure).

The personas (each exported segment's description, mean propensity and
themes) with the holdout, the purchase propensity model, the drift from
the previous run, and what this run kept of it (segment ids, movement).
"""

from collections.abc import Mapping
from typing import Any

from pipelines.charts import reliability_chart
from pipelines.report_html import (
    Html,
    empty_note,
    fmt,
    mapping_at,
    render_table,
    render_tables,
)

_METRICS = ("roc_auc", "pr_auc", "brier", "log_loss", "ece")
_METRIC_LABELS = (
    "ROC-AUC (higher is better)",
    "PR-AUC (higher is better)",
    "Brier (lower is better)",
    "Log-loss (lower is better)",
    "ECE (lower is better)",
)


def personas_section(summary: Mapping[str, Any]) -> str:
    """Each exported segment: description, mean propensity, themes; the holdout."""
    listed = summary.get("personas")
    rows = [
        p
        for p in (listed if isinstance(listed, list) else ())
        if isinstance(p, Mapping)
    ]
    holdout = mapping_at(summary, "holdout")
    html = render_tables(holdout, "holdout") if holdout else ""
    if not rows:
        return html + empty_note("personas")
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
    return html + render_table(headers, table, caption)


def _themes_cell(themes: object) -> str:
    if not isinstance(themes, list) or not themes:
        return "—"
    # Each part is escaped by `fmt`: the cell passes through as markup.
    return Html(
        "; ".join(
            f"{fmt(t.get('members'))} members: {fmt(t.get('terms'))}"
            for t in themes
            if isinstance(t, Mapping)
        )
    )


def propensity_section(prop: Mapping[str, Any]) -> str:
    """Render the propensity model: held-out figures, reliability, candidates."""
    status = prop.get("status")
    if status is None:
        return empty_note("propensity model")
    if status != "fitted":
        why = prop.get("reason")
        note = f"<p>Propensity model {fmt(status)}" + (f": {fmt(why)}" if why else "")
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
    html = render_tables(meta, "propensity figures")
    cal, raw = mapping_at(prop, "calibrated"), mapping_at(prop, "uncalibrated")
    rows = [
        (label, cal.get(key), raw.get(key))
        for key, label in zip(_METRICS, _METRIC_LABELS, strict=True)
    ]
    html += render_table(
        ("Held-out measure", "Calibrated", "Uncalibrated"),
        rows,
        "Held-out figures of the chosen model, after and before calibration",
    )
    curves = {
        name: [
            b
            for b in mapping_at(prop, name).get("reliability") or ()
            if isinstance(b, Mapping)
        ]
        for name in ("calibrated", "uncalibrated")
    }
    html += reliability_chart(curves) or empty_note("reliability curve")
    listed = prop.get("candidates")
    candidates = [
        c
        for c in (listed if isinstance(listed, list) else ())
        if isinstance(c, Mapping)
    ]
    html += render_table(
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
    return html + f"<p>Features used: {fmt(features)}.</p>"


def drift_section(drift: Mapping[str, Any]) -> str:
    """Render the drift from the previous run, per feature and per level."""
    status = drift.get("status")
    if status is None:
        return empty_note("drift measurement")
    if drift.get("drifted"):
        note = (
            "<p><strong>This run drifted from the previous one</strong>: "
            f"features {fmt(drift.get('drifted_features') or [])}; segment "
            f"levels {fmt(drift.get('drifted_levels') or [])}.</p>"
        )
    else:
        note = f"<p>No drift flagged ({fmt(status)}).</p>"
    note += f"<p>{fmt(drift.get('refit'))}.</p>" if drift.get("refit") else ""
    thresholds = mapping_at(drift, "thresholds")
    flagged = set(drift.get("drifted_features") or ())
    psi = mapping_at(drift, "feature_psi")
    html = (
        note
        + render_table(
            ("Feature", "PSI", "Drifted"),
            [(name, value, name in flagged) for name, value in psi.items()],
            f"Population stability index per feature (threshold "
            f"{fmt(thresholds.get('feature'))})",
            [name in flagged for name in psi],
        )
        if psi
        else note
    )
    levels = mapping_at(drift, "segment_psi")
    if levels:
        html += render_table(
            ("Level", "PSI of segment sizes"),
            list(levels.items()),
            f"Segment sizes per level (threshold {fmt(thresholds.get('segment'))})",
        )
    return html


def continuity_section(continuity: Mapping[str, Any]) -> str:
    """What the run kept of the previous one: segment ids and who moved (counts)."""
    if not continuity:
        return empty_note("continuity with a previous run")
    figures = [
        ("Segments that kept their id", continuity.get("segments_kept")),
        ("New segments", continuity.get("segments_new")),
        ("Retired segment ids", continuity.get("segments_retired")),
        ("People who changed segment", continuity.get("moved")),
        ("People who entered the audience", continuity.get("entered")),
        ("People who left the audience", continuity.get("left")),
    ]
    note = (
        "<p>A segment keeps the previous run's id when their members overlap "
        f"(Jaccard) above {fmt(continuity.get('match_min_jaccard'))}. Counts "
        f"under the floor (k = {fmt(continuity.get('k_min'))}) are shown as "
        "missing.</p>"
    )
    moves = [m for m in continuity.get("moves") or () if isinstance(m, Mapping)]
    table = render_table(
        ("Level", "From", "To", "People"),
        [
            (m.get("level"), m.get("from"), m.get("to"), m.get("entities"))
            for m in moves
        ],
        "Movement between segments, by public id",
    )
    return note + render_table(("Measure", "Value"), figures) + (table if moves else "")
