"""`gateway clients`: API clients (partners, destinations, DPOs)."""

from typing import Annotated

import typer

from gateway.auth.clients import create_client, revoke_client
from gateway.cli.root import JsonOpt, emit, gateway_context, guarded
from gateway.storage.db import transaction

clients_app = typer.Typer(
    help="API clients: partners, destinations, DPOs.", no_args_is_help=True
)


@clients_app.command("add")
def clients_add(
    name: str,
    role: Annotated[str, typer.Option(help="partner, destination or dpo.")],
    dataset: Annotated[list[str] | None, typer.Option(help="Dataset granted.")] = None,
    purpose: Annotated[list[str] | None, typer.Option(help="Purpose granted.")] = None,
    audience: Annotated[
        list[str] | None, typer.Option(help="Audience granted.")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Default phone region (ISO 3166), e.g. FR.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a client; its API key is printed once (only a hash is stored)."""

    def run() -> None:
        with gateway_context() as ctx, transaction(ctx.sessions) as session:
            made = create_client(
                session,
                ctx,
                name,
                role,
                dataset or [],
                purpose or [],
                audience or [],
                region,
            )
        payload = {"client_id": made.client_id, "api_key": made.api_key}
        emit(as_json, payload, f"client_id: {made.client_id}\napi_key: {made.api_key}")

    guarded(run)


@clients_app.command("revoke")
def clients_revoke(name: str, as_json: JsonOpt = False) -> None:
    """Revoke a client's key and tokens at once."""

    def run() -> None:
        with gateway_context() as ctx, transaction(ctx.sessions) as session:
            client_id = revoke_client(session, ctx, name)
        emit(as_json, {"client_id": client_id, "revoked": True}, f"revoked {name}")

    guarded(run)
