"""`gateway retention`: delete what is kept past its time."""

from typing import Annotated

import typer

from gateway.cli.root import JsonOpt, emit, gateway_context, guarded
from gateway.retention import (
    RetentionConfig,
    RetentionReport,
    RetentionStores,
    run_retention,
)
from gateway.retention.text import render_report

retention_app = typer.Typer(
    help="Retention: delete what is past its purpose's retention.",
    no_args_is_help=True,
)


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Count what would go; change nothing."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete or crypto-shred what is past its retention; audited.

    Records past their purpose's retention_days since their last update (with
    vault entries and linkage encodings), data keys left protecting nothing,
    superseded old consent events, old idempotent responses, and old pipeline
    runs with their memberships (the latest run of each audience stays).
    """
    reports: list[RetentionReport] = []

    def run() -> None:
        with gateway_context() as ctx:
            settings = ctx.settings
            config = RetentionConfig(
                idempotency_days=settings.retention_idempotency_days,
                run_days=settings.retention_run_days,
                batch_size=settings.retention_batch_size,
            )
            stores = RetentionStores(ctx.sessions, ctx.read_sessions)
            reports.append(
                run_retention(
                    stores,
                    ctx.policies,
                    config,
                    ctx.clock,
                    ctx.checkpoint_signer,
                    dry_run=dry_run,
                )
            )

    guarded(run)
    emit(as_json, reports[0].document(), render_report(reports[0]))
