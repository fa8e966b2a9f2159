"""Signed checkpoints against the attacks a database superuser can make.

Each attack is made behind the gateway's back, guards dropped, and must fail
`verify` against a checkpoint saved before it, or stop the gateway from
signing a checkpoint inconsistent with the last one.
"""

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, append_events, verify
from gateway.audit.checkpoints import (
    log_origin,
    open_checkpoint,
    sign_checkpoint,
    verifier_keys,
)
from gateway.audit.merkle import Frontier, extend_with_completed, frontier_root
from gateway.audit.note import Checkpoint, sign_note
from gateway.audit.proofs import AuditLogError
from gateway.context import GatewayContext
from gateway.crypto.keyring import KeyPurpose
from gateway.errors import ConflictError, InvalidRequestError
from gateway.storage.db import transaction
from tests.databases import BOTH

GUARDED = ("audit_events", "audit_nodes", "audit_checkpoints")


def _append(ctx: GatewayContext, count: int) -> None:
    events = [
        AuditEvent("test", "record.accepted", details={"i": i}) for i in range(count)
    ]
    with transaction(ctx.sessions) as session:
        append_events(session, events, ctx.clock())


def _checkpoint(ctx: GatewayContext) -> str:
    with transaction(ctx.sessions) as session:
        return sign_checkpoint(session, ctx.checkpoint_signer, ctx.clock()).note


def _verify(ctx: GatewayContext, note: str) -> tuple[bool, str | None]:
    saved = open_checkpoint(note, ctx.keyring)
    with transaction(ctx.read_sessions) as session:
        report = verify(session, ctx.read_sessions, saved)
    return report.ok, report.problem


def _unguarded(session: Session) -> None:
    """What a superuser can do: switch off the append-only triggers."""
    if session.bind.dialect.name == "postgresql":
        for table in GUARDED:
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        names = session.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        ).scalars()
        for name in list(names):
            session.execute(text(f"DROP TRIGGER {name}"))


def _rewind(ctx: GatewayContext, size: int) -> None:
    """Truncate the log to `size` events and rewrite the head and the tree to
    match, as a careful attacker would: the chain and the root then agree."""
    with transaction(ctx.sessions) as session:
        _unguarded(session)
        session.execute(text("DELETE FROM audit_events WHERE seq >= :n"), {"n": size})
        leaves = [
            bytes(h)
            for h in session.execute(
                text("SELECT leaf_hash FROM audit_events ORDER BY seq")
            ).scalars()
        ]
        chain = session.execute(
            text("SELECT chain_hash FROM audit_events WHERE seq = :s"), {"s": size - 1}
        ).scalar_one()
        frontier, _ = extend_with_completed(Frontier(), leaves)
        session.execute(
            text("DELETE FROM audit_nodes WHERE (idx + 1) * (1 << level) > :n"),
            {"n": size},
        )
        session.execute(
            text(
                "UPDATE audit_head SET size = :n, chain_hash = :c, root_hash = :r,"
                " frontier = :f"
            ),
            {
                "n": size,
                "c": chain,
                "r": frontier_root(frontier),
                "f": frontier.to_bytes(),
            },
        )


@BOTH
def test_a_checkpoint_verifies_while_the_log_only_grows(
    fresh_ctx: GatewayContext,
) -> None:
    _append(fresh_ctx, 7)
    note = _checkpoint(fresh_ctx)
    assert note.startswith(log_origin(fresh_ctx.keyring) + "\n7\n")
    assert _verify(fresh_ctx, note) == (True, None)
    _append(fresh_ctx, 10)
    assert _verify(fresh_ctx, note) == (True, None)
    later = _checkpoint(fresh_ctx)
    assert _verify(fresh_ctx, later) == (True, None)
    # Asked again with nothing new: the same checkpoint, not a second signature.
    assert _checkpoint(fresh_ctx) == later


@BOTH
def test_tail_truncation_with_the_head_rewound_fails(fresh_ctx: GatewayContext) -> None:
    _append(fresh_ctx, 12)
    note = _checkpoint(fresh_ctx)
    _rewind(fresh_ctx, 9)
    with transaction(fresh_ctx.read_sessions) as session:
        assert verify(session).ok  # consistent on its own: only the checkpoint tells
    ok, problem = _verify(fresh_ctx, note)
    assert not ok
    assert "fewer than the checkpoint" in (problem or "")
    # Nor will the gateway sign the shorter tree after the longer one.
    with pytest.raises(ConflictError):
        _checkpoint(fresh_ctx)


@BOTH
def test_a_replayed_old_checkpoint_does_not_cover_a_rollback(
    fresh_ctx: GatewayContext,
) -> None:
    """The attacker rolls the log back, deletes the newer checkpoints and
    shows the old checkpoint that matches: true as far as it goes, but the
    newer checkpoint kept outside fails, and so does the fork signed next."""
    _append(fresh_ctx, 7)
    old = _checkpoint(fresh_ctx)
    _append(fresh_ctx, 10)
    kept = _checkpoint(fresh_ctx)
    _rewind(fresh_ctx, 7)
    with transaction(fresh_ctx.sessions) as session:
        session.execute(text("DELETE FROM audit_checkpoints WHERE tree_size > 7"))
    assert _verify(fresh_ctx, old) == (True, None)  # the replay itself holds
    ok, problem = _verify(fresh_ctx, kept)
    assert not ok
    assert "fewer than the checkpoint" in (problem or "")
    # The gateway, shown only the old checkpoint, grows a fork from it: the
    # checkpoint kept outside tells it apart however long the fork gets.
    _append(fresh_ctx, 12)
    fork = _checkpoint(fresh_ctx)
    assert _verify(fresh_ctx, fork) == (True, None)
    ok, problem = _verify(fresh_ctx, kept)
    assert not ok
    assert problem is not None


