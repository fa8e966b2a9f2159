"""`gateway keys rotate` and `gateway audit public-key --all` through CliRunner."""

import base64
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.audit.note import VerifierKey, open_note
from gateway.cli import app
from gateway.crypto.keyring import KeyPurpose, load_keyring
from gateway.settings import get_settings
from tests.databases import POLICIES

runner = CliRunner()
PURPOSES = {
    "master": KeyPurpose.MASTER,
    "pseudonym": KeyPurpose.PSEUDONYM,
    "linkage": KeyPurpose.LINKAGE,
    "audit": KeyPurpose.AUDIT_SIGNING,
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GATEWAY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GATEWAY_POLICIES", str(POLICIES))
    for name in ("GATEWAY_DATABASE_URL", "GATEWAY_KEYRING", "GATEWAY_KEYRING_JSON"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    yield tmp_path / "home"
    get_settings.cache_clear()


def gateway(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("kind", sorted(PURPOSES))
def test_keys_rotate_makes_a_new_active_key_and_keeps_the_old_one(
    home: Path, kind: str
) -> None:
    path = home / "keys" / "keyring.json"
    old = load_keyring(path).active(PURPOSES[kind])

    code, out, err = gateway("keys", "rotate", "--kind", kind, "--json")

    assert code == 0, err
    report = json.loads(out)
    assert report["kind"] == kind
    assert report["old_kid"] == old.kid
    assert report["resumed"] is False
    keyring = load_keyring(path)
    assert keyring.active(PURPOSES[kind]).kid == report["new_kid"] != old.kid
    assert keyring.get(PURPOSES[kind], old.kid).active is False
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for key in keyring.keys:  # ids and counts only, never key material
        assert base64.b64encode(key.material).decode() not in out
        assert key.material.hex() not in out


def test_keys_rotate_resume_rewraps_nothing_twice(home: Path) -> None:
    assert gateway("keys", "rotate", "--kind", "master")[0] == 0

    code, out, _ = gateway("keys", "rotate", "--kind", "master", "--resume", "--json")

    assert code == 0
    assert json.loads(out) | {"old_kid": "", "new_kid": ""} == {
        "kind": "master",
        "old_kid": "",
        "new_kid": "",
        "resumed": True,
        "rewrapped": 0,
        "failed": 0,
    }


def test_keys_rotate_fails_with_one_line(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = gateway("keys", "rotate", "--kind", "audit", "--resume")
    assert code == 1
    assert err.startswith("error: nothing to resume")
    assert len(err.strip().splitlines()) == 1

    keyring = (home / "keys" / "keyring.json").read_text(encoding="utf-8")
    monkeypatch.setenv("GATEWAY_KEYRING_JSON", keyring)
    get_settings.cache_clear()
    code, _, err = gateway("keys", "rotate", "--kind", "audit")
    assert code == 1
    assert "GATEWAY_KEYRING_JSON" in err
    assert len(err.strip().splitlines()) == 1


def test_checkpoints_from_before_and_after_an_audit_rotation_verify(
    home: Path, tmp_path: Path
) -> None:
    code, out, _ = gateway("audit", "checkpoint", "--json")
    assert code == 0
    before = tmp_path / "before.txt"
    before.write_text(json.loads(out)["checkpoint"], encoding="utf-8")
    _, old_vkey, _ = gateway("audit", "public-key")

    assert gateway("keys", "rotate", "--kind", "audit")[0] == 0

    code, out, _ = gateway("audit", "checkpoint", "--json")
    assert code == 0
    after = tmp_path / "after.txt"
    after.write_text(json.loads(out)["checkpoint"], encoding="utf-8")
    _, new_vkey, _ = gateway("audit", "public-key")
    code, every, _ = gateway("audit", "public-key", "--all")
    assert code == 0
    assert every.splitlines() == [new_vkey.strip(), old_vkey.strip()]
    for saved, vkey in ((before, old_vkey), (after, new_vkey)):
        open_note(saved.read_text(encoding="utf-8"), [VerifierKey.parse(vkey)])
        code, out, err = gateway(
            "audit", "verify", "--checkpoint", str(saved), "--json"
        )
        assert code == 0, err
        assert json.loads(out)["ok"] is True


def test_keys_commands_have_help(home: Path) -> None:
    for args in (("keys",), ("keys", "rotate"), ("keys", "retire")):
        code, out, _ = gateway(*args, "--help")
        assert code == 0
        assert "Usage" in out


def test_keys_retire_destroys_the_unused_old_master_key_only(home: Path) -> None:
    code, out, _ = gateway("keys", "rotate", "--kind", "master", "--json")
    assert code == 0
    rotation = json.loads(out)

    code, out, _ = gateway("keys", "retire", "--kind", "master", "--json")

    assert code == 0
    assert json.loads(out) == {
        "kind": "master",
        "retired": [rotation["old_kid"]],
        "in_use": [],
    }
    keyring = load_keyring(home / "keys" / "keyring.json")
    masters = [k.kid for k in keyring.keys if k.purpose == KeyPurpose.MASTER]
    assert masters == [rotation["new_kid"]]
    code, _, err = gateway("keys", "retire", "--kind", "pseudonym")
    assert code == 1
    assert err.startswith("error: pseudonym keys are never retired")
    assert len(err.strip().splitlines()) == 1
