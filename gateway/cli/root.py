"""The root `gateway` command and what every area's commands share."""

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from gateway.bootstrap import build_context
from gateway.context import GatewayContext
from gateway.errors import GatewayError
from gateway.settings import get_settings

app = typer.Typer(
    help="Consent Gateway: consent-checked, pseudonymizing ingestion.",
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Say what went wrong on stderr; the exit to raise, with `code`."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    """Print the JSON document with --json, else the text for a person."""
    typer.echo(json.dumps(payload) if as_json else text)


@contextmanager
def gateway_context() -> Iterator[GatewayContext]:
    """The gateway's context from the settings, disposed of on the way out."""
    ctx = build_context(get_settings())
    try:
        yield ctx
    finally:
        ctx.dispose()


def guarded(action: Callable[[], None]) -> None:
    """Run `action`; a `GatewayError` becomes an error message and exit 1."""
    try:
        action()
    except GatewayError as exc:
        raise fail(exc.detail) from None


def main() -> None:
    """Entry point of the `gateway` script."""
    try:
        app()
    except GatewayError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        sys.exit(1)