@BOTH
def test_a_rewritten_history_fails_even_when_it_is_longer(
    fresh_ctx: GatewayContext,
) -> None:
    _append(fresh_ctx, 6)
    note = _checkpoint(fresh_ctx)
    _rewind(fresh_ctx, 4)
    _append(fresh_ctx, 5)  # 9 events: longer, but events 4 and 5 differ
    ok, problem = _verify(fresh_ctx, note)
    assert not ok
    assert "rewritten" in (problem or "")
    with pytest.raises(ConflictError):
        _checkpoint(fresh_ctx)


@BOTH
@pytest.mark.parametrize(
    "attack",
    [
        "UPDATE audit_events SET canonical = :flipped WHERE seq = 3",
        "DELETE FROM audit_events WHERE seq = 3",
    ],
    ids=["flipped-bit", "deleted-middle-row"],
)
def test_a_changed_or_missing_event_fails(
    fresh_ctx: GatewayContext, attack: str
) -> None:
    _append(fresh_ctx, 8)
    note = _checkpoint(fresh_ctx)
    with transaction(fresh_ctx.sessions) as session:
        canonical = session.execute(
            text("SELECT canonical FROM audit_events WHERE seq = 3")
        ).scalar_one()
        flipped = bytes([canonical[0] ^ 0x01]) + bytes(canonical[1:])
        _unguarded(session)
        session.execute(text(attack), {"flipped": flipped})
    ok, _ = _verify(fresh_ctx, note)
    assert not ok


@BOTH
def test_an_edited_head_row_is_refused_for_signing(fresh_ctx: GatewayContext) -> None:
    _append(fresh_ctx, 5)
    with transaction(fresh_ctx.sessions) as session:
        session.execute(text("UPDATE audit_head SET root_hash = :r"), {"r": bytes(32)})
    with pytest.raises(ConflictError, match="head's root"):
        _checkpoint(fresh_ctx)
    with transaction(fresh_ctx.read_sessions) as session:
        assert not verify(session).ok


def test_a_checkpoint_signed_by_another_key_is_refused(
    fresh_ctx: GatewayContext,
) -> None:
    _append(fresh_ctx, 3)
    origin = log_origin(fresh_ctx.keyring)
    forged = sign_note(Checkpoint(origin, 3, bytes(32)).text(), origin, os.urandom(32))
    with pytest.raises(InvalidRequestError, match="trusted"):
        open_checkpoint(forged, fresh_ctx.keyring)


def test_checkpoints_of_a_rotated_key_still_verify(fresh_ctx: GatewayContext) -> None:
    _append(fresh_ctx, 3)
    old_note = _checkpoint(fresh_ctx)
    rotated = fresh_ctx.keyring.rotate(KeyPurpose.AUDIT_SIGNING, datetime.now(UTC))
    assert log_origin(rotated) == log_origin(fresh_ctx.keyring)
    assert len(verifier_keys(rotated)) == 2
    assert open_checkpoint(old_note, rotated).tree_size == 3


@BOTH
def test_every_signed_batch_leaves_a_checkpoint_of_its_tree(
    fresh_ctx: GatewayContext,
) -> None:
    for count in (3, 5, 16):
        events = [AuditEvent("test", "record.accepted") for _ in range(count)]
        with transaction(fresh_ctx.sessions) as session:
            append_events(
                session, events, fresh_ctx.clock(), fresh_ctx.checkpoint_signer
            )
    with transaction(fresh_ctx.read_sessions) as session:
        notes = session.execute(
            text("SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size")
        ).all()
    sizes = [size for size, _ in notes]
    assert sizes[-3:] == [sizes[-1] - 21, sizes[-1] - 16, sizes[-1]]
    for _, note in notes:
        assert _verify(fresh_ctx, note) == (True, None)


@BOTH
def test_a_signed_append_onto_a_rewritten_head_is_refused(
    fresh_ctx: GatewayContext,
) -> None:
    _append(fresh_ctx, 4)
    _checkpoint(fresh_ctx)
    _rewind(fresh_ctx, 2)  # self-consistent head, but not the signed tree
    events = [AuditEvent("test", "record.accepted")]
    with (
        pytest.raises(AuditLogError, match="last signed checkpoint"),
        transaction(fresh_ctx.sessions) as session,
    ):
        append_events(session, events, fresh_ctx.clock(), fresh_ctx.checkpoint_signer)
    with transaction(fresh_ctx.sessions) as session:
        session.execute(text("UPDATE audit_head SET root_hash = :r"), {"r": bytes(32)})
    with (
        pytest.raises(AuditLogError, match="frontier"),
        transaction(fresh_ctx.sessions) as session,
    ):
        append_events(session, events, fresh_ctx.clock())
