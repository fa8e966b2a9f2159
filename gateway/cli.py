"""The `gateway` command: one typer sub-app per area."""

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

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
from gateway.auth.clients import create_client, revoke_client
from gateway.bootstrap import (
    build_context,
    initialise,
    read_keyring,
    record_policy_version,
)
from gateway.consent.tcf import decode_tc_string
from gateway.consent.tcf_proof import v23_refusal
from gateway.context import GatewayContext
from gateway.errors import GatewayError, InvalidRequestError, KeyringError
from gateway.keys import (
    KeyKind,
    RetireReport,
    RotationReport,
    retire_masters,
    rotate,
)
from gateway.linkage.backfill import BackfillReport, backfill
from gateway.policy.loader import load_policies
from gateway.policy.register import build_register
from gateway.policy.register_md import render_markdown
from gateway.retention import (
    RetentionConfig,
    RetentionReport,
    RetentionStores,
    run_retention,
)
from gateway.retention.text import render_report
from gateway.settings import get_settings
from gateway.storage import migrate
from gateway.storage.db import transaction

app = typer.Typer(
    help="Consent Gateway: consent-checked, pseudonymizing ingestion.",
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
)
clients_app = typer.Typer(
    help="API clients: partners, destinations, DPOs.", no_args_is_help=True
)
policies_app = typer.Typer(help="The policy directory.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
consent_app = typer.Typer(help="Consent tools.", no_args_is_help=True)
linkage_app = typer.Typer(
    help="Privacy-preserving linkage encodings.", no_args_is_help=True
)
app.add_typer(clients_app, name="clients")
app.add_typer(policies_app, name="policies")
app.add_typer(audit_app, name="audit")
app.add_typer(consent_app, name="consent")
app.add_typer(linkage_app, name="linkage")
pipeline_app = typer.Typer(help="Segmentation pipelines.", no_args_is_help=True)
app.add_typer(pipeline_app, name="pipeline")
pii_app = typer.Typer(help="Personal-data detection.", no_args_is_help=True)
app.add_typer(pii_app, name="pii")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    typer.echo(json.dumps(payload) if as_json else text)


@contextmanager
def _context() -> Iterator[GatewayContext]:
    ctx = build_context(get_settings())
    try:
        yield ctx
    finally:
        ctx.dispose()


def _guarded(action: Callable[[], None]) -> None:
    try:
        action()
    except GatewayError as exc:
        raise _fail(exc.detail) from None


@app.command()
def init(as_json: JsonOpt = False) -> None:
    """Create the data directory and keyring if absent, migrate, check policies."""

    def run() -> None:
        report = initialise(get_settings())
        _emit(
            as_json,
            asdict(report),
            f"initialised {report.home} (database {report.database}, "
            f"policy {report.policy_version[:19]})",
        )

    _guarded(run)


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
        with _context() as ctx:
            if not migrate.is_current(ctx.engine):
                raise _fail("the database is not migrated to head: run `gateway init`")
            # Policies edited since `gateway init` are a new version: audit it.
            with transaction(ctx.sessions) as session:
                record_policy_version(session, ctx, "cli")

    _guarded(check)
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
        with _context() as ctx, transaction(ctx.sessions) as session:
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
        _emit(as_json, payload, f"client_id: {made.client_id}\napi_key: {made.api_key}")

    _guarded(run)


@clients_app.command("revoke")
def clients_revoke(name: str, as_json: JsonOpt = False) -> None:
    """Revoke a client's key and tokens at once."""

    def run() -> None:
        with _context() as ctx, transaction(ctx.sessions) as session:
            client_id = revoke_client(session, ctx, name)
        _emit(as_json, {"client_id": client_id, "revoked": True}, f"revoked {name}")

    _guarded(run)


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
        _emit(as_json, payload, f"policies valid: {policies.version}")

    _guarded(run)


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
        with _context() as ctx, transaction(ctx.read_sessions) as session:
            saved = None
            if checkpoint is not None:
                saved = open_checkpoint(_read_text(checkpoint), ctx.keyring, policy)
            reports.append(verify(session, ctx.read_sessions, saved))

    _guarded(run)
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
        raise _fail(f"audit log broken {where}: {report.problem}")


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
        with _context() as ctx, transaction(ctx.sessions) as session:
            signed = sign_checkpoint(session, ctx.checkpoint_signer, ctx.clock())
        _emit(as_json, signed.document(), signed.note.rstrip("\n"))

    _guarded(run)


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
        with _context() as ctx:
            with transaction(ctx.sessions) as session:
                signed = sign_checkpoint(session, ctx.checkpoint_signer, ctx.clock())
            prove = stored_proofs(ctx.read_sessions, signed.tree_size)
            witnessed = gather_cosignatures(
                urls, signed.note, signed.tree_size, prove, urllib_post(timeout)
            )
        if out is not None:
            _write_text(out, witnessed.note)
        results.append((signed.document(), witnessed))

    _guarded(run)
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
        raise _fail(f"{len(failures)} witness(es) did not cosign: {reasons}")


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

    _guarded(run)


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
        with _context() as ctx, transaction(ctx.read_sessions) as session:
            document = inclusion_proof(session, seq, tree_size).document()
        path = " ".join(document["audit_path"]) or "(empty)"
        _emit(
            as_json,
            document,
            f"event {seq} in a tree of {document['tree_size']}: leaf "
            f"{document['leaf_hash']}, path {path}",
        )

    _guarded(run)


@audit_app.command("consistency")
def audit_consistency(
    first: Annotated[int, typer.Argument(help="The older tree size.")],
    second: Annotated[int, typer.Argument(help="The newer tree size.")],
    as_json: JsonOpt = False,
) -> None:
    """RFC 6962 proof that the log of SECOND events extends the log of FIRST."""

    def run() -> None:
        with _context() as ctx, transaction(ctx.read_sessions) as session:
            document = consistency_proof(session, first, second).document()
        _emit(
            as_json,
            document,
            f"{first} -> {second}: " + (" ".join(document["proof"]) or "(empty)"),
        )

    _guarded(run)


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
            _context() as ctx,
            transaction(ctx.read_sessions) as session,
            out.open("wb") as sink,
        ):
            counts.append(export_canonical(session, sink))

    _guarded(run)
    typer.echo(f"{counts[0]} events written to {out}", err=True)


