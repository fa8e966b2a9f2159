"""A retention report as a small table for people (the CLI without --json)."""

from rich.console import Console
from rich.table import Table

from gateway.retention.plan import iso
from gateway.retention.report import RetentionReport


def _rows(report: RetentionReport) -> list[tuple[str, str, str, int]]:
    """(kind, purpose, older than, count), per purpose where retention is."""
    plan = report.plan
    rows: list[tuple[str, str, str, int]] = []
    for purpose, cut in sorted(plan.purposes.items()):
        rows.append(("records", purpose, iso(cut), report.records.get(purpose, 0)))
    rows.append(("vault entries", "", "", report.vault_entries))
    rows.append(("data keys shredded", "", "", report.subjects_shredded))
    for purpose, cut in sorted(plan.purposes.items()):
        superseded = report.consent_events.get(purpose, 0)
        rows.append(("consent events (superseded)", purpose, iso(cut), superseded))
    rows.append(("idempotent responses", "", iso(plan.idempotency), report.idempotency))
    runs_cut = iso(plan.runs)
    rows.append(("pipeline runs", "", runs_cut, report.pipeline_runs))
    rows.append(("segments", "", runs_cut, report.segments))
    rows.append(("memberships", "", runs_cut, report.memberships))
    rows.append(("run entity keys", "", runs_cut, report.run_entity_keys))
    return rows


def render_report(report: RetentionReport) -> str:
    """The report as a text table, with a line on what was kept and why."""
    verb = "would delete" if report.dry_run else "deleted"
    table = Table(title=f"retention at {iso(report.plan.now)}: {verb}")
    for header, justify in (
        ("kind", "left"),
        ("purpose", "left"),
        ("older than", "left"),
        ("count", "right"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for kind, purpose, cut, count in _rows(report):
        table.add_row(kind, purpose, cut, str(count))
    console = Console(width=100, color_system=None, force_terminal=False)
    with console.capture() as captured:
        console.print(table)
        if report.records_without_policy:
            console.print(
                f"kept: {report.records_without_policy} record(s) under a purpose "
                "the policies no longer define (no retention to apply)"
            )
    return captured.get().rstrip("\n")
