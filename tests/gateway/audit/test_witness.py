"""The tlog-witness client against real witness processes and a real log.

Each witness is `tests/support/witness_server.py` in its own process, written
from the C2SP texts apart from the gateway's note and cosignature code; the
log is a real database with its checkpoints signed by the keyring's key.
"""

import base64
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from gateway.audit import AuditEvent, append_events
from gateway.audit.checkpoints import (
    SignedCheckpoint,
    active_verifier_key,
    log_origin,
    open_checkpoint,
    sign_checkpoint,
)
from gateway.audit.cosignature import WitnessPolicy, cosignatures
from gateway.audit.note import Checkpoint, sign_note, verifier_key
from gateway.audit.witness import (
    Post,
    Reply,
    WitnessBadRequestError,
    WitnessConflictError,
    WitnessProofRefusedError,
    WitnessSignatureRefusedError,
    WitnessUnknownLogError,
    WitnessUnreachableError,
    add_checkpoint_body,
    gather_cosignatures,
    request_cosignatures,
    stored_proofs,
    urllib_post,
)
from gateway.context import GatewayContext
from gateway.errors import InvalidRequestError
from gateway.storage.db import transaction
from tests.databases import BOTH, gateway_context, throwaway_database
from tests.support.witnesses import RunningWitness, running_witness

pytestmark = pytest.mark.slow
# A log the witnesses may follow that is not the one under test.
OTHER_LOG_VKEY = verifier_key("other.example/log", bytes(32)).encoded()


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[ExitStack]:
    """Witness processes started by the test, all stopped at its end."""
    with ExitStack() as stack:
        yield stack


def _start(
    stack: ExitStack,
    directory: Path,
    name: str,
    log_vkey: str,
    state: dict[str, dict[str, object]] | None = None,
) -> RunningWitness:
    return stack.enter_context(running_witness(directory, name, [log_vkey], state))


def _append(ctx: GatewayContext, count: int, tag: str = "a") -> None:
    events = [
        AuditEvent("test", "record.accepted", details={tag: i}) for i in range(count)
    ]
    with transaction(ctx.sessions) as session:
        append_events(session, events, ctx.clock())


def _checkpoint(ctx: GatewayContext) -> SignedCheckpoint:
    with transaction(ctx.sessions) as session:
        return sign_checkpoint(session, ctx.checkpoint_signer, ctx.clock())


def _recording(statuses: list[int]) -> Post:
    post = urllib_post(10)

    def recorded(url: str, body: bytes) -> Reply:
        reply = post(url, body)
        statuses.append(reply.status)
        return reply

    return recorded


def _ask(
    ctx: GatewayContext,
    witness: RunningWitness,
    signed: SignedCheckpoint,
    post: Post | None = None,
    known_size: int = 0,
) -> list[str]:
    prove = stored_proofs(ctx.read_sessions, signed.tree_size)
    return request_cosignatures(
        witness.url,
        signed.note,
        signed.tree_size,
        prove,
        post or urllib_post(10),
        known_size,
    )


def _vkey(ctx: GatewayContext) -> str:
    return active_verifier_key(ctx.keyring).encoded()


def test_the_request_body_is_the_spec_layout() -> None:
    body = add_checkpoint_body(
        3, [b"\x01" * 32, b"\x02" * 32], "origin\n5\nR=\n\n— x y\n"
    )
    one, two = (base64.b64encode(bytes([i]) * 32).decode() for i in (1, 2))
    assert body == f"old 3\n{one}\n{two}\n\norigin\n5\nR=\n\n— x y\n".encode()
    assert add_checkpoint_body(0, [], "n\n") == b"old 0\n\nn\n"
    with pytest.raises(ValueError, match="63"):
        add_checkpoint_body(1, [b"\x00" * 32] * 64, "n\n")


@BOTH
def test_a_witness_cosigns_then_follows_the_log_through_a_409(
    fresh_ctx: GatewayContext, witnesses: ExitStack, tmp_path: Path
) -> None:
    witness = _start(witnesses, tmp_path, "witness.test/w1", _vkey(fresh_ctx))
    _append(fresh_ctx, 5)
    first = _checkpoint(fresh_ctx)
    statuses: list[int] = []
    lines = _ask(fresh_ctx, witness, first, post=_recording(statuses))
    assert statuses == [200]  # a new log: old 0 is what the witness holds
    [found] = cosignatures(first.note + lines[0] + "\n", [witness.key])
    origin = log_origin(fresh_ctx.keyring)
    assert witness.held()[origin]["size"] == 5

    _append(fresh_ctx, 4)
    later = _checkpoint(fresh_ctx)
    statuses.clear()
    lines = _ask(fresh_ctx, witness, later, post=_recording(statuses))
    # old 0 -> 409 with "5", then a proof 5 -> 9 that the witness checks.
    assert statuses == [409, 200]
    assert cosignatures(later.note + lines[0] + "\n", [witness.key])
    assert witness.held()[origin]["size"] == 9

    statuses.clear()
    _ask(fresh_ctx, witness, later, post=_recording(statuses), known_size=9)
    assert statuses == [200]  # the size it holds: no 409, same root re-cosigned


