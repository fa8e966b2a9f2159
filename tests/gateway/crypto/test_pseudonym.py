import hashlib
import hmac
import json
import re
from datetime import UTC, datetime

import pytest

from gateway.crypto.keyring import KeyPurpose, create_keyring
from gateway.crypto.pseudonym import (
    Pseudonymizer,
    hmac_sha256,
    keyed_sha256_states,
    pseudonymize,
)
from gateway.errors import KeyringError
from tests.kat import CRYPTO_KAT

NOW = datetime(2025, 1, 1, tzinfo=UTC)
KAT = CRYPTO_KAT


def test_hmac_sha256_rfc4231_case_2() -> None:
    case = json.loads(KAT.read_text())["rfc4231_tc2_hmac_sha256"]
    mac = hmac_sha256(case["key_ascii"].encode(), case["data_ascii"].encode())
    assert mac.hex() == case["mac_hex"]


def test_pseudonym_is_kid_dot_hmac_of_namespace_and_value() -> None:
    key = create_keyring(NOW).active(KeyPurpose.PSEUDONYM)
    pseudonym = pseudonymize(key, "email", "ada@example.org")
    assert re.fullmatch(rf"{key.kid}\.[0-9a-f]{{64}}", pseudonym)
    expected = hmac.new(key.material, b"email\x1fada@example.org", hashlib.sha256)
    assert pseudonym == f"{key.kid}.{expected.hexdigest()}"
    assert pseudonymize(key, "email", "ada@example.org") == pseudonym


def test_pseudonym_differs_per_key_and_namespace() -> None:
    ring = create_keyring(NOW)
    key = ring.active(KeyPurpose.PSEUDONYM)
    other = ring.rotate(KeyPurpose.PSEUDONYM, NOW).active(KeyPurpose.PSEUDONYM)
    base = pseudonymize(key, "customer_id:client-a", "42")
    assert pseudonymize(other, "customer_id:client-a", "42") != base
    assert pseudonymize(other, "customer_id:client-a", "42").startswith(other.kid)
    assert pseudonymize(key, "customer_id:client-b", "42") != base
    assert pseudonymize(key, "customer_id:client-a", "43") != base
    assert create_keyring(NOW).active(KeyPurpose.PSEUDONYM) != key


@pytest.mark.parametrize(
    ("namespace", "value"),
    [
        ("email", "ada@example.org"),
        ("phone", "+447700900123"),
        ("name", "Zoë 名前"),
        ("", ""),
        ("customer_id:c1", "a\x1fb"),
    ],
)
def test_pseudonymizer_matches_pseudonymize(namespace: str, value: str) -> None:
    key = create_keyring(NOW).active(KeyPurpose.PSEUDONYM)
    pseudonymizer = Pseudonymizer(key)
    assert pseudonymizer(namespace, value) == pseudonymize(key, namespace, value)
    assert pseudonymizer(namespace, value) == pseudonymizer(namespace, value)


def test_refuses_keys_of_other_purposes() -> None:
    key = create_keyring(NOW).active(KeyPurpose.TOKEN)
    with pytest.raises(KeyringError):
        pseudonymize(key, "email", "ada@example.org")
    with pytest.raises(KeyringError):
        Pseudonymizer(key)


def test_pseudonymizer_repr_hides_material() -> None:
    key = create_keyring(NOW).active(KeyPurpose.PSEUDONYM)
    assert key.material.hex() not in repr(Pseudonymizer(key))
    assert key.kid in repr(Pseudonymizer(key))


def test_keyed_states_make_hmac_sha256_for_every_key_length() -> None:
    # Up to two blocks: keys shorter than, equal to and longer than SHA-256's
    # 64-byte block (a longer key is hashed first).
    message = b"email\x1fada@example.org"
    for length in range(0, 130):
        key = bytes((7 * i + length) % 256 for i in range(length))
        inner, outer = keyed_sha256_states(key)
        inner.update(message)
        outer.update(inner.digest())
        assert outer.digest() == hmac.new(key, message, hashlib.sha256).digest()


def test_keyed_states_are_copied_not_spent() -> None:
    key = create_keyring(NOW).active(KeyPurpose.PSEUDONYM)
    pseudonymizer = Pseudonymizer(key)
    first = [pseudonymizer("email", f"user{i}@example.org") for i in range(50)]
    again = [pseudonymize(key, "email", f"user{i}@example.org") for i in range(50)]
    assert first == again
