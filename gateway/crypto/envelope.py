"""Envelope encryption: per-subject data keys (DEKs) wrapped by the master key.

Destroying a subject's wrapped DEK crypto-shreds every field encrypted under
it. Both layers are AES-256-GCM with random 96-bit nonces; each DEK encrypts
only one subject's fields, far below the 2**32 messages per key where random
GCM nonces start to risk collision.
"""

import secrets
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.crypto.keyring import KEY_BYTES, Key, KeyPurpose
from gateway.errors import DecryptionError, KeyringError

NONCE_BYTES = 12
TAG_BYTES = 16


def new_data_key() -> bytes:
    """Return a fresh random 256-bit data key."""
    return secrets.token_bytes(KEY_BYTES)


def _dek_aad(subject_id: str) -> bytes:
    # Binds a wrapped key to its subject: a row's key cannot be moved to another.
    return b"dek\x1f" + subject_id.encode("utf-8")


def _master_cipher(master: Key) -> AESGCM:
    if master.purpose != KeyPurpose.MASTER:
        raise KeyringError("data keys are wrapped by a master key only")
    return _cipher_for(master.material)


@lru_cache(maxsize=8)
def _cipher_for(material: bytes) -> AESGCM:
    # Every new subject wraps its data key under the same master key: keep its
    # AES context instead of rebuilding it each time. A few master keys at
    # most (rotation); their material is in the process's keyring anyway.
    return AESGCM(material)


def _seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plaintext, aad)


def _open(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("ciphertext is too short")
    try:
        return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError("ciphertext failed authentication") from None


def wrap_data_key(master: Key, dek: bytes, subject_id: str) -> bytes:
    """Encrypt a subject's data key under the master key.

    Returns:
        nonce (12 bytes) || ciphertext || tag (16 bytes).

    Raises:
        KeyringError: `master` is not a master key.
    """
    if len(dek) != KEY_BYTES:
        raise ValueError(f"a data key is {KEY_BYTES} bytes")
    return _seal(_master_cipher(master), dek, _dek_aad(subject_id))


def unwrap_data_key(master: Key, wrapped: bytes, subject_id: str) -> bytes:
    """Decrypt a subject's data key.

    Raises:
        DecryptionError: Wrong master key, wrong subject, or tampered bytes.
        KeyringError: `master` is not a master key.
    """
    dek = _open(_master_cipher(master), bytes(wrapped), _dek_aad(subject_id))
    if len(dek) != KEY_BYTES:
        raise DecryptionError("unwrapped data key has the wrong length")
    return dek


class FieldCipher:
    """Encrypts and decrypts text fields under one data key (AES-256-GCM)."""

    __slots__ = ("_aead",)

    def __init__(self, dek: bytes) -> None:
        if len(dek) != KEY_BYTES:
            raise ValueError(f"a data key is {KEY_BYTES} bytes")
        self._aead = AESGCM(dek)

    def __repr__(self) -> str:
        return "FieldCipher(<data key>)"

    def encrypt(self, plaintext: str, aad: bytes) -> bytes:
        """Encrypt text bound to `aad` (e.g. record id and field name).

        Returns:
            nonce (12 bytes, random per call) || ciphertext || tag.
        """
        return _seal(self._aead, plaintext.encode("utf-8"), aad)

    def decrypt(self, blob: bytes, aad: bytes) -> str:
        """Decrypt a blob from `encrypt` with the same `aad`.

        Raises:
            DecryptionError: Tampered blob, wrong `aad` or wrong key.
        """
        plaintext = _open(self._aead, bytes(blob), aad)
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError("plaintext is not UTF-8 text") from None
