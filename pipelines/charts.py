"""charts: the report's plots, drawn as inline SVG strings.

Drawn here rather than with a plotting library so the page stays offline and
small. Every function is pure: rows and labels in, markup out. Strings that
came from data are escaped here; the ``note`` of a bar is markup the caller
has already escaped. A chart with nothing to draw returns ``""`` so the page
can say what is missing.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from numbers import Real
from typing import Any, NamedTuple

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies.
# Past eight segments colours repeat, so the marker shape changes instead.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
_OTHER = "#999999"
_BLUE, _MID, _RED = (33, 102, 172), (247, 247, 247), (178, 24, 43)  # RdBu ends
_Z_CLIP = 3.0
# Plot area of the PCA map, in SVG units.
_PCA_LEFT, _PCA_TOP, _PCA_WIDTH, _PCA_HEIGHT = 56, 10, 460, 360
_PCA_BOTTOM = _PCA_TOP + _PCA_HEIGHT

# Level-1 segment id -> (colour, square marker), from assign_colours().
Colours = Mapping[str, tuple[str, bool]]
# Segments depth first, each as (depth, root segment id, row).
Tree = Sequence[tuple[int, str | None, Mapping[str, Any]]]


class Bar(NamedTuple):
    """One bar of a horizontal bar chart; ``note`` is escaped markup."""

    label: str
    depth: int
    value: float | None
    colour: str
    note: str


def assign_colours(segment_ids: Iterable[str | None]) -> dict[str, tuple[str, bool]]:
    """Give each level-1 segment a (colour, square marker) pair, in id order."""
    ids = sorted({sid for sid in segment_ids if sid is not None})
    return {
        sid: (PALETTE[i % len(PALETTE)], (i // len(PALETTE)) % 2 == 1)
        for i, sid in enumerate(ids)
    }


def segment_colour(colours: Colours, root: str | None) -> str:
    """Return the colour of a segment tree's root, grey when it has none."""
    return colours.get(root, (_OTHER, False))[0] if root else _OTHER


