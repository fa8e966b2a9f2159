"""Rotate one key of the keyring and bring the stored data over to it (audited).

The steps are ordered so that a crash at any point loses nothing:

1. Under an exclusive lock on the keyring file, the keyring is read afresh
   (never a copy loaded earlier, which would drop a key another rotation
   made), the new key is made active, the old one kept inactive, and the
   file replaced atomically. Every key a stored row names stays readable.
2. The stored data moves to the new key in batches that each commit, and
   that a re-run with `resume` finishes: rows already under the new key are
   not touched again (master: data keys rewrapped; pseudonym: record
   identifiers re-keyed from the vault; linkage: encodings made again from
   the vault; audit: nothing to move).
3. One `keys.rotated` audit event gives the kind, the old and new key ids
   and the counts (never key material), appended with the new keyring's
   signer: after an audit key rotation, its checkpoint is the first one the
   new key signs.

A server started before the rotation keeps its keyring in memory until it
is restarted; what it writes meanwhile stays readable (see README).
"""

import dataclasses
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from gateway.audit import AuditEvent, append_events
from gateway.context import GatewayContext
from gateway.crypto.keyring import Key, KeyPurpose, Keyring, load_keyring, save_keyring
from gateway.errors import ConflictError, InvalidRequestError
from gateway.keys.rekey import rekey_records
from gateway.keys.rewrap import rewrap_all
from gateway.linkage.backfill import backfill
from gateway.storage.db import transaction


class KeyKind(StrEnum):
    """The keys `gateway keys rotate` rotates."""

    MASTER = "master"
    PSEUDONYM = "pseudonym"
    LINKAGE = "linkage"
    AUDIT = "audit"


PURPOSES: dict[KeyKind, KeyPurpose] = {
    KeyKind.MASTER: KeyPurpose.MASTER,
    KeyKind.PSEUDONYM: KeyPurpose.PSEUDONYM,
    KeyKind.LINKAGE: KeyPurpose.LINKAGE,
    KeyKind.AUDIT: KeyPurpose.AUDIT_SIGNING,
}


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What a rotation did: key ids and counts, never key material."""

    kind: KeyKind
    old_kid: str
    new_kid: str
    resumed: bool
    counts: dict[str, int] = field(default_factory=dict)

    def document(self) -> dict[str, object]:
        """The `--json` shape: kind, key ids, resumed, then the kind's counts."""
        return {
            "kind": str(self.kind),
            "old_kid": self.old_kid,
            "new_kid": self.new_kid,
            "resumed": self.resumed,
            **self.counts,
        }


@contextmanager
def keyring_lock(path: Path) -> Iterator[None]:
    """Hold the keyring's rotation lock (a sibling lock file, 0600).

    Raises:
        ConflictError: Another rotation holds it.
    """
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConflictError("another key rotation is under way") from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def previous_key(keyring: Keyring, purpose: KeyPurpose) -> Key:
    """The key that was active before the active one (the newest inactive one).

    Raises:
        InvalidRequestError: The keyring holds a single key of this purpose.
    """
    older = [k for k in keyring.keys if k.purpose == purpose and not k.active]
    if not older:
        raise InvalidRequestError(f"nothing to resume: there is one {purpose} key")
    return max(older, key=lambda k: k.version)


def _master(ctx: GatewayContext) -> dict[str, int]:
    report = rewrap_all(ctx.sessions, ctx.keyring)
    return {"rewrapped": report.rewrapped, "failed": report.failed}


def _pseudonym(ctx: GatewayContext) -> dict[str, int]:
    report = rekey_records(
        ctx.sessions, ctx.keyring, ctx.pseudonymizers, ctx.identifier_kinds
    )
    return dataclasses.asdict(report)


def _linkage(ctx: GatewayContext) -> dict[str, int]:
    # The audited backfill re-encodes every record not under the active key.
    reports = backfill(ctx)
    return {
        "encoded": sum(r.encoded for r in reports),
        "without_key": sum(r.without_key for r in reports),
    }


def _audit(_ctx: GatewayContext) -> dict[str, int]:
    return {}  # old checkpoints verify under the old key, which stays


FOLLOW_UPS: dict[KeyKind, Callable[[GatewayContext], dict[str, int]]] = {
    KeyKind.MASTER: _master,
    KeyKind.PSEUDONYM: _pseudonym,
    KeyKind.LINKAGE: _linkage,
    KeyKind.AUDIT: _audit,
}


def rotate(
    ctx: GatewayContext,
    kind: KeyKind,
    keyring_path: Path,
    *,
    resume: bool = False,
    actor: str = "cli",
) -> RotationReport:
    """Rotate one key (or, with `resume`, finish the last rotation of it).

    Args:
        ctx: The gateway; its database, policies and clock are used, its
            in-memory keyring is not (the file is read again under the lock).
        kind: Which key.
        keyring_path: The keyring file, replaced atomically.
        resume: Make no new key: bring what is still under older keys over
            to the active one (after a crash, or once every server runs
            with the new keyring).
        actor: Who rotates, for the audit event.

    Raises:
        ConflictError: Another rotation is under way.
        InvalidRequestError: `resume` with a single key of this kind.
        KeyringError: The keyring cannot be read or written.
    """
    purpose = PURPOSES[kind]
    with keyring_lock(keyring_path):
        current = load_keyring(keyring_path)
        if resume:
            keyring, old = current, previous_key(current, purpose)
        else:
            keyring, old = current.rotate(purpose, ctx.clock()), current.active(purpose)
            save_keyring(keyring, keyring_path)
        new = keyring.active(purpose)
        rotated = dataclasses.replace(ctx, keyring=keyring)
        try:
            counts = FOLLOW_UPS[kind](rotated)
            details = {
                "kind": str(kind),
                "old_kid": old.kid,
                "new_kid": new.kid,
                "resumed": resume,
                **counts,
            }
            with transaction(rotated.sessions) as session:
                append_events(
                    session,
                    [
                        AuditEvent(
                            actor,
                            "keys.rotated",
                            policy_version=rotated.policies.version,
                            details=details,
                        )
                    ],
                    rotated.clock(),
                    rotated.checkpoint_signer,
                )
        finally:
            if "linkage" in rotated.__dict__:  # helper processes, if any started
                rotated.linkage.close()
    return RotationReport(kind, old.kid, new.kid, resume, counts)
