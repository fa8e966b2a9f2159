"""`gateway subjects`: data-subject requests (GDPR Art. 15, 17)."""

from typing import Annotated

import typer

from gateway.cli.root import JsonOpt, emit, gateway_context, guarded

subjects_app = typer.Typer(
    help="Data-subject requests (GDPR Art. 15, 17, 20), for the DPO.",
    no_args_is_help=True,
)


IdentifierTypeOpt = Annotated[
    str, typer.Option("--identifier-type", help="e.g. email, phone, customer_id.")
]


IdentifierOpt = Annotated[
    str, typer.Option("--identifier", help="The identifier's value, in clear.")
]


CLI_ACTOR = "cli"


@subjects_app.command("access")
def subjects_access(
    identifier_type: IdentifierTypeOpt,
    identifier: IdentifierOpt,
    as_json: JsonOpt = False,
) -> None:
    """Everything held about a subject, decrypted (also its portable copy)."""
    from gateway.subjects.access import access  # noqa: PLC0415

    def run() -> None:
        with gateway_context() as ctx:
            document = access(ctx, CLI_ACTOR, identifier_type, identifier)
        summary = (
            f"{len(document['subjects'])} subject(s), {len(document['records'])} "
            f"record(s), {len(document['consents'])} consent event(s), "
            f"{len(document['audit_events'])} audit event(s); --json for all of it"
        )
        emit(as_json, document, summary)

    guarded(run)


@subjects_app.command("erase")
def subjects_erase(
    identifier_type: IdentifierTypeOpt,
    identifier: IdentifierOpt,
    as_json: JsonOpt = False,
) -> None:
    """Crypto-shred and delete a subject; print the erasure receipt."""
    from gateway.subjects.erase import erase  # noqa: PLC0415

    def run() -> None:
        with gateway_context() as ctx:
            receipt = erase(ctx, CLI_ACTOR, identifier_type, identifier)
        deleted = ", ".join(f"{k} {v}" for k, v in receipt["deleted"].items())
        emit(
            as_json,
            receipt,
            f"erased {len(receipt['subjects'])} subject(s): {deleted}; audit event "
            f"{receipt['audit_event']['seq']} (--json for the receipt and its proof)",
        )

    guarded(run)


@subjects_app.command("reidentify")
def subjects_reidentify(
    subject_id: Annotated[str, typer.Argument(help="A subject pseudonym.")],
    justification: Annotated[
        str, typer.Option(help="Why the person behind it is needed (audited).")
    ],
    as_json: JsonOpt = False,
) -> None:
    """The identifiers behind a subject pseudonym; the justification is audited."""
    from gateway.subjects.reidentify import reidentify  # noqa: PLC0415

    def run() -> None:
        with gateway_context() as ctx:
            found = reidentify(ctx, CLI_ACTOR, subject_id, justification)
        lines = [
            f"{name}: {', '.join(values)}"
            for name, values in found["identifiers"].items()
        ]
        emit(as_json, found, "\n".join(lines) or "nothing held under this pseudonym")

    guarded(run)
