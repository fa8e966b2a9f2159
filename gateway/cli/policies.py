"""`gateway policies`: check the policy directory, and the record of processing."""

import json
from enum import StrEnum
from typing import Annotated

import typer

from gateway.cli.root import JsonOpt, emit, guarded
from gateway.policy.loader import load_policies
from gateway.policy.register import build_register
from gateway.policy.register_md import render_markdown
from gateway.settings import get_settings

policies_app = typer.Typer(help="The policy directory.", no_args_is_help=True)


@policies_app.command("check")
def policies_check(as_json: JsonOpt = False) -> None:
    """Validate the policy directory; errors name file, line and field."""

    def run() -> None:
        policies = load_policies(get_settings().policies)
        payload = {
            "version": policies.version,
            "purposes": sorted(policies.purposes),
            "datasets": sorted(policies.datasets),
            "audiences": sorted(policies.audiences),
        }
        emit(as_json, payload, f"policies valid: {policies.version}")

    guarded(run)


class RegisterFormat(StrEnum):
    """How `policies register` writes the record of processing."""

    MD = "md"
    JSON = "json"


@policies_app.command("register")
def policies_register(
    output_format: Annotated[
        RegisterFormat, typer.Option("--format", help="md (Markdown) or json.")
    ] = RegisterFormat.MD,
) -> None:
    """The record of processing activities (GDPR Art. 30), from the policies."""

    def run() -> None:
        document = build_register(load_policies(get_settings().policies))
        if output_format == RegisterFormat.JSON:
            typer.echo(json.dumps(document, indent=2))
        else:
            typer.echo(render_markdown(document), nl=False)

    guarded(run)
