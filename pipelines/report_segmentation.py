"""report_segmentation: the report's sections on the segmentation itself (pure).

The run's metadata and counts, the levels as the policy defines them (and
the variables each dropped), the model choice, the segment tree and the
k-anonymity floor.
"""

from collections.abc import Mapping
from html import escape
from typing import Any

from pipelines.charts import Bar, Colours, Tree, segment_colour, sizes_chart
from pipelines.report_html import (
    Html,
    empty_note,
    fmt,
    label_of,
    mapping_at,
    render_table,
    render_tables,
)

_RUN_KEYS = ("run_id", "audience", "generated_at", "policy_version", "seed")
_CANDIDATE_KEYS = ("model", "k", "silhouette", "davies_bouldin")


def run_section(summary: Mapping[str, Any]) -> str:
    """Render the run's metadata and counts."""
    meta = "".join(
        f"<dt>{escape(label_of(key))}</dt><dd>{fmt(summary[key])}</dd>"
        for key in _RUN_KEYS
        if key in summary
    )
    meta_html = f'<dl class="meta">{meta}</dl>' if meta else empty_note("run metadata")
    return meta_html + render_tables(mapping_at(summary, "counts"), "counts")


def levels_section(seg: Mapping[str, Any]) -> str:
    """Which policy level became which level, what was skipped, what dropped."""
    listed = seg.get("levels")
    levels = [
        lv
        for lv in (listed if isinstance(listed, list | tuple) else ())
        if isinstance(lv, Mapping)
    ]
    if not levels:
        return empty_note("policy levels")
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
    html = render_table(headers, rows, "Levels as the audience policy defines them")
    dropped = [
        (
            lv.get("name"),
            d.get("feature"),
            d.get("score"),
            d.get("null_min"),
            d.get("p_value"),
            d.get("bound"),
            d.get("reason"),
        )
        for lv in levels
        for d in (lv.get("dropped") or ())
        if isinstance(d, Mapping)
    ]
    caption = (
        "Variables dropped: a Laplacian score (near 0: neighbours on the level's "
        "other features agree on it; about 1: no more than strangers) whose "
        "permutation p-value misses the bound Holm's procedure sets for it, "
        "or that comes after one that did (no bound)"
    )
    headers = (
        "Level",
        "Feature",
        "Score",
        "Lowest shuffled score",
        "p-value",
        "Holm bound",
        "Why",
    )
    return html + (
        render_table(headers, dropped, caption)
        if dropped
        else empty_note("dropped variables")
    )


def model_section(seg: Mapping[str, Any]) -> str:
    """Render how the segmentation was made, its model choice and candidates."""
    chosen = {k: v for k, v in seg.items() if k not in ("candidates", "levels")}
    html = render_tables(chosen, "model figures")
    if "mode" in seg:  # refit, or people assigned with the previous run's model
        why = seg.get("refit_reason") or "nothing drifted, previous model kept"
        html = f"<p>Segmentation: {fmt(seg['mode'])} ({fmt(why)}).</p>" + html
    listed = seg.get("candidates")
    listed = listed if isinstance(listed, list | tuple) else ()
    candidates = [c for c in listed if isinstance(c, Mapping)]
    if not candidates:
        return html + empty_note("model-selection candidates")
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
    return html + render_table(
        headers, rows, "Candidates (chosen one highlighted)", picked
    )


def k_section(k_anon: Mapping[str, Any]) -> str:
    """Render the k-anonymity figures and the floor every segment meets."""
    note = ""
    if k_anon.get("k_min") is not None:
        note = (
            f"<p>Every segment in this report has at least {fmt(k_anon['k_min'])}"
            " members; smaller ones were merged or suppressed.</p>"
        )
    return note + render_tables(k_anon, "k-anonymity figures")


def segments_section(tree: Tree, colours: Colours) -> str:
    """Render the segment tree as a size chart and a table."""
    if not tree:
        return empty_note("segments")
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
                fmt(row["size"]) + share,
            )
        )
        indent = "&#160;" * 4 * depth
        rows.append(
            (
                Html(indent + fmt(row["segment_id"])),
                row["level"],
                row["parent_id"],
                row["size"],
                Html(share.strip(" ()") or "—"),
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
    return sizes_chart(bars) + render_table(headers, rows)
