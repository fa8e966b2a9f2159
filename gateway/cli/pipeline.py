"""`gateway pipeline`: the segmentation pipelines."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from gateway.cli.root import JsonOpt, emit, fail, gateway_context, guarded

pipeline_app = typer.Typer(help="Segmentation pipelines.", no_args_is_help=True)


@pipeline_app.command("run")
def pipeline_run(
    audience: str,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Directory for entities.parquet, segments.parquet, "
            "report.html, summary.json (default: $GATEWAY_HOME/runs/AUDIENCE).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random draw.")] = 20261123,
    as_json: JsonOpt = False,
) -> None:
    """Dedupe, features, segments, k-anonymity floor and export for an audience."""
    # Imported here: the pipelines pull in Polars and scikit-learn, which the
    # other commands (and `serve`'s workers) have no use for.
    from pipelines.run import STAGES, RunConfig, run_audience

    summaries: list[dict[str, Any]] = []
    console = Console(stderr=True)

    def run() -> None:
        with (
            gateway_context() as ctx,
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=as_json,
            ) as progress,
        ):
            target = out or ctx.settings.home / "runs" / audience
            task = progress.add_task("pipeline", total=len(STAGES))
            done: list[str] = []

            def advance(stage: str) -> None:
                if done:
                    progress.advance(task)
                done.append(stage)
                progress.update(task, description=stage)

            summaries.append(
                run_audience(ctx, audience, target, RunConfig(seed=seed), advance)
            )
            progress.update(task, completed=len(STAGES), description="done")
            summaries[0]["out"] = str(target)

    try:
        guarded(run)
    except ValueError as exc:
        raise fail(str(exc)) from None
    summary = summaries[0]
    text = (
        f"run {summary['run_id']}: {summary['counts']['entities']} people, "
        f"{summary['segments']} segments (k_min {summary['k_anonymity']['k_min']}); "
        f"report: {summary['out']}/report.html"
    )
    emit(as_json, summary, text)
