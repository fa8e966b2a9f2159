"""`gateway audit`: verify, checkpoint, witness, prove and export the audit trail."""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.audit import (
    VerifyReport,
    consistency_proof,
    export_canonical,
    inclusion_proof,
    verify,
)
from gateway.audit.checkpoints import (
    active_verifier_key,
    open_checkpoint,
    sign_checkpoint,
    verifier_keys,
)
from gateway.audit.cosignature import WitnessKey, WitnessPolicy
from gateway.audit.note import NoteError
from gateway.audit.witness import (
    Witnessed,
    gather_cosignatures,
    stored_proofs,
    urllib_post,
)
from gateway.bootstrap import read_keyring
from gateway.cli.root import JsonOpt, emit, fail, gateway_context, guarded
from gateway.errors import InvalidRequestError
from gateway.settings import get_settings
from gateway.storage.db import transaction

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint saved earlier: prove the log still holds its tree.",
        ),
    ] = None,
    witness_keys: Annotated[
        list[str] | None,
        typer.Option(
            "--witness-key",
            help="A trusted witness's vkey (name+keyid+base64(0x04 key)); repeat "
            "for each: the checkpoint must also carry their cosignatures.",
        ),
    ] = None,
    quorum: Annotated[
        int | None,
        typer.Option(
            "--quorum",
            help="How many of the --witness-key witnesses must have cosigned "
            "the checkpoint (default: all of them).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute the whole log; exit 1 naming the first bad event."""
    reports: list[VerifyReport] = []

    def run() -> None:
        policy = _witness_policy(witness_keys or [], quorum, checkpoint)
        with gateway_context() as ctx, transaction(ctx.read_sessions) as session:
            saved = None
            if checkpoint is not None:
                saved = open_checkpoint(_read_text(checkpoint), ctx.keyring, policy)
            reports.append(verify(session, ctx.read_sessions, saved))

    guarded(run)
    report = reports[0]
    if as_json:
        typer.echo(json.dumps(asdict(report)))
    elif report.ok:
        typer.echo(f"audit log intact: {report.size} events, root {report.root_hash}")
    if not report.ok:
        where = (
            f"at event {report.first_bad_seq}"
            if report.first_bad_seq is not None
            else "against the checkpoint"
        )
        raise fail(f"audit log broken {where}: {report.problem}")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(
            f"cannot read {path}: {exc.__class__.__name__}"
        ) from None


def _witness_policy(
    vkeys: list[str], quorum: int | None, checkpoint: Path | None
) -> WitnessPolicy | None:
    """The witnesses whose cosignatures `verify --checkpoint` requires, if any.

    The quorum defaults to every key given: naming a witness means trusting
    it to have seen this history, so fewer must be asked for explicitly.
    """
    if not vkeys:
        if quorum is not None:
            raise InvalidRequestError("--quorum needs --witness-key")
        return None
    if checkpoint is None:
        raise InvalidRequestError("--witness-key needs --checkpoint")
    try:
        keys = tuple(WitnessKey.parse(vkey) for vkey in vkeys)
        return WitnessPolicy(keys, len(keys) if quorum is None else quorum)
    except NoteError as exc:
        raise InvalidRequestError(f"--witness-key refused: {exc}") from None
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None


@audit_app.command("checkpoint")
def audit_checkpoint(as_json: JsonOpt = False) -> None:
    """Sign the tree head as a C2SP tlog-checkpoint note; keep it outside too."""

    def run() -> None:
        with gateway_context() as ctx, transaction(ctx.sessions) as session:
            signed = sign_checkpoint(session, ctx.checkpoint_signer, ctx.clock())
        emit(as_json, signed.document(), signed.note.rstrip("\n"))

    guarded(run)


@audit_app.command("witness")
def audit_witness(
    urls: Annotated[
        list[str],
        typer.Option(
            "--url",
            help="A C2SP tlog-witness submission prefix; repeat for each witness.",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the cosigned checkpoint note here."),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, help="Seconds to wait for each witness."),
    ] = 10.0,
    as_json: JsonOpt = False,
) -> None:
    """Sign the tree head and ask each witness to cosign it; exit 1 if one did not.

    The note keeps every cosignature obtained, so it is written even when a
    witness refused; `audit verify --witness-key ... --quorum N` decides later
    whether enough of them cosigned.
    """
    results: list[tuple[dict[str, Any], Witnessed]] = []

    def run() -> None:
        with gateway_context() as ctx:
            with transaction(ctx.sessions) as session:
                signed = sign_checkpoint(session, ctx.checkpoint_signer, ctx.clock())
            prove = stored_proofs(ctx.read_sessions, signed.tree_size)
            witnessed = gather_cosignatures(
                urls, signed.note, signed.tree_size, prove, urllib_post(timeout)
            )
        if out is not None:
            _write_text(out, witnessed.note)
        results.append((signed.document(), witnessed))

    guarded(run)
    document, witnessed = results[0]
    failures = witnessed.failures
    if as_json:
        witnesses = [
            {"witness": o.witness, "cosignatures": list(o.lines), "error": o.error}
            for o in witnessed.outcomes
        ]
        document |= {"checkpoint": witnessed.note, "witnesses": witnesses}
        typer.echo(json.dumps(document))
    elif out is None:
        typer.echo(witnessed.note.rstrip("\n"))
    else:
        cosigned = len(witnessed.outcomes) - len(failures)
        typer.echo(
            f"checkpoint of {document['tree_size']} events cosigned by {cosigned} "
            f"of {len(witnessed.outcomes)} witnesses, written to {out}",
            err=True,
        )
    if failures:
        reasons = "; ".join(str(f.error) for f in failures)
        raise fail(f"{len(failures)} witness(es) did not cosign: {reasons}")


def _write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot write {path}: {exc.__class__.__name__}"
        ) from None


@audit_app.command("public-key")
def audit_public_key(
    every: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every audit key, one per line, the active one first: "
            "checkpoints signed before a key rotation verify under the older keys.",
        ),
    ] = False,
) -> None:
    """The checkpoint verifier key, in C2SP signed-note vkey form."""

    def run() -> None:
        keyring = read_keyring(get_settings())
        active = active_verifier_key(keyring)
        older = [key for key in verifier_keys(keyring) if key != active]
        for key in [active, *older] if every else [active]:
            typer.echo(key.encoded())

    guarded(run)


