"""Keyed pseudonyms: HMAC-SHA256 of a namespaced, already normalised value.

A pseudonym is `"<kid>.<hex digest>"`, so it names the key that made it and
keys can rotate. The namespace (e.g. `customer_id:<client id>`, `email`) keeps
the same value in different roles from linking by pseudonym alone.
"""

import hashlib
import hmac

from gateway.crypto.keyring import Key, KeyPurpose
from gateway.errors import KeyringError

_SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in a normalised identifier


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """Return HMAC-SHA256 of `data` under `key` (RFC 2104)."""
    return hmac.new(key, data, hashlib.sha256).digest()


def _require_pseudonym_key(key: Key) -> None:
    if key.purpose != KeyPurpose.PSEUDONYM:
        raise KeyringError("pseudonyms need a pseudonym key")


def pseudonymize(key: Key, namespace: str, value: str) -> str:
    """Return the pseudonym of `value` in `namespace` under `key`.

    Args:
        key: A `KeyPurpose.PSEUDONYM` key.
        namespace: What kind of identifier this is, e.g. `"email"`.
        value: The identifier, already normalised by the caller.

    Returns:
        `"<kid>.<64 hex chars>"`.

    Raises:
        KeyringError: `key` is not a pseudonym key.
    """
    _require_pseudonym_key(key)
    message = namespace.encode("utf-8") + b"\x1f" + value.encode("utf-8")
    return f"{key.kid}.{hmac.new(key.material, message, hashlib.sha256).hexdigest()}"


class Pseudonymizer:
    """`pseudonymize` bound to one key, for the hot path.

    The keyed HMAC state (key padding and the first inner/outer blocks) is
    computed once and copied per call, instead of re-keying every time.
    """

    __slots__ = ("_base", "_prefix")

    def __init__(self, key: Key) -> None:
        _require_pseudonym_key(key)
        self._base = hmac.new(key.material, digestmod=hashlib.sha256)
        self._prefix = f"{key.kid}."

    def __repr__(self) -> str:
        return f"Pseudonymizer(kid={self._prefix[:-1]!r})"

    def __call__(self, namespace: str, value: str) -> str:
        """Return the pseudonym of `value` in `namespace`, as `pseudonymize` does."""
        mac = self._base.copy()
        # UTF-8 of the joined string == the joined UTF-8 bytes; one encode is cheaper.
        mac.update(f"{namespace}{_SEPARATOR}{value}".encode())
        return self._prefix + mac.hexdigest()
