"""Short-lived OAuth2 access tokens: JWT HS256 under the keyring's token key.

The header `kid` picks the key, so tokens signed before a rotation verify while
the old key is still in the keyring. Expiry is checked against the `now`
passed in, never the wall clock.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from gateway.auth.refusals import CredentialRefusedError
from gateway.crypto.keyring import KeyPurpose, Keyring
from gateway.errors import AuthenticationError, KeyringError

ISSUER = "consent-gateway"
AUDIENCE = "consent-gateway"
ALGORITHM = "HS256"
_REQUIRED = ("sub", "role", "iat", "exp", "iss", "aud", "jti")
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says about its bearer."""

    client_id: str
    role: str
    issued_at: datetime
    expires_at: datetime


def _epoch(now: datetime) -> int:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return int(now.timestamp())


def issue_token(
    keyring: Keyring, client_id: str, role: str, now: datetime, ttl_seconds: int
) -> str:
    """Sign an access token for a client under the active token key.

    Raises:
        ValueError: `ttl_seconds` is not positive or `now` is naive.
    """
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    key = keyring.active(KeyPurpose.TOKEN)
    issued = _epoch(now)
    claims = {
        "sub": client_id,
        "role": role,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": secrets.token_urlsafe(16),
    }
    headers = {"kid": key.kid}
    return jwt.encode(claims, key.material, algorithm=ALGORITHM, headers=headers)


def _decode(keyring: Keyring, token: str) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str):
        raise jwt.InvalidTokenError("unexpected header")
    key = keyring.get(KeyPurpose.TOKEN, kid)
    return jwt.decode(
        token,
        key.material,
        algorithms=[ALGORITHM],
        audience=AUDIENCE,
        issuer=ISSUER,
        # Time claims are checked below against the caller's clock, not PyJWT's.
        options={
            "require": list(_REQUIRED),
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
        },
    )


def verify_token(keyring: Keyring, token: str, now: datetime) -> TokenClaims:
    """Check a token's key, signature, issuer, audience and expiry at `now`.

    Raises:
        AuthenticationError: Any failure ("invalid or expired token").
    """
    try:
        claims = _decode(keyring, token)
    except (jwt.PyJWTError, KeyringError):
        raise AuthenticationError("invalid or expired token") from None
    sub, role, iat, exp = (claims[name] for name in ("sub", "role", "iat", "exp"))
    well_typed = (
        isinstance(sub, str)
        and isinstance(role, str)
        and type(iat) is int
        and type(exp) is int
    )
    if not well_typed:
        raise AuthenticationError("invalid or expired token")
    if _epoch(now) >= exp:
        # The signature holds, so the subject is ours to name in the audit log.
        raise CredentialRefusedError(
            "invalid or expired token", client_id=sub, reason="token_expired"
        )
    return TokenClaims(
        client_id=sub,
        role=role,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(exp, UTC),
    )


def looks_like_token(credential: str) -> bool:
    """Tell a JWT (three dot-separated base64url parts) from an API key."""
    return _JWT_SHAPE.fullmatch(credential) is not None