@audit_app.command("proof")
def audit_proof(
    seq: Annotated[int, typer.Argument(help="The event's position, from 0.")],
    tree_size: Annotated[
        int | None, typer.Option("--tree-size", help="Prove against this size.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """RFC 6962 inclusion proof of one event (default: in the whole log)."""

    def run() -> None:
        with gateway_context() as ctx, transaction(ctx.read_sessions) as session:
            document = inclusion_proof(session, seq, tree_size).document()
        path = " ".join(document["audit_path"]) or "(empty)"
        emit(
            as_json,
            document,
            f"event {seq} in a tree of {document['tree_size']}: leaf "
            f"{document['leaf_hash']}, path {path}",
        )

    guarded(run)


@audit_app.command("consistency")
def audit_consistency(
    first: Annotated[int, typer.Argument(help="The older tree size.")],
    second: Annotated[int, typer.Argument(help="The newer tree size.")],
    as_json: JsonOpt = False,
) -> None:
    """RFC 6962 proof that the log of SECOND events extends the log of FIRST."""

    def run() -> None:
        with gateway_context() as ctx, transaction(ctx.read_sessions) as session:
            document = consistency_proof(session, first, second).document()
        emit(
            as_json,
            document,
            f"{first} -> {second}: " + (" ".join(document["proof"]) or "(empty)"),
        )

    guarded(run)


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
) -> None:
    """Every event's canonical bytes, one line each, in log order.

    The exact bytes that were hashed as each leaf: anyone can recompute the
    leaves, the tree and its root from this file alone.
    """
    counts: list[int] = []

    def run() -> None:
        with (
            gateway_context() as ctx,
            transaction(ctx.read_sessions) as session,
            out.open("wb") as sink,
        ):
            counts.append(export_canonical(session, sink))

    guarded(run)
    typer.echo(f"{counts[0]} events written to {out}", err=True)
