"""API keys: `cgw_<key id>_<secret>`; only a hash is stored, found by its key id."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

PREFIX = "cgw"
# key id: 12 lowercase hex; secret: token_urlsafe(32), 43 base64url characters.
_API_KEY = re.compile(r"cgw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class NewApiKey:
    """A freshly made API key; `api_key` is shown to its owner once, never logged."""

    key_id: str
    api_key: str = field(repr=False)


def new_api_key() -> NewApiKey:
    """Make a random API key and its public key id."""
    key_id = secrets.token_hex(6)
    return NewApiKey(key_id, f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}")


def key_id_of(api_key: str) -> str | None:
    """Return the key id of a well-formed API key, or None if it is malformed."""
    match = _API_KEY.fullmatch(api_key)
    return match.group(1) if match else None


def hash_api_key(api_key: str) -> bytes:
    """Return the SHA-256 digest of an API key, as stored.

    A fast hash is right here: the secret is 256 bits of randomness, so there is
    nothing for a slow password hash (bcrypt, Argon2) to protect against
    brute force, and it would only cost CPU on every request.
    """
    return hashlib.sha256(api_key.encode("utf-8")).digest()


def api_key_matches(api_key: str, stored_hash: bytes) -> bool:
    """Check an API key against its stored hash in constant time."""
    return hmac.compare_digest(hash_api_key(api_key), bytes(stored_hash))