@linkage_app.command("backfill")
def linkage_backfill(as_json: JsonOpt = False) -> None:
    """Encode records stored without linkage encodings (or under an old key).

    Reads each record's vault entry under its subject's key; erased subjects
    stay unencoded. Audited, one event per dataset.
    """
    reports: list[BackfillReport] = []

    def run() -> None:
        with _context() as ctx:
            reports.extend(backfill(ctx))

    _guarded(run)
    payload = {"datasets": [asdict(report) for report in reports]}
    text = "\n".join(
        f"{r.dataset}: {r.encoded} encoded, {r.without_key} without a key (erased)"
        for r in reports
    )
    _emit(as_json, payload, text or "no dataset has linkage fields")


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
            _context() as ctx,
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
        _guarded(run)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    summary = summaries[0]
    text = (
        f"run {summary['run_id']}: {summary['counts']['entities']} people, "
        f"{summary['segments']} segments (k_min {summary['k_anonymity']['k_min']}); "
        f"report: {summary['out']}/report.html"
    )
    _emit(as_json, summary, text)


@consent_app.command("decode-tcf")
def consent_decode_tcf(tc_string: str, as_json: JsonOpt = False) -> None:
    """Decode an IAB TCF v2 TC string, every segment.

    `v2_3_refusal` is null for a string TCF v2.3 accepts, else the rule it
    breaks and why (consent events refuse such strings).
    """

    def run() -> None:
        tc = decode_tc_string(tc_string)
        refusal = v23_refusal(tc)
        decoded = tc.as_dict() | {
            "v2_3_refusal": None
            if refusal is None
            else {"rule": refusal.rule, "message": refusal.message}
        }
        lines = [f"{key}: {value}" for key, value in decoded.items()]
        _emit(as_json, decoded, "\n".join(lines))

    _guarded(run)


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
            raise _fail(f"language: {language} is not enabled in policies/pii.yaml")
        try:
            for chunk in chunks(sys.stdin, analyzer.policy.batch_size * 4):
                found = analyzer.analyze_batch([t for _, t in chunk], language)
                for (item_id, _), spans in zip(chunk, found, strict=True):
                    typer.echo(format_result(item_id, spans))
        except LineError as exc:
            raise _fail(str(exc)) from None

    _guarded(run)