def format_number(number: float) -> str:
    """Format a number to 3 significant digits, or with cents from 1,000 up."""
    if not math.isfinite(number):
        return "—"
    if abs(number) >= 1000:  # fences and amounts: keep cents, drop ".00"
        return f"{number:,.2f}".rstrip("0").rstrip(".")
    return f"{number:.3g}"


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Return round tick values covering [lo, hi] (1, 2, 2.5 or 5 times 10^n)."""
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / count
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [i * step for i in range(first, last + 1)]


def tick_label(value: float, axis_ticks: Sequence[float]) -> str:
    """Format a tick with just enough decimals for the axis's step."""
    step = axis_ticks[1] - axis_ticks[0] if len(axis_ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    decimals += 1 if round(step / 10.0**-decimals, 6) % 1 else 0  # a 2.5 step
    return f"{value:,.{decimals}f}".replace("-", "−")


def diverging(z: float) -> str:
    """Map a z-score to blue (below) / near-white (0) / red (above), clipped at ±3."""
    t = max(-_Z_CLIP, min(_Z_CLIP, z)) / _Z_CLIP
    end = _BLUE if t < 0 else _RED
    r, g, b = (round(m + (e - m) * abs(t)) for m, e in zip(_MID, end, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def sizes_chart(bars: Sequence[Bar]) -> str:
    """Draw segment sizes, sub-segments indented under their parent."""
    return bar_chart(
        "sizes",
        "Segment sizes",
        "Members per segment; sub-segments indented under their parent.",
        bars,
        "members",
    )


def silhouette_chart(tree: Tree, colours: Colours, overall: object) -> str:
    """Draw each segment's mean silhouette against the overall score, if finite."""
    bars = [
        Bar(
            str(row["segment_id"]),
            depth,
            row["silhouette"],
            segment_colour(colours, root),
            format_number(row["silhouette"]),
        )
        for depth, root, row in tree
        if row["silhouette"] is not None
    ]
    if not bars:
        return ""
    ref = None
    if isinstance(overall, Real) and math.isfinite(overall):
        ref = float(overall)
    return bar_chart(
        "silhouette",
        "Silhouette per segment",
        "Mean silhouette of each segment (-1 to 1, higher is better);"
        " the dashed line is the overall score.",
        bars,
        "silhouette",
        ref,
    )


def bar_chart(
    name: str,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    axis: str,
    ref: float | None = None,
) -> str:
    """Draw horizontal bars from zero; a missing or non-finite value reads n/a."""
    bars = [b._replace(value=_finite(b.value)) for b in bars]
    values = [bar.value for bar in bars if bar.value is not None]
    xt = ticks(min([0.0, *values]), max([0.0, *values]))
    left, width, top, row_h = 150, 440, 8, 20
    bottom = top + row_h * len(bars)
    zero = _scale(0, xt, left, width)
    out = []
    for t in xt:
        x = _scale(t, xt, left, width)
        out.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" '
            f'y2="{bottom}"/><text x="{x:.1f}" y="{bottom + 14}" '
            f'text-anchor="middle">{tick_label(t, xt)}</text>'
        )
    for i, bar in enumerate(bars):
        end = None if bar.value is None else _scale(bar.value, xt, left, width)
        out.append(_bar_row(bar, top + i * row_h, row_h, (zero, end)))
    out.append(
        f'<line class="axis" x1="{zero:.1f}" x2="{zero:.1f}" y1="{top}" y2="{bottom}"/>'
    )
    if ref is not None:
        x = _scale(ref, xt, left, width)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" '
            f'y2="{bottom}" stroke="#333" stroke-dasharray="4 3">'
            f"<title>overall: {format_number(ref)}</title></line>"
        )
    out.append(
        f'<text x="{left + width / 2}" y="{bottom + 30}" '
        f'text-anchor="middle">{escape(axis)}</text>'
    )
    return _svg(name, title, desc, (left + width + 130, bottom + 40), "".join(out))


def scatter_chart(points: Sequence[Mapping[str, Any]], colours: Colours) -> str:
    """Draw the PCA map: ``x``, ``y`` dots coloured by level-1 ``segment_id``."""
    kept = [
        p
        for p in points
        if p["x"] is not None
        and p["y"] is not None
        and math.isfinite(p["x"])
        and math.isfinite(p["y"])
    ]
    if not kept:
        return ""
    xt = ticks(min(p["x"] for p in kept), max(p["x"] for p in kept))
    yt = ticks(min(p["y"] for p in kept), max(p["y"] for p in kept))
    series, legend = _pca_series(_pca_dots(kept, xt, yt, colours), colours)
    out = [*_pca_grid(xt, yt), *series]
    mid = _PCA_TOP + _PCA_HEIGHT / 2
    out.append(
        f'<text x="{_PCA_LEFT + _PCA_WIDTH / 2}" y="{_PCA_BOTTOM + 32}" '
        f'text-anchor="middle">PC1</text><text x="14" y="{mid}" '
        f'text-anchor="middle" transform="rotate(-90 14 {mid})">'
        "PC2</text>"
    )
    desc = (
        f"{len(kept):,} sampled entities on the first two principal components, "
        "coloured by level-1 segment."
    )
    size = (
        _PCA_LEFT + _PCA_WIDTH + 190,
        max(_PCA_BOTTOM + 42, _PCA_TOP + 18 * len(legend) + 16),
    )
    return _svg("pca", "PCA map", desc, size, "".join(out + legend))


def heatmap_chart(rows: Sequence[Mapping[str, Any]]) -> str:
    """Draw ``z`` per ``segment_id`` (rows) and ``feature`` (columns)."""
    rows = [r for r in rows if r["segment_id"] is not None and r["feature"] is not None]
    if not rows:
        return ""
    features = list(dict.fromkeys(r["feature"] for r in rows))
    segments = sorted({r["segment_id"] for r in rows})
    z = {(r["segment_id"], r["feature"]): r["z"] for r in rows}
    cw = max(22, min(56, 640 // len(features)))
    ch, left, top = 24, 110, 120
    out = [
        f'<text x="{left - 8}" y="{top + i * ch + 16}" text-anchor="end">'
        f"{escape(_short(sid, 16))}</text>"
        for i, sid in enumerate(segments)
    ]
    for j, feature in enumerate(features):
        fx = left + j * cw + cw // 2
        out.append(
            f'<text x="{fx}" y="{top - 6}" transform="rotate(-45 {fx} {top - 6})"'
            f">{escape(_short(feature, 22))}<title>{escape(feature)}</title></text>"
        )
        out.extend(
            heat_cell(
                left + j * cw,
                top + i * ch,
                (cw, ch),
                z.get((sid, feature)),
                f"{escape(sid)} · {escape(feature)}",
            )
            for i, sid in enumerate(segments)
        )
    ly = top + ch * len(segments) + 16
    out.append(_heat_legend(left, ly))
    desc = (
        f"{len(segments)} level-1 segments by {len(features)} features; blue is "
        "below the population mean, red above."
    )
    size = (max(left + cw * len(features) + 140, left + 600), ly + 36)
    return _svg("profiles", "Feature profiles", desc, size, "".join(out))


def heat_cell(x: int, y: int, size: tuple[int, int], z: float | None, tip: str) -> str:
    """Draw one heat-map cell; ``tip`` is escaped markup, a non-finite z is grey."""
    w, h = size
    if z is None or not math.isfinite(z):
        return (
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#ddd">'
            f"<title>{tip}: n/a</title></rect>"
        )
    rect = (
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{diverging(z)}">'
        f"<title>{tip}: z = {z:.2f}</title></rect>"
    )
    if w < 30:
        return rect
    css = ' class="inv"' if abs(z) >= 0.6 * _Z_CLIP else ""
    value = f"{z:.1f}".replace("-", "−")  # the typographic minus, as on the axes
    return (
        f'{rect}<text{css} x="{x + w / 2:.1f}" y="{y + h / 2 + 4:.1f}" '
        f'text-anchor="middle">{value}</text>'
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _scale(value: float, axis_ticks: Sequence[float], start: int, length: int) -> float:
    span = axis_ticks[-1] - axis_ticks[0]
    return start + (value - axis_ticks[0]) / span * length


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(name: str, title: str, desc: str, size: tuple[int, int], body: str) -> str:
    width, height = size
    return (
        f'<svg class="plot" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{name}-t {name}-d">'
        f'<title id="{name}-t">{escape(title)}</title>'
        f'<desc id="{name}-d">{escape(desc)}</desc>{body}</svg>'
    )


def _bar_row(bar: Bar, y: int, row_h: int, span: tuple[float, float | None]) -> str:
    zero, end = span
    label = escape(_short(bar.label, 18 - 2 * bar.depth))
    text = f'<text x="{6 + 14 * bar.depth}" y="{y + 14}">{label}</text>'
    if end is None:
        return f'{text}<text x="{zero + 4:.1f}" y="{y + 14}">n/a</text>'
    x0, x1 = sorted((zero, end))
    opacity = max(0.4, 1 - 0.3 * bar.depth)  # sub-segments: parent's hue, lighter
    return (
        f'{text}<rect x="{x0:.1f}" y="{y + 3}" width="{x1 - x0:.1f}" '
        f'height="{row_h - 6}" fill="{bar.colour}" fill-opacity="{opacity}">'
        f"<title>{escape(bar.label)}: {bar.note}</title></rect>"
        f'<text x="{x1 + 4:.1f}" y="{y + 14}">{bar.note}</text>'
    )


def _pca_dots(
    kept: Sequence[Mapping[str, Any]],
    xt: Sequence[float],
    yt: Sequence[float],
    colours: Colours,
) -> dict[str | None, list[str]]:
    groups: dict[str | None, list[str]] = {sid: [] for sid in colours}
    groups[None] = []
    for p in kept:
        sx = _scale(p["x"], xt, _PCA_LEFT, _PCA_WIDTH)
        sy = _PCA_BOTTOM - (p["y"] - yt[0]) / (yt[-1] - yt[0]) * _PCA_HEIGHT
        # A zero-length subpath draws just its line cap: one dot in ~14 bytes.
        groups.setdefault(p["segment_id"], []).append(f"M{sx:.1f} {sy:.1f}h0")
    return groups


def _pca_grid(xt: Sequence[float], yt: Sequence[float]) -> list[str]:
    out = []
    for t in xt:
        sx = _scale(t, xt, _PCA_LEFT, _PCA_WIDTH)
        out.append(
            f'<line class="grid" x1="{sx:.1f}" x2="{sx:.1f}" y1="{_PCA_TOP}" '
            f'y2="{_PCA_BOTTOM}"/><text x="{sx:.1f}" y="{_PCA_BOTTOM + 14}" '
            f'text-anchor="middle">{tick_label(t, xt)}</text>'
        )
    for t in yt:
        sy = _PCA_BOTTOM - (t - yt[0]) / (yt[-1] - yt[0]) * _PCA_HEIGHT
        out.append(
            f'<line class="grid" x1="{_PCA_LEFT}" x2="{_PCA_LEFT + _PCA_WIDTH}" '
            f'y1="{sy:.1f}" y2="{sy:.1f}"/><text x="{_PCA_LEFT - 6}" '
            f'y="{sy + 4:.1f}" text-anchor="end">{tick_label(t, yt)}</text>'
        )
    return out


def _pca_series(
    groups: Mapping[str | None, list[str]], colours: Colours
) -> tuple[list[str], list[str]]:
    series: list[str] = []
    legend: list[str] = []
    right = _PCA_LEFT + _PCA_WIDTH
    for sid, dots in groups.items():
        if not dots:
            continue
        colour, square = colours.get(sid, (_OTHER, False)) if sid else (_OTHER, False)
        cap = "square" if square else "round"
        name = escape(sid) if sid else "unassigned"
        series.append(
            f'<path d="{"".join(dots)}" stroke="{colour}" stroke-width="5" '
            f'stroke-linecap="{cap}" stroke-opacity="0.6">'
            f"<title>{name}: {len(dots):,} points</title></path>"
        )
        ly = _PCA_TOP + 8 + 18 * len(legend)
        legend.append(
            f'<path d="M{right + 24} {ly}h0" stroke="{colour}" '
            f'stroke-width="9" stroke-linecap="{cap}"/><text '
            f'x="{right + 34}" y="{ly + 4}">{_short(name, 20)} '
            f"({len(dots):,})</text>"
        )
    return series, legend


def _heat_legend(left: int, ly: int) -> str:
    swatches = "".join(
        f'<rect x="{left + i * 18}" y="{ly}" width="18" height="12" '
        f'fill="{diverging(-_Z_CLIP + i * 0.5)}"/>'
        for i in range(13)  # -3 to +3 by 0.5
    )
    labels = "".join(
        f'<text x="{left + i * 18 + 9}" y="{ly + 26}" '
        f'text-anchor="middle">{text}</text>'
        for i, text in ((0, "−3"), (6, "0"), (12, "+3"))
    )
    return (
        f'{swatches}{labels}<text x="{left + 13 * 18 + 10}" y="{ly + 10}">z-score '
        "of the segment mean vs the population (colours clipped at ±3)</text>"
    )


# Plot area of the reliability curve, in SVG units (a square: both axes 0-1).
_REL_LEFT, _REL_TOP, _REL_SIDE = 56, 10, 300
_REL_SERIES = (("calibrated", PALETTE[0]), ("uncalibrated", PALETTE[1]))


def reliability_chart(curves: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """Draw observed rate against mean prediction per bin, with the diagonal.

    Args:
        curves: ``"calibrated"`` and ``"uncalibrated"`` bins, each a mapping
            with ``mean_predicted``, ``observed_rate`` and ``members``.
    """
    bottom, right = _REL_TOP + _REL_SIDE, _REL_LEFT + _REL_SIDE
    axis = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    out = []
    for t in axis:
        x = _REL_LEFT + t * _REL_SIDE
        y = bottom - t * _REL_SIDE
        out.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{_REL_TOP}" '
            f'y2="{bottom}"/><line class="grid" x1="{_REL_LEFT}" x2="{right}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/><text x="{x:.1f}" y="{bottom + 14}" '
            f'text-anchor="middle">{t:.1f}</text><text x="{_REL_LEFT - 6}" '
            f'y="{y + 4:.1f}" text-anchor="end">{t:.1f}</text>'
        )
    out.append(
        f'<line x1="{_REL_LEFT}" y1="{bottom}" x2="{right}" y2="{_REL_TOP}" '
        'stroke="#999" stroke-dasharray="4 3"><title>perfect calibration</title>'
        "</line>"
    )
    drawn = 0
    for index, (name, colour) in enumerate(_REL_SERIES):
        points = [
            (_finite(b.get("mean_predicted")), _finite(b.get("observed_rate")), b)
            for b in curves.get(name, ())
        ]
        kept = [(x, y, b) for x, y, b in points if x is not None and y is not None]
        if not kept:
            continue
        drawn += 1
        xy = [(_REL_LEFT + x * _REL_SIDE, bottom - y * _REL_SIDE) for x, y, _ in kept]
        path = "M" + "L".join(f"{sx:.1f} {sy:.1f}" for sx, sy in xy)
        out.append(f'<path d="{path}" fill="none" stroke="{colour}"/>')
        out.extend(
            f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="3.5" fill="{colour}"><title>'
            f"{name}: predicted {format_number(x)}, observed {format_number(y)}, "
            f"{int(b.get('members') or 0):,} people</title></circle>"
            for (sx, sy), (x, y, b) in zip(xy, kept, strict=True)
        )
        ly = _REL_TOP + 10 + 18 * index
        out.append(
            f'<circle cx="{right + 24}" cy="{ly}" r="4" fill="{colour}"/>'
            f'<text x="{right + 34}" y="{ly + 4}">{name}</text>'
        )
    if not drawn:
        return ""
    mid = _REL_TOP + _REL_SIDE / 2
    out.append(
        f'<text x="{_REL_LEFT + _REL_SIDE / 2}" y="{bottom + 32}" '
        'text-anchor="middle">mean predicted probability (bin)</text>'
        f'<text x="14" y="{mid}" text-anchor="middle" '
        f'transform="rotate(-90 14 {mid})">observed purchase rate</text>'
    )
    desc = (
        "Held-out people in equal-mass bins of predicted probability: observed "
        "rate against mean prediction; on the diagonal when calibrated."
    )
    size = (right + 140, bottom + 42)
    return _svg("reliability", "Reliability curve", desc, size, "".join(out))
