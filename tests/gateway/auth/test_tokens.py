import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from gateway.auth.apikeys import new_api_key
from gateway.auth.tokens import TokenClaims, issue_token, looks_like_token, verify_token
from gateway.crypto.keyring import KeyPurpose, Keyring, create_keyring
from gateway.errors import AuthenticationError

# Long past: proves expiry is checked against the clock passed in, not the wall clock.
NOW = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
TTL = 900


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_round_trip() -> None:
    ring = create_keyring(NOW)
    token = issue_token(ring, "client-1", "partner", NOW, TTL)
    assert looks_like_token(token)
    assert jwt.get_unverified_header(token)["kid"] == ring.active(KeyPurpose.TOKEN).kid
    claims = verify_token(ring, token, NOW + timedelta(seconds=TTL - 1))
    assert claims == TokenClaims(
        "client-1", "partner", NOW, NOW + timedelta(seconds=TTL)
    )
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["iss"] == payload["aud"] == "consent-gateway"
    assert (
        payload["jti"]
        != jwt.decode(
            issue_token(ring, "client-1", "partner", NOW, TTL),
            options={"verify_signature": False},
        )["jti"]
    )


def test_expired_token_refused() -> None:
    ring = create_keyring(NOW)
    token = issue_token(ring, "client-1", "partner", NOW, TTL)
    for later in (TTL, TTL + 1, 86400):
        with pytest.raises(AuthenticationError, match="invalid or expired token"):
            verify_token(ring, token, NOW + timedelta(seconds=later))


def test_tampered_token_refused() -> None:
    ring = create_keyring(NOW)
    header, payload, signature = issue_token(ring, "c1", "partner", NOW, TTL).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = _b64(claims | {"role": "dpo"})
    with pytest.raises(AuthenticationError):
        verify_token(ring, f"{header}.{forged}.{signature}", NOW)
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(AuthenticationError):
        verify_token(ring, f"{header}.{payload}.{flipped}", NOW)


def test_token_from_another_keyring_refused() -> None:
    token = issue_token(create_keyring(NOW), "c1", "partner", NOW, TTL)
    with pytest.raises(AuthenticationError):
        verify_token(create_keyring(NOW), token, NOW)


def test_token_signed_with_ring_key_under_foreign_kid_refused() -> None:
    ring = create_keyring(NOW)
    other = create_keyring(NOW).active(KeyPurpose.TOKEN)
    token = jwt.encode(
        {
            "sub": "c1",
            "role": "dpo",
            "iat": 0,
            "exp": 2**40,
            "iss": "consent-gateway",
            "aud": "consent-gateway",
            "jti": "x",
        },
        other.material,
        algorithm="HS256",
        headers={"kid": ring.active(KeyPurpose.TOKEN).kid},
    )
    with pytest.raises(AuthenticationError):
        verify_token(ring, token, NOW)


def test_alg_none_refused() -> None:
    ring = create_keyring(NOW)
    kid = ring.active(KeyPurpose.TOKEN).kid
    claims = {
        "sub": "c1",
        "role": "dpo",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + TTL,
        "iss": "consent-gateway",
        "aud": "consent-gateway",
        "jti": "x",
    }
    for alg in ("none", "None", "NONE"):
        token = f"{_b64({'alg': alg, 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}."
        assert looks_like_token(token)
        with pytest.raises(AuthenticationError):
            verify_token(ring, token, NOW)


# HS512 with a 32-byte key is weak, which is part of why only HS256 is accepted.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_other_algorithm_and_claims_refused() -> None:
    ring = create_keyring(NOW)
    key = ring.active(KeyPurpose.TOKEN)
    good = {
        "sub": "c1",
        "role": "partner",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + TTL,
        "iss": "consent-gateway",
        "aud": "consent-gateway",
        "jti": "x",
    }
    cases = [
        ("HS512", good),
        ("HS256", good | {"aud": "someone-else"}),
        ("HS256", good | {"iss": "someone-else"}),
        ("HS256", {k: v for k, v in good.items() if k != "exp"}),
        ("HS256", good | {"exp": str(good["exp"])}),
    ]
    for alg, claims in cases:
        headers = {"kid": key.kid}
        token = jwt.encode(claims, key.material, algorithm=alg, headers=headers)
        with pytest.raises(AuthenticationError):
            verify_token(ring, token, NOW)
    no_kid = jwt.encode(good, key.material, algorithm="HS256")
    with pytest.raises(AuthenticationError):
        verify_token(ring, no_kid, NOW)


def test_rotated_key_still_verifies_until_removed() -> None:
    ring = create_keyring(NOW)
    old = ring.active(KeyPurpose.TOKEN)
    token = issue_token(ring, "c1", "destination", NOW, TTL)
    rotated = ring.rotate(KeyPurpose.TOKEN, NOW)
    assert verify_token(rotated, token, NOW).client_id == "c1"
    fresh = issue_token(rotated, "c1", "destination", NOW, TTL)
    assert jwt.get_unverified_header(fresh)["kid"] != old.kid
    assert verify_token(rotated, fresh, NOW).role == "destination"
    pruned = Keyring(tuple(key for key in rotated.keys if key.kid != old.kid))
    with pytest.raises(AuthenticationError):
        verify_token(pruned, token, NOW)


@pytest.mark.parametrize(
    "credential", ["", "garbage", "a.b", "a..c", "a.b.c.d", "a b.c.d"]
)
def test_garbage_refused(credential: str) -> None:
    with pytest.raises(AuthenticationError):
        verify_token(create_keyring(NOW), credential, NOW)


def test_looks_like_token_tells_tokens_from_api_keys() -> None:
    assert not looks_like_token(new_api_key().api_key)
    assert not looks_like_token("a.b")
    assert looks_like_token("eyJh.eyJz.c2ln")