subjects_app = typer.Typer(
    help="Data-subject requests (GDPR Art. 15, 17, 20), for the DPO.",
    no_args_is_help=True,
)
app.add_typer(subjects_app, name="subjects")
IdentifierTypeOpt = Annotated[
    str, typer.Option("--identifier-type", help="e.g. email, phone, customer_id.")
]
IdentifierOpt = Annotated[
    str, typer.Option("--identifier", help="The identifier's value, in clear.")
]
# The CLI runs on the gateway's host with its keyring: whoever runs it acts
# as the DPO, and the audit log names the channel.
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
        with _context() as ctx:
            document = access(ctx, CLI_ACTOR, identifier_type, identifier)
        summary = (
            f"{len(document['subjects'])} subject(s), {len(document['records'])} "
            f"record(s), {len(document['consents'])} consent event(s), "
            f"{len(document['audit_events'])} audit event(s); --json for all of it"
        )
        _emit(as_json, document, summary)

    _guarded(run)


@subjects_app.command("erase")
def subjects_erase(
    identifier_type: IdentifierTypeOpt,
    identifier: IdentifierOpt,
    as_json: JsonOpt = False,
) -> None:
    """Crypto-shred and delete a subject; print the erasure receipt."""
    from gateway.subjects.erase import erase  # noqa: PLC0415

    def run() -> None:
        with _context() as ctx:
            receipt = erase(ctx, CLI_ACTOR, identifier_type, identifier)
        deleted = ", ".join(f"{k} {v}" for k, v in receipt["deleted"].items())
        _emit(
            as_json,
            receipt,
            f"erased {len(receipt['subjects'])} subject(s): {deleted}; audit event "
            f"{receipt['audit_event']['seq']} (--json for the receipt and its proof)",
        )

    _guarded(run)


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
        with _context() as ctx:
            found = reidentify(ctx, CLI_ACTOR, subject_id, justification)
        lines = [
            f"{name}: {', '.join(values)}"
            for name, values in found["identifiers"].items()
        ]
        _emit(as_json, found, "\n".join(lines) or "nothing held under this pseudonym")

    _guarded(run)


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

    _guarded(run)


retention_app = typer.Typer(
    help="Retention: delete what is past its purpose's retention.",
    no_args_is_help=True,
)
app.add_typer(retention_app, name="retention")


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
        with _context() as ctx:
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

    _guarded(run)
    _emit(as_json, reports[0].document(), render_report(reports[0]))


keys_app = typer.Typer(help="Key rotation.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


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
        with _context() as ctx:
            reports.append(rotate(ctx, kind, settings.keyring_path, resume=resume))

    _guarded(run)
    report = reports[0]
    counts = ", ".join(f"{name} {value}" for name, value in report.counts.items())
    _emit(
        as_json,
        report.document(),
        f"{report.kind} key {report.old_kid} -> {report.new_kid}"
        + (f": {counts}" if counts else ""),
    )
    if report.counts.get("failed"):
        raise _fail(
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
        with _context() as ctx:
            reports.append(retire_masters(ctx, settings.keyring_path))

    _guarded(run)
    report = reports[0]
    _emit(
        as_json,
        {
            "kind": "master",
            "retired": list(report.retired),
            "in_use": list(report.in_use),
        },
        f"retired: {', '.join(report.retired) or 'none'}"
        + (f"; still in use: {', '.join(report.in_use)}" if report.in_use else ""),
    )


def main() -> None:
    """Entry point of the `gateway` script."""
    try:
        app()
    except GatewayError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        sys.exit(1)
