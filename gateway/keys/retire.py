"""Destroy master keys that no data key is wrapped under any more (audited).

After a master key rotation the old master key stays in the keyring,
inactive: rows not rewrapped yet, and servers not restarted yet, still need
it. Once nothing does, destroying it is what makes erasures final in the
backups: a backup taken before an erasure still holds the erased subject's
wrapped data key, and only the master key that wrapped it can open it.
Without that key, every backup older than the rotation is unreadable too:
retire a master key once the backups it protects are no longer wanted.
"""

from dataclasses import dataclass
from pathlib import Path

from gateway.audit import AuditEvent, append_events
from gateway.audit.checkpoints import CheckpointSigner
from gateway.context import GatewayContext
from gateway.crypto.keyring import KeyPurpose, Keyring, load_keyring, save_keyring
from gateway.keys.rotation import keyring_lock
from gateway.storage import keys_repo
from gateway.storage.db import transaction


@dataclass(frozen=True, slots=True)
class RetireReport:
    """The ids of the master keys destroyed, and of those kept because in use."""

    retired: tuple[str, ...]
    in_use: tuple[str, ...]


def retirable(keyring: Keyring, in_use: set[str]) -> tuple[str, ...]:
    """Inactive master keys that no live data key is wrapped under."""
    return tuple(
        sorted(
            key.kid
            for key in keyring.keys
            if key.purpose == KeyPurpose.MASTER
            and not key.active
            and key.kid not in in_use
        )
    )


def retire_masters(
    ctx: GatewayContext, keyring_path: Path, *, actor: str = "cli"
) -> RetireReport:
    """Remove unused inactive master keys from the keyring file, atomically.

    Every server must run with the rotated keyring first: one still holding
    an old keyring wraps new subjects' keys under the old master key.

    Raises:
        ConflictError: A key rotation is under way.
        KeyringError: The keyring cannot be read or written.
    """
    with keyring_lock(keyring_path):
        keyring = load_keyring(keyring_path)
        with transaction(ctx.sessions) as session:
            in_use = keys_repo.master_kids_in_use(session)
        retired = retirable(keyring, in_use)
        kept = tuple(
            key.kid
            for key in keyring.keys
            if key.purpose == KeyPurpose.MASTER and not key.active and key.kid in in_use
        )
        if retired:
            save_keyring(
                Keyring(tuple(k for k in keyring.keys if k.kid not in retired)),
                keyring_path,
            )
            with transaction(ctx.sessions) as session:
                event = AuditEvent(
                    actor,
                    "keys.retired",
                    policy_version=ctx.policies.version,
                    details={"kind": "master", "kids": list(retired)},
                )
                signer = CheckpointSigner.of(keyring)  # the file's, not a stale copy
                append_events(session, [event], ctx.clock(), signer)
    return RetireReport(retired, tuple(sorted(kept)))