def test_a_witness_holding_a_larger_tree_is_reported_not_retried(
    fresh_ctx: GatewayContext, witnesses: ExitStack, tmp_path: Path
) -> None:
    origin = log_origin(fresh_ctx.keyring)
    seen = {origin: {"size": 100, "root": base64.b64encode(b"\x05" * 32).decode()}}
    witness = _start(witnesses, tmp_path, "witness.test/w1", _vkey(fresh_ctx), seen)
    _append(fresh_ctx, 3)
    statuses: list[int] = []
    with pytest.raises(WitnessConflictError, match="cosigned 100 events") as caught:
        _ask(fresh_ctx, witness, _checkpoint(fresh_ctx), post=_recording(statuses))
    assert statuses == [409]
    assert "rolled back" in caught.value.detail
    assert witness.held()[origin]["size"] == 100


@BOTH
@pytest.mark.parametrize("rewritten_size", [6, 9])
def test_a_witness_refuses_a_rewritten_history(
    fresh_ctx: GatewayContext,
    witnesses: ExitStack,
    tmp_path: Path,
    rewritten_size: int,
) -> None:
    witness = _start(witnesses, tmp_path / "w", "witness.test/w1", _vkey(fresh_ctx))
    _append(fresh_ctx, 6)
    _ask(fresh_ctx, witness, _checkpoint(fresh_ctx))
    # Another history signed under the same key: what an insider who rebuilt
    # the database (and its table of signed checkpoints) would show.
    backend = fresh_ctx.settings.database_url or ""
    with (
        throwaway_database(
            "postgres" if backend.startswith("postgresql") else "sqlite",
            tmp_path / "db2",
        ) as other_db,
        gateway_context(
            other_db, tmp_path / "home2", keyring=fresh_ctx.settings.keyring_path
        ) as forged,
    ):
        _append(forged, rewritten_size, tag="b")
        rewritten = _checkpoint(forged)
        statuses: list[int] = []
        with pytest.raises(WitnessProofRefusedError, match="422"):
            _ask(forged, witness, rewritten, post=_recording(statuses))
    assert statuses == [409, 422]
    assert witness.held()[log_origin(fresh_ctx.keyring)]["size"] == 6


def test_a_witness_refuses_a_checkpoint_the_log_key_did_not_sign(
    fresh_ctx: GatewayContext, witnesses: ExitStack, tmp_path: Path
) -> None:
    witness = _start(witnesses, tmp_path, "witness.test/w1", _vkey(fresh_ctx))
    _append(fresh_ctx, 2)
    real = _checkpoint(fresh_ctx)
    origin = log_origin(fresh_ctx.keyring)
    text = Checkpoint(origin, real.tree_size, real.root_hash).text()
    # The right name, another key: its key id differs, so the witness finds
    # no signature by the log's key.
    forged = SignedCheckpoint(
        real.tree_size, real.root_hash, sign_note(text, origin, b"\x09" * 32)
    )
    with pytest.raises(WitnessSignatureRefusedError, match="403"):
        _ask(fresh_ctx, witness, forged)


def test_a_witness_that_does_not_follow_the_log_says_404(
    fresh_ctx: GatewayContext, witnesses: ExitStack, tmp_path: Path
) -> None:
    witness = _start(witnesses, tmp_path, "witness.test/w1", OTHER_LOG_VKEY)
    _append(fresh_ctx, 2)
    with pytest.raises(WitnessUnknownLogError, match="does not follow this log"):
        _ask(fresh_ctx, witness, _checkpoint(fresh_ctx))


def test_two_of_three_witnesses_make_the_quorum_and_one_refusal_is_reported(
    fresh_ctx: GatewayContext, witnesses: ExitStack, tmp_path: Path
) -> None:
    vkey = _vkey(fresh_ctx)
    following = [
        _start(witnesses, tmp_path, f"witness.test/w{i}", vkey) for i in (1, 2)
    ]
    stranger = _start(witnesses, tmp_path, "witness.test/w3", OTHER_LOG_VKEY)
    trio = [*following, stranger]
    _append(fresh_ctx, 7)
    signed = _checkpoint(fresh_ctx)
    prove = stored_proofs(fresh_ctx.read_sessions, signed.tree_size)
    witnessed = gather_cosignatures(
        [w.url for w in trio], signed.note, signed.tree_size, prove, urllib_post(10)
    )
    assert [o.error is None for o in witnessed.outcomes] == [True, True, False]
    assert "404" in (witnessed.failures[0].error or "")
    keys = tuple(w.key for w in trio)
    opened = open_checkpoint(witnessed.note, fresh_ctx.keyring, WitnessPolicy(keys, 2))
    assert opened.tree_size == 7
    with pytest.raises(InvalidRequestError, match="2 of 3 trusted witnesses"):
        open_checkpoint(witnessed.note, fresh_ctx.keyring, WitnessPolicy(keys, 3))


def test_an_unreachable_witness_is_named_by_host_only(
    fresh_ctx: GatewayContext,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens there any more.
    _append(fresh_ctx, 1)
    signed = _checkpoint(fresh_ctx)
    url = f"http://operator:s3cret@127.0.0.1:{port}/private/path"
    with pytest.raises(WitnessUnreachableError) as caught:
        request_cosignatures(
            url, signed.note, signed.tree_size, lambda _: [], urllib_post(2)
        )
    assert f"127.0.0.1:{port}" in caught.value.detail
    for secret in ("operator", "s3cret", "private"):
        assert secret not in caught.value.detail


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://host/x", "witness"])
def test_only_http_witness_urls_are_used(url: str) -> None:
    with pytest.raises(WitnessBadRequestError, match="http or https"):
        request_cosignatures(url, "n\n", 0, lambda _: [], urllib_post(1))
