import base64
import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.crypto.keyring import (
    KeyPurpose,
    Keyring,
    create_keyring,
    ensure_keyring,
    load_keyring,
    save_keyring,
)
from gateway.errors import KeyringError

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def test_creates_one_active_v1_key_per_purpose() -> None:
    ring = create_keyring(NOW)
    assert {key.purpose for key in ring.keys} == set(KeyPurpose)
    assert len(ring.keys) == len(KeyPurpose)
    for key in ring.keys:
        assert key.active
        assert key.version == 1
        assert len(key.material) == 32
        assert len(key.kid) == 8
        assert key.kid == key.kid.lower()
        int(key.kid, 16)
        assert datetime.fromisoformat(key.created) == NOW
    assert len({key.kid for key in ring.keys}) == len(ring.keys)


def test_json_round_trip() -> None:
    ring = create_keyring(NOW).rotate(KeyPurpose.MASTER, NOW + timedelta(days=1))
    document = json.loads(ring.to_json())
    assert document["format"] == "consent-gateway-keyring/1"
    assert Keyring.from_json(ring.to_json()) == ring


def test_rotate_keeps_old_key_retrievable() -> None:
    ring = create_keyring(NOW)
    old = ring.active(KeyPurpose.PSEUDONYM)
    rotated = ring.rotate(KeyPurpose.PSEUDONYM, NOW + timedelta(days=30))
    new = rotated.active(KeyPurpose.PSEUDONYM)
    assert new.version == 2
    assert new.kid != old.kid
    assert new.material != old.material
    kept = rotated.get(KeyPurpose.PSEUDONYM, old.kid)
    assert kept.material == old.material
    assert not kept.active
    assert rotated.active(KeyPurpose.TOKEN) == ring.active(KeyPurpose.TOKEN)
    third = rotated.rotate(KeyPurpose.PSEUDONYM, NOW)
    assert third.active(KeyPurpose.PSEUDONYM).version == 3
    assert len([key for key in third.keys if key.purpose == KeyPurpose.PSEUDONYM]) == 3


def test_get_unknown_kid_raises() -> None:
    ring = create_keyring(NOW)
    with pytest.raises(KeyringError):
        ring.get(KeyPurpose.MASTER, "00000000")
    with pytest.raises(KeyringError):
        ring.get(KeyPurpose.MASTER, ring.active(KeyPurpose.TOKEN).kid)


def test_repr_and_str_never_show_material() -> None:
    ring = create_keyring(NOW)
    shown = [repr(ring), str(ring)] + [f(key) for key in ring.keys for f in (repr, str)]
    for key in ring.keys:
        for encoded in (base64.b64encode(key.material).decode(), key.material.hex()):
            assert not any(encoded in text for text in shown)
        assert repr(key.material) not in repr(ring)


def test_save_writes_0600_file_in_0700_dirs(tmp_path: Path) -> None:
    path = tmp_path / "home" / "keys" / "keyring.json"
    ring = create_keyring(NOW)
    save_keyring(ring, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert load_keyring(path) == ring
    assert [p.name for p in path.parent.iterdir()] == ["keyring.json"]


def test_save_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = create_keyring(NOW)
    save_keyring(ring, path)
    rotated = ring.rotate(KeyPurpose.TOKEN, NOW)
    save_keyring(rotated, path)
    assert load_keyring(path) == rotated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_load_refuses_group_or_world_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    save_keyring(create_keyring(NOW), path)
    path.chmod(0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        load_keyring(path)


def test_load_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="not found"):
        load_keyring(tmp_path / "absent.json")


def test_ensure_creates_once_then_loads(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyring.json"
    ring, created = ensure_keyring(path, NOW)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = ensure_keyring(path, NOW + timedelta(hours=1))
    assert not created_again
    assert again == ring


def _set(name: str, value: object) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["keys"][0].__setitem__(name, value)


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "format": lambda document: document.__setitem__("format", "other/1"),
    "keys not a list": lambda document: document.__setitem__("keys", {}),
    "missing field": lambda document: document["keys"][0].pop("purpose"),
    "extra field": _set("note", "x"),
    "unknown purpose": _set("purpose", "nonsense"),
    "short material": _set("material", base64.b64encode(b"x" * 16).decode()),
    "bad base64": _set("material", "!!!!"),
    "no active": _set("active", False),
    "bool version": _set("version", True),
    "bad kid": _set("kid", "XYZ"),
    "naive created": _set("created", "2025-01-01T00:00:00"),
    "missing purpose": lambda document: document["keys"].pop(0),
    "two active": lambda document: document["keys"].append(
        dict(document["keys"][0], kid="0123abcd", version=2)
    ),
    "duplicate kid": lambda document: document["keys"].append(
        dict(document["keys"][0], version=2, active=False)
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_corrupt_keyring_raises_without_material(mutation: str) -> None:
    ring = create_keyring(NOW)
    document = json.loads(ring.to_json())
    MUTATIONS[mutation](document)
    with pytest.raises(KeyringError) as excinfo:
        Keyring.from_json(json.dumps(document))
    for key in ring.keys:
        assert base64.b64encode(key.material).decode() not in str(excinfo.value)


@pytest.mark.parametrize("text", ["{not json", "", "[]", "null"])
def test_non_keyring_json_raises(text: str) -> None:
    with pytest.raises(KeyringError):
        Keyring.from_json(text)


def test_load_corrupt_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    save_keyring(create_keyring(NOW), path)
    path.write_text("[]")
    with pytest.raises(KeyringError):
        load_keyring(path)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        create_keyring(datetime(2025, 1, 1))  # noqa: DTZ001 - the case under test
