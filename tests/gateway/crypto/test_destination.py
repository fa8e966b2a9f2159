import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

import pytest

from gateway.crypto.destination import (
    destination_key,
    destination_root,
    hkdf_sha256,
    member_id,
)
from gateway.crypto.keyring import KeyPurpose, create_keyring
from gateway.errors import KeyringError
from tests.kat import CRYPTO_KAT

NOW = datetime(2025, 1, 1, tzinfo=UTC)
KAT = CRYPTO_KAT


def test_destinations_get_unrelated_ids_for_the_same_person() -> None:
    linkage = create_keyring(NOW).active(KeyPurpose.LINKAGE)
    first, second = (destination_key(linkage, d) for d in ("dest-a", "dest-b"))
    entities = [f"entity-{n}" for n in range(2000)]
    ids_a = {member_id(first, e) for e in entities}
    ids_b = {member_id(second, e) for e in entities}
    assert len(ids_a) == len(ids_b) == len(entities)
    assert ids_a.isdisjoint(ids_b)


def test_ids_are_stable_for_the_same_key_and_person() -> None:
    ring = create_keyring(NOW)
    linkage = ring.active(KeyPurpose.LINKAGE)
    key = destination_key(linkage, "dest-a")
    assert destination_key(linkage, "dest-a") == key
    assert member_id(key, "entity-1") == member_id(key, "entity-1")
    expected = hmac.new(key, b"entity-1", hashlib.sha256).hexdigest()
    assert member_id(key, "entity-1") == expected


def test_uuid_format_is_a_version_8_uuid_of_the_same_hmac() -> None:
    key = bytes(range(32))
    text = member_id(key, "entity-1", "uuid")
    parsed = uuid.UUID(text)
    assert parsed.version == 8
    assert parsed.variant == uuid.RFC_4122
    digest = hmac.new(key, b"entity-1", hashlib.sha256).digest()
    # Only the version and variant bits differ from the HMAC's first 16 bytes.
    assert parsed.bytes[:6] == digest[:6]
    assert parsed.bytes[9:16] == digest[9:16]


def test_hkdf_matches_rfc5869_test_case_1() -> None:
    case = json.loads(KAT.read_text())["rfc5869_tc1_hkdf_sha256"]
    out = hkdf_sha256(
        bytes.fromhex(case["ikm_hex"]),
        bytes.fromhex(case["salt_hex"]),
        bytes.fromhex(case["info_hex"]),
        case["L"],
    )
    assert out.hex() == case["okm_hex"]


def test_only_the_linkage_key_derives_destination_keys() -> None:
    pseudonym_key = create_keyring(NOW).active(KeyPurpose.PSEUDONYM)
    with pytest.raises(KeyringError):
        destination_key(pseudonym_key, "dest-a")


def test_destination_ids_stay_pinned_to_the_first_linkage_key() -> None:
    ring = create_keyring(NOW)
    first = ring.active(KeyPurpose.LINKAGE)
    rotated = ring.rotate(KeyPurpose.LINKAGE, NOW).rotate(KeyPurpose.LINKAGE, NOW)
    assert rotated.active(KeyPurpose.LINKAGE).kid != first.kid
    assert destination_root(rotated).kid == first.kid
