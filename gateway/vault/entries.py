"""Encrypt records' personal fields under their subjects' data keys."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from gateway.crypto.envelope import (
    FieldCipher,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from gateway.crypto.keyring import Key, KeyPurpose, Keyring
from gateway.errors import DecryptionError, KeyringError
from gateway.storage import records_repo, subject_numbers
from gateway.storage.records_repo import StoredKey


def _data_key(keyring: Keyring, subject_id: str, row: StoredKey) -> bytes:
    """A subject's data key, unwrapped by the master key that wrapped it.

    Raises:
        KeyringError: The keyring lacks that master key.
        DecryptionError: The wrapped key was tampered with or moved.
    """
    if row.wrapped_key is None or row.master_kid is None:
        raise DecryptionError("the data key was destroyed")
    master = keyring.get(KeyPurpose.MASTER, row.master_kid)
    return unwrap_data_key(master, row.wrapped_key, subject_id)


def vault_aad(record_id: str, subject_id: str) -> bytes:
    """Bind a ciphertext to its record and subject, so it cannot be moved."""
    return f"vault\x1f{record_id}\x1f{subject_id}".encode()


class VaultWriter:
    """Data keys for the subjects of one unit of work, created on first use."""

    def __init__(self, session: Session, keyring: Keyring, now: datetime) -> None:
        self._session = session
        self._keyring = keyring
        self._now = now
        self._ciphers: dict[str, FieldCipher] = {}

    def load(self, subject_ids: Iterable[str]) -> None:
        """Fetch existing keys in one query; make keys for new or erased subjects.

        Keys are added in subject order: concurrent requests adding the same
        new subjects take their locks in the same order.
        """
        wanted = sorted(set(subject_ids) - set(self._ciphers))
        stored = records_repo.subject_keys(self._session, wanted)
        subject_numbers.remember(
            self._session, {s: row.number for s, row in stored.items()}
        )
        fresh: list[dict[str, Any]] = []
        renewed: list[dict[str, Any]] = []
        # Looked up once, when a first subject needs a new key: a batch of
        # new subjects wraps every key under the same master key.
        active: Key | None = None
        for subject_id in wanted:
            row = stored.get(subject_id)
            if row is not None and row.wrapped_key is not None:
                dek = _data_key(self._keyring, subject_id, row)
            else:
                # An erased subject's old key is gone for good; data lawfully
                # received after the erasure gets a new key. A subject
                # registered without personal data gets its first one.
                dek = new_data_key()
                if active is None:
                    active = self._keyring.active(KeyPurpose.MASTER)
                master = active
                wrapped = wrap_data_key(master, dek, subject_id)
                if row is None:
                    fresh.append(
                        {
                            "subject_id": subject_id,
                            "master_kid": master.kid,
                            "wrapped_key": wrapped,
                            "created_at": self._now,
                        }
                    )
                else:
                    # Registered already (first seen in a consent or a
                    # rejection, or erased): the row keeps its number and
                    # the time it was first seen.
                    renewed.append(
                        {
                            "number": row.number,
                            "master_kid": master.kid,
                            "wrapped_key": wrapped,
                        }
                    )
            self._ciphers[subject_id] = FieldCipher(dek)
        subject_numbers.add_keyed(self._session, fresh)
        records_repo.renew_subject_keys(self._session, renewed)

    def entry(
        self, record_id: str, subject_id: str, plaintexts: dict[str, str]
    ) -> dict[str, Any]:
        """The vault row of one record (its subject's key must be loaded)."""
        cipher = self._ciphers[subject_id]
        sealed = cipher.encrypt(
            orjson.dumps(plaintexts).decode(), vault_aad(record_id, subject_id)
        )
        return {"record_id": record_id, "subject_id": subject_id, "ciphertext": sealed}


def open_entry(
    cipher: FieldCipher, record_id: str, subject_id: str, blob: bytes
) -> dict[str, str]:
    """Decrypt a record's vault row back into its fields."""
    fields: dict[str, str] = orjson.loads(
        cipher.decrypt(blob, vault_aad(record_id, subject_id))
    )
    return fields


def subject_ciphers(
    session: Session, keyring: Keyring, subject_ids: Iterable[str]
) -> dict[str, FieldCipher]:
    """Ciphers under the data keys of these subjects, where they can be opened.

    An erased subject has no key any more, and a key wrapped under a master
    key the keyring lacks (or tampered with) cannot be opened: both are left
    out, for the caller to count.
    """
    ciphers: dict[str, FieldCipher] = {}
    for subject_id, row in records_repo.subject_keys(session, subject_ids).items():
        if row.wrapped_key is None:
            continue
        try:
            dek = _data_key(keyring, subject_id, row)
        except (KeyringError, DecryptionError):
            continue
        ciphers[subject_id] = FieldCipher(dek)
    return ciphers
