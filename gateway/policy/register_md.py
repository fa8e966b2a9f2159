"""Render the Art. 30 register (`gateway.policy.register`) as Markdown tables."""

from collections.abc import Iterable, Sequence
from typing import Any


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(item) for item in value) or "-"
    # A pipe would end the cell, a newline the row.
    return str(value).replace("|", "\\|").replace("\n", " ")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _purposes(doc: dict[str, Any]) -> list[str]:
    rows = [
        (
            p["name"],
            p["description"],
            p["legal_basis_text"],
            [f"{t['id']} {t['name']}" for t in p["tcf_purposes"]],
            p["sale_or_sharing"],
            p["retention_days"],
            p["datasets"],
            p["audiences"],
        )
        for p in doc["purposes"]
    ]
    headers = (
        "Purpose",
        "Description",
        "Legal basis",
        "TCF purposes",
        "Sale or sharing",
        "Retention (days)",
        "Datasets",
        "Audiences",
    )
    return ["## Purposes", "", *_table(headers, rows)]


def _field_label(field: dict[str, Any]) -> str:
    extra = field.get("generalisation") or field.get("scope")
    return f"`{field['field']}` ({extra})" if extra else f"`{field['field']}`"


def _categories(doc: dict[str, Any]) -> list[str]:
    lines = ["## Categories of personal data", ""]
    for dataset in doc["data_categories"]:
        lines += [
            f"### Dataset `{dataset['name']}`",
            "",
            f"{_cell(dataset['description'])} Purposes: {_cell(dataset['purposes'])}.",
            "",
        ]
        rows = [
            (key, [_field_label(f) for f in cat["fields"]], cat["stored_as"])
            for key, cat in dataset["categories"].items()
        ]
        lines += _table(("Category", "Fields", "Stored as"), rows)
    return lines


def _recipients(doc: dict[str, Any]) -> list[str]:
    rec = doc["recipients"]
    lines = [
        "## Recipients",
        "",
        f"Recipients receive {rec['what_they_receive']}. Granted by "
        f"{rec['granted_by']}.",
        "",
        "### Audiences",
        "",
    ]
    lines += _table(
        ("Audience", "Purpose", "Datasets", "k min", "Description"),
        [
            (a["name"], a["purpose"], a["datasets"], a["k_min"], a["description"])
            for a in rec["audiences"]
        ],
    )
    lines += ["### Destinations", ""]
    if not rec["destinations"]:
        return [*lines, "No destination is listed in the policies.", ""]
    lines += _table(
        ("Destination", "k min", "Id format", "Description"),
        [
            (d["name"], d["k_min"], d["id_format"], d["description"])
            for d in rec["destinations"]
        ],
    )
    return lines


def _profiling(doc: dict[str, Any]) -> list[str]:
    prof = doc["profiling"]
    rows = [
        (
            a["audience"],
            a["purpose"],
            [f"{lv['level']} ({lv['method']})" for lv in a["segmentation"]],
            a["propensity"]["what"] if a["propensity"] else None,
            f"{a['holdout_share']:.0%}",
        )
        for a in prof["audiences"]
    ]
    return [
        "## Profiling (GDPR Art. 4(4), 21, 22)",
        "",
        *_table(
            ("Audience", "Purpose", "Segment levels", "Propensity", "Holdout"), rows
        ),
        f"Model inputs: {_cell(prof['model_inputs'])}.",
        "",
        f"Automated decisions: {_cell(prof['automated_decisions'])}.",
        "",
        f"Objection: {_cell(prof['objection'])}.",
        "",
    ]


def render_markdown(doc: dict[str, Any]) -> str:
    """Render a register document (from `build_register`) as one Markdown page."""
    lines = [
        "# Record of processing activities (GDPR Art. 30)",
        "",
        f"Generated from the policies `{doc['policy_version']}` by "
        "`gateway policies register`.",
        "",
        "## Controller",
        "",
        f"- Controller: {_cell(doc['controller'])}",
        f"- Data protection officer: {_cell(doc['data_protection_officer'])}",
    ]
    if "tcf_vendor_id" in doc:
        lines.append(f"- IAB TCF vendor id: {doc['tcf_vendor_id']}")
    lines += ["", *_purposes(doc), "## Data subjects", ""]
    lines += _table(
        ("Dataset", "Who", "Identified by", "Identifier"),
        [
            (s["dataset"], s["who"], s["identified_by"], s["identifier_description"])
            for s in doc["data_subjects"]
        ],
    )
    lines += [*_categories(doc), *_recipients(doc), *_profiling(doc)]
    retention = doc["retention"]
    lines += [
        "## Transfers outside the EEA",
        "",
        _sentence(_cell(doc["transfers_outside_eea"])) + ".",
        "",
        "## Retention",
        "",
        *_table(
            ("Purpose", "Retention (days)"),
            [(r["purpose"], r["retention_days"]) for r in retention["records"]],
        ),
        f"{_sentence(_cell(retention['rule']))}; "
        f"{_cell(retention['operational_data'])}.",
        "",
        "## Safeguards",
        "",
        *_table(
            ("Measure", "Detail"),
            [(s["measure"], s["detail"]) for s in doc["safeguards"]],
        ),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
