from datetime import UTC, datetime

import pytest

from gateway.crypto.envelope import (
    FieldCipher,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from gateway.crypto.keyring import KeyPurpose, create_keyring
from gateway.errors import DecryptionError, KeyringError

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _flip(blob: bytes, index: int) -> bytes:
    return blob[:index] + bytes([blob[index] ^ 1]) + blob[index + 1 :]


def test_wrap_unwrap_round_trip() -> None:
    master = create_keyring(NOW).active(KeyPurpose.MASTER)
    dek = new_data_key()
    wrapped = wrap_data_key(master, dek, "subject-1")
    assert len(dek) == 32
    assert len(wrapped) == 12 + 32 + 16
    assert unwrap_data_key(master, wrapped, "subject-1") == dek


def test_unwrap_for_another_subject_fails() -> None:
    master = create_keyring(NOW).active(KeyPurpose.MASTER)
    wrapped = wrap_data_key(master, new_data_key(), "subject-1")
    with pytest.raises(DecryptionError):
        unwrap_data_key(master, wrapped, "subject-2")


@pytest.mark.parametrize("index", [0, 11, 12, 43, 44, 59])
def test_unwrap_tampered_fails(index: int) -> None:
    master = create_keyring(NOW).active(KeyPurpose.MASTER)
    wrapped = wrap_data_key(master, new_data_key(), "subject-1")
    with pytest.raises(DecryptionError):
        unwrap_data_key(master, _flip(wrapped, index), "subject-1")
    with pytest.raises(DecryptionError):
        unwrap_data_key(master, wrapped[:20], "subject-1")


def test_unwrap_with_wrong_master_fails() -> None:
    ring = create_keyring(NOW)
    master = ring.active(KeyPurpose.MASTER)
    wrapped = wrap_data_key(master, new_data_key(), "subject-1")
    rotated = ring.rotate(KeyPurpose.MASTER, NOW).active(KeyPurpose.MASTER)
    with pytest.raises(DecryptionError):
        unwrap_data_key(rotated, wrapped, "subject-1")
    stranger = create_keyring(NOW).active(KeyPurpose.MASTER)
    with pytest.raises(DecryptionError):
        unwrap_data_key(stranger, wrapped, "subject-1")


def test_wrap_refuses_non_master_key() -> None:
    key = create_keyring(NOW).active(KeyPurpose.PSEUDONYM)
    with pytest.raises(KeyringError):
        wrap_data_key(key, new_data_key(), "subject-1")


def test_nonces_differ_per_encryption() -> None:
    master = create_keyring(NOW).active(KeyPurpose.MASTER)
    dek = new_data_key()
    wraps = {wrap_data_key(master, dek, "s")[:12] for _ in range(50)}
    assert len(wraps) == 50
    cipher = FieldCipher(dek)
    blobs = [cipher.encrypt("same text", b"aad") for _ in range(50)]
    assert len({blob[:12] for blob in blobs}) == 50
    assert len(set(blobs)) == 50


def test_field_cipher_round_trip() -> None:
    cipher = FieldCipher(new_data_key())
    for text in ("ada@example.org", "", "Zoë 名前"):
        aad = b"rec-1\x1femail"
        assert cipher.decrypt(cipher.encrypt(text, aad), aad) == text


def test_field_cipher_refuses_wrong_aad_key_or_tamper() -> None:
    dek = new_data_key()
    cipher = FieldCipher(dek)
    blob = cipher.encrypt("ada@example.org", b"rec-1\x1femail")
    with pytest.raises(DecryptionError) as excinfo:
        cipher.decrypt(blob, b"rec-2\x1femail")
    assert "ada" not in str(excinfo.value)
    with pytest.raises(DecryptionError):
        FieldCipher(new_data_key()).decrypt(blob, b"rec-1\x1femail")
    with pytest.raises(DecryptionError):
        cipher.decrypt(_flip(blob, len(blob) - 1), b"rec-1\x1femail")
    with pytest.raises(DecryptionError):
        cipher.decrypt(_flip(blob, 14), b"rec-1\x1femail")
    with pytest.raises(DecryptionError):
        cipher.decrypt(b"short", b"rec-1\x1femail")


def test_field_cipher_needs_256_bit_key() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        FieldCipher(b"k" * 16)
