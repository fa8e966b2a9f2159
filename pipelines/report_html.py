"""report_html: the report's escaped HTML pieces (pure).

Values are formatted and escaped here (`fmt`), summary keys given readable
labels, and summary blocks rendered as tables; markup that is already
escaped travels as `Html` so that a cell does not escape it twice.
"""

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from numbers import Integral, Real
from typing import Any

from pipelines.charts import format_number

# Summary keys whose plain spelling would read badly ("Ari", "K min").
_LABELS = {
    "k": "k",
    "k_min": "k (minimum segment size)",
    "ari": "Stability (bootstrap mean adjusted Rand)",
    "davies_bouldin": "Davies-Bouldin",
    "n_components": "PCA components",
    "explained_variance": "Explained variance (PCA)",
}


class Html(str):
    """Markup already escaped, which table cells pass through unchanged."""

    __slots__ = ()


def mapping_at(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """Return `data[key]` when it is a mapping, else an empty one."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def fmt(value: object) -> str:
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
        return "; ".join(f"{escape(str(k))}: {fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(fmt(item) for item in value)
    return escape(str(value))


def label_of(key: object) -> str:
    """Return the readable label of a summary key."""
    text = str(key)
    if text in _LABELS:
        return _LABELS[text]
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


def empty_note(what: str) -> str:
    """Return the note that no `what` was recorded for the run."""
    return f'<p class="empty">No {escape(what)} recorded for this run.</p>'


def _cell(value: object) -> str:
    if isinstance(value, Html):
        return f"<td>{value}</td>"
    numeric = isinstance(value, Real) and not isinstance(value, bool)
    return f'<td class="n">{fmt(value)}</td>' if numeric else f"<td>{fmt(value)}</td>"


def render_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    caption: str = "",
    chosen: Sequence[bool] = (),
) -> str:
    """Render a table; the rows flagged in `chosen` are highlighted."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    marks = [' class="chosen"' if flag else "" for flag in chosen]
    body = "".join(
        f"<tr{marks[i] if i < len(marks) else ''}>{''.join(map(_cell, row))}</tr>"
        for i, row in enumerate(rows)
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_tables(data: Mapping[str, Any], what: str = "figures") -> str:
    """Render a summary block: its scalars as one table, each sub-mapping as another.

    A sub-mapping of mappings (``{"age": {"count": 3, "rate": 0.01}}``) becomes a
    matrix, its inner keys as columns; its own keys are data (feature names)
    and are shown as given.
    """
    flat = [(label_of(k), v) for k, v in data.items() if not isinstance(v, Mapping)]
    parts = [render_table(("Measure", "Value"), flat)] if flat else []
    for key, sub in data.items():
        if not isinstance(sub, Mapping):
            continue
        scalars = [(str(k), v) for k, v in sub.items() if not isinstance(v, Mapping)]
        nested = {str(k): v for k, v in sub.items() if isinstance(v, Mapping)}
        if scalars:
            parts.append(render_table(("Item", "Value"), scalars, label_of(key)))
        if nested:
            columns = list(dict.fromkeys(c for inner in nested.values() for c in inner))
            rows = [
                (name, *(inner.get(c) for c in columns))
                for name, inner in nested.items()
            ]
            parts.append(
                render_table(("Item", *map(label_of, columns)), rows, label_of(key))
            )
        if not sub:
            parts.append(render_table(("Item", "Value"), [], label_of(key)))
    return "".join(parts) or empty_note(what)
