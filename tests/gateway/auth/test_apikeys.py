import hashlib
import re

import pytest

from gateway.auth.apikeys import api_key_matches, hash_api_key, key_id_of, new_api_key


def test_new_api_key_shape_and_round_trip() -> None:
    key = new_api_key()
    assert re.fullmatch(r"[0-9a-f]{12}", key.key_id)
    assert key.api_key.startswith(f"cgw_{key.key_id}_")
    assert key_id_of(key.api_key) == key.key_id
    assert api_key_matches(key.api_key, hash_api_key(key.api_key))
    assert new_api_key().key_id != key.key_id


def test_hash_is_sha256_and_mismatch_is_refused() -> None:
    key, other = new_api_key(), new_api_key()
    stored = hash_api_key(key.api_key)
    assert stored == hashlib.sha256(key.api_key.encode()).digest()
    assert not api_key_matches(other.api_key, stored)
    assert not api_key_matches(key.api_key + "x", stored)
    assert not api_key_matches("", stored)


def test_repr_hides_the_secret() -> None:
    key = new_api_key()
    assert key.api_key not in repr(key)
    assert key.api_key not in str(key)
    assert key.key_id in repr(key)


@pytest.mark.parametrize(
    "credential",
    [
        "",
        "cgw_",
        "cgw_0123456789ab",
        "cgw_0123456789ab_",
        "cgw_0123456789AB_" + "a" * 43,
        "cgw_0123456789a_" + "a" * 43,
        "xyz_0123456789ab_" + "a" * 43,
        "cgw_0123456789ab_" + "a" * 42,
        "cgw_0123456789ab_" + "a" * 42 + "!",
        "cgw_0123456789ab_" + "a" * 43 + "\n",
        "eyJhbGciOiJIUzI1NiJ9.e30.sig",
    ],
)
def test_key_id_of_malformed_is_none(credential: str) -> None:
    assert key_id_of(credential) is None
