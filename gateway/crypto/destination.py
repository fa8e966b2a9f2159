"""Destination-scoped member ids: one key per destination, derived, never shared.

Each destination's key is HKDF-SHA256 of the master linkage key with the
destination's client id as context, so:

- two destinations see unrelated ids for the same person and cannot join
  their lists (nor recover the entity id, which only the gateway holds);
- a destination sees the same id for the same person across runs, as long as
  the person's entity id stays the same;
- no destination key is stored: it is derived when a destination pulls.

Destination ids derive from the first linkage key the keyring ever held
(`destination_root`), not the active one: rotating the linkage key re-keys
the encodings the gateway compares, but must not change every id the
destinations already hold (they could no longer match their lists, nor the
revocations they are told to act on, GDPR Art. 19).
"""

import hashlib
import hmac
import uuid
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.crypto.keyring import Key, KeyPurpose, Keyring
from gateway.errors import KeyringError

IdFormat = Literal["pseudonym", "uuid"]
_SALT = b"consent-gateway/destination-ids/v1"
KEY_BYTES = 32


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 HKDF with SHA-256."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(
        ikm
    )


def destination_root(keyring: Keyring) -> Key:
    """The linkage key destination ids derive from: the first, kept across rotations."""
    return min(
        (key for key in keyring.keys if key.purpose == KeyPurpose.LINKAGE),
        key=lambda key: key.version,
    )


def destination_key(linkage: Key, destination_id: str) -> bytes:
    """The HMAC key of one destination, derived from the master linkage key.

    Raises:
        KeyringError: `linkage` is not a linkage key.
    """
    if linkage.purpose != KeyPurpose.LINKAGE:
        raise KeyringError("destination keys derive from the linkage key only")
    info = b"destination\x1f" + destination_id.encode("utf-8")
    return hkdf_sha256(linkage.material, _SALT, info, KEY_BYTES)


def member_id(key: bytes, entity_id: str, id_format: IdFormat = "pseudonym") -> str:
    """A person's id as one destination sees it.

    Args:
        key: The destination's key (`destination_key`).
        entity_id: The gateway's entity id of the person.
        id_format: ``"pseudonym"``: 64 hex characters; ``"uuid"``: the first
            128 bits as an RFC 9562 version-8 UUID (for platforms that only
            take UUIDs; 122 bits of the HMAC survive).
    """
    digest = hmac.new(key, entity_id.encode("utf-8"), hashlib.sha256).digest()
    if id_format == "pseudonym":
        return digest.hex()
    raw = bytearray(digest[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8: custom
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    return str(uuid.UUID(bytes=bytes(raw)))
