"""Keyed hashing (pseudonyms), envelope encryption and the keyring."""

from gateway.crypto.envelope import (
    FieldCipher,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from gateway.crypto.keyring import (
    Key,
    KeyPurpose,
    Keyring,
    create_keyring,
    ensure_keyring,
    load_keyring,
    save_keyring,
)
from gateway.crypto.pseudonym import Pseudonymizer, hmac_sha256, pseudonymize

__all__ = [
    "FieldCipher",
    "Key",
    "KeyPurpose",
    "Keyring",
    "Pseudonymizer",
    "create_keyring",
    "ensure_keyring",
    "hmac_sha256",
    "load_keyring",
    "new_data_key",
    "pseudonymize",
    "save_keyring",
    "unwrap_data_key",
    "wrap_data_key",
]
