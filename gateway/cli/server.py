"""`gateway init` and `gateway serve`."""

import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from gateway.bootstrap import initialise, record_policy_version
from gateway.cli.root import JsonOpt, app, emit, fail, gateway_context, guarded
from gateway.settings import get_settings
from gateway.storage import migrate
from gateway.storage.db import transaction


@app.command()
def init(as_json: JsonOpt = False) -> None:
    """Create the data directory and keyring if absent, migrate, check policies."""

    def run() -> None:
        report = initialise(get_settings())
        emit(
            as_json,
            asdict(report),
            f"initialised {report.home} (database {report.database}, "
            f"policy {report.policy_version[:19]})",
        )

    guarded(run)


def _share_metrics(directory: Path) -> None:
    """Let every worker write its metrics where /metrics can sum them."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    # Read by prometheus_client when each spawned worker imports it.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""

    def check() -> None:
        # Fail fast, before forking workers, when keys, policies or schema are off.
        with gateway_context() as ctx:
            if not migrate.is_current(ctx.engine):
                raise fail("the database is not migrated to head: run `gateway init`")
            # Policies edited since `gateway init` are a new version: audit it.
            with transaction(ctx.sessions) as session:
                record_policy_version(session, ctx, "cli")

    guarded(check)
    if workers > 1:
        _share_metrics(get_settings().home / "metrics")
    uvicorn.run(
        "gateway.main:app_from_settings",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
    )
