"""Master key rotation: wrap every live data key again under the new master key.

Only the wrapped data keys change: the vault's ciphertexts stay byte for
byte what they were, since the data keys themselves do not change. Batches
commit one by one, so a crash loses nothing: rows already under the active
master key are not read again, and a re-run finishes the rest.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from gateway.crypto.envelope import unwrap_data_key, wrap_data_key
from gateway.crypto.keyring import KeyPurpose, Keyring
from gateway.errors import DecryptionError, KeyringError
from gateway.storage import keys_repo
from gateway.storage.db import transaction
from gateway.storage.keys_repo import Rewrapped, WrappedKey

BATCH = 500


@dataclass(frozen=True, slots=True)
class RewrapReport:
    """Counts only: how many data keys were wrapped again, how many could not be."""

    rewrapped: int
    failed: int


def rewrapped(
    keyring: Keyring, keys: Sequence[WrappedKey]
) -> tuple[list[Rewrapped], int]:
    """Unwrap each data key under its master key and wrap it under the active one.

    Returns:
        The rewrapped keys, and how many could not be unwrapped (a master key
        missing from the keyring, or tampered bytes): those stay as they are.
    """
    master = keyring.active(KeyPurpose.MASTER)
    done: list[Rewrapped] = []
    failed = 0
    for key in keys:
        try:
            old = keyring.get(KeyPurpose.MASTER, key.master_kid)
            dek = unwrap_data_key(old, key.wrapped_key, key.subject_id)
        except (KeyringError, DecryptionError):
            failed += 1
            continue
        done.append(
            Rewrapped(key, master.kid, wrap_data_key(master, dek, key.subject_id))
        )
    return done, failed


def rewrap_all(
    sessions: sessionmaker[Session], keyring: Keyring, batch: int = BATCH
) -> RewrapReport:
    """Rewrap every live data key not under the active master key, batch by batch."""
    kid = keyring.active(KeyPurpose.MASTER).kid
    total = failed = 0
    after = ""
    while True:
        with transaction(sessions) as session:
            keys = keys_repo.wrapped_not_under(session, kid, after, batch)
            if not keys:
                break
            # Keyset on subject id: a key that cannot be unwrapped is passed
            # over, not read again forever.
            after = keys[-1].subject_id
            done, bad = rewrapped(keyring, keys)
            total += keys_repo.rewrap(session, done)
            failed += bad
    return RewrapReport(total, failed)
