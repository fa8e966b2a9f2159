"""`gateway linkage`: the privacy-preserving linkage encodings."""

from dataclasses import asdict

import typer

from gateway.cli.root import JsonOpt, emit, gateway_context, guarded
from gateway.linkage.backfill import BackfillReport, backfill

linkage_app = typer.Typer(
    help="Privacy-preserving linkage encodings.", no_args_is_help=True
)


@linkage_app.command("backfill")
def linkage_backfill(as_json: JsonOpt = False) -> None:
    """Encode records stored without linkage encodings (or under an old key).

    Reads each record's vault entry under its subject's key; erased subjects
    stay unencoded. Audited, one event per dataset.
    """
    reports: list[BackfillReport] = []

    def run() -> None:
        with gateway_context() as ctx:
            reports.extend(backfill(ctx))

    guarded(run)
    payload = {"datasets": [asdict(report) for report in reports]}
    text = "\n".join(
        f"{r.dataset}: {r.encoded} encoded, {r.without_key} without a key (erased)"
        for r in reports
    )
    emit(as_json, payload, text or "no dataset has linkage fields")
