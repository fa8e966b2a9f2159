"""`gateway pii`: personal-data detection."""

import sys
from enum import StrEnum
from typing import Annotated

import typer

from gateway.cli.root import fail, guarded
from gateway.policy.loader import load_policies
from gateway.settings import get_settings

pii_app = typer.Typer(help="Personal-data detection.", no_args_is_help=True)


class PiiLanguage(StrEnum):
    """The languages `pii analyze` reads; auto detects each text's."""

    FR = "fr"
    EN = "en"
    AUTO = "auto"


@pii_app.command("analyze")
def pii_analyze(
    language: Annotated[
        PiiLanguage, typer.Option(help="Language of the texts; auto: per text.")
    ] = PiiLanguage.AUTO,
) -> None:
    """Read JSON lines {"id", "text"} on stdin; write {"id", "entities"} lines."""
    from gateway.pii.analyzer import load_analyzer  # noqa: PLC0415 - loads spaCy
    from gateway.pii.jsonl import LineError, chunks, format_result  # noqa: PLC0415

    def run() -> None:
        analyzer = load_analyzer(load_policies(get_settings().policies).pii)
        if language != PiiLanguage.AUTO and language not in analyzer.languages:
            raise fail(f"language: {language} is not enabled in policies/pii.yaml")
        try:
            for chunk in chunks(sys.stdin, analyzer.policy.batch_size * 4):
                found = analyzer.analyze_batch([t for _, t in chunk], language)
                for (item_id, _), spans in zip(chunk, found, strict=True):
                    typer.echo(format_result(item_id, spans))
        except LineError as exc:
            raise fail(str(exc)) from None

    guarded(run)
