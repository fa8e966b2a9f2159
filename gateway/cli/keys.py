"""`gateway keys`: key rotation."""

from typing import Annotated

import typer

from gateway.cli.root import JsonOpt, emit, fail, gateway_context, guarded
from gateway.errors import InvalidRequestError, KeyringError
from gateway.keys import KeyKind, RetireReport, RotationReport, retire_masters, rotate
from gateway.settings import get_settings

keys_app = typer.Typer(help="Key rotation.", no_args_is_help=True)


@keys_app.command("rotate")
def keys_rotate(
    kind: Annotated[KeyKind, typer.Option("--kind", help="Which key to rotate.")],
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Make no new key: finish moving stored data to the active key "
            "(after an interrupted rotation, or once every server restarted).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rotate one key; old data stays readable and old checkpoints verifiable."""
    reports: list[RotationReport] = []

    def run() -> None:
        settings = get_settings()
        if settings.keyring_json:
            raise KeyringError(
                "the keyring comes from GATEWAY_KEYRING_JSON: rotate a keyring file"
            )
        with gateway_context() as ctx:
            reports.append(rotate(ctx, kind, settings.keyring_path, resume=resume))

    guarded(run)
    report = reports[0]
    counts = ", ".join(f"{name} {value}" for name, value in report.counts.items())
    emit(
        as_json,
        report.document(),
        f"{report.kind} key {report.old_kid} -> {report.new_kid}"
        + (f": {counts}" if counts else ""),
    )
    if report.counts.get("failed"):
        raise fail(
            f"{report.counts['failed']} data keys could not be unwrapped and stay "
            "under their old master key"
        )


@keys_app.command("retire")
def keys_retire(
    kind: Annotated[
        KeyKind, typer.Option("--kind", help="Which key: master only.")
    ] = KeyKind.MASTER,
    as_json: JsonOpt = False,
) -> None:
    """Destroy old master keys no data key is wrapped under (restart servers first).

    Makes erasures final in backups taken before the rotation, and those
    backups unreadable.
    """
    reports: list[RetireReport] = []

    def run() -> None:
        if kind != KeyKind.MASTER:
            raise InvalidRequestError(
                f"{kind} keys are never retired: stored data and old "
                "checkpoints go by them for good"
            )
        settings = get_settings()
        if settings.keyring_json:
            raise KeyringError(
                "the keyring comes from GATEWAY_KEYRING_JSON: retire in a keyring file"
            )
        with gateway_context() as ctx:
            reports.append(retire_masters(ctx, settings.keyring_path))

    guarded(run)
    report = reports[0]
    emit(
        as_json,
        {
            "kind": "master",
            "retired": list(report.retired),
            "in_use": list(report.in_use),
        },
        f"retired: {', '.join(report.retired) or 'none'}"
        + (f"; still in use: {', '.join(report.in_use)}" if report.in_use else ""),
    )
