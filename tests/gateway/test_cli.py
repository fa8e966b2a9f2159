"""The `gateway` command through typer's CliRunner, against real files and databases."""

import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gateway.audit.merkle import (
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from gateway.audit.note import VerifierKey, open_note
from gateway.cli import app
from gateway.settings import get_settings
from gateway.storage.db import make_engine
from tests.databases import POLICIES
from tests.factories import partner_add_args
from tests.tcf_vectors import GPP_V23
from tests.tcfkit import encode, make_tc

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    values = {
        "GATEWAY_HOME": str(tmp_path / "home"),
        "GATEWAY_POLICIES": str(POLICIES),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    monkeypatch.delenv("GATEWAY_KEYRING", raising=False)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()


def gateway(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_is_idempotent_and_makes_a_private_keyring(env: dict[str, str]) -> None:
    code, out, _ = gateway("init", "--json")
    assert code == 0, out
    first = json.loads(out)
    assert first["keyring_created"] is True
    assert first["policy_loaded"] is True
    keyring = Path(env["GATEWAY_HOME"]) / "keys" / "keyring.json"
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    before = keyring.read_bytes()
    code, out, _ = gateway("init", "--json")
    assert code == 0
    second = json.loads(out)
    assert second["keyring_created"] is False
    assert second["policy_loaded"] is False
    assert keyring.read_bytes() == before
    assert (Path(env["GATEWAY_HOME"]) / "gateway.db").exists()


def test_clients_add_prints_the_key_once_and_revoke(env: dict[str, str]) -> None:
    assert gateway("init")[0] == 0
    code, out, _ = gateway(*partner_add_args("shop"))
    assert code == 0, out
    made = json.loads(out)
    assert set(made) == {"client_id", "api_key"}
    db = (Path(env["GATEWAY_HOME"]) / "gateway.db").read_bytes()
    assert made["api_key"].encode() not in db
    code, _, err = gateway("clients", "add", "shop", "--role", "partner")
    assert code == 1
    assert err.startswith("error:")
    assert len(err.strip().splitlines()) == 1
    assert gateway("clients", "revoke", "shop")[0] == 0
    assert gateway("clients", "revoke", "nobody")[0] == 1


@pytest.mark.parametrize(
    "args",
    [
        ("clients", "add", "x", "--role", "admin"),
        ("clients", "add", "x", "--role", "partner", "--dataset", "nope"),
        ("clients", "add", "x", "--role", "destination", "--audience", "nope"),
        ("clients", "add", "x", "--role", "partner", "--region", "FRA"),
    ],
)
def test_clients_add_refuses_bad_grants(
    env: dict[str, str], args: tuple[str, ...]
) -> None:
    assert gateway("init")[0] == 0
    code, _, err = gateway(*args)
    assert code == 1
    assert err.startswith("error:")


def test_policies_check_names_file_line_and_field(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = gateway("policies", "check", "--json")
    assert code == 0
    assert json.loads(out)["version"].startswith("sha256:")
    broken = tmp_path / "policies"
    shutil.copytree(POLICIES, broken)
    path = broken / "datasets" / "customers.yaml"
    path.write_text(path.read_text().replace("class: direct_pii", "class: secret", 1))
    monkeypatch.setenv("GATEWAY_POLICIES", str(broken))
    get_settings.cache_clear()
    code, _, err = gateway("policies", "check")
    assert code == 1
    assert "datasets/customers.yaml:" in err
    assert ".class" in err


def test_policies_check_refuses_a_level_rule_on_an_unknown_feature(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Caught before any data is read, not after extract and dedupe.
    broken = tmp_path / "policies"
    shutil.copytree(POLICIES, broken)
    path = broken / "audiences.yaml"
    rule = "      - {name: kiosk, feature: share_channel_kiosk, op: '>', value: 0.5}"
    path.write_text(
        path.read_text().replace("k_min: 100", f"k_min: 100\n    level_rules:\n{rule}")
    )
    line = path.read_text().splitlines().index(rule) + 1
    monkeypatch.setenv("GATEWAY_POLICIES", str(broken))
    get_settings.cache_clear()
    code, _, err = gateway("policies", "check")
    assert code == 1
    assert f"audiences.yaml:{line}: " in err
    assert "level_rules[0].feature: unknown feature 'share_channel_kiosk'" in err


def test_audit_verify_exits_1_on_a_tampered_log(env: dict[str, str]) -> None:
    assert gateway("init")[0] == 0
    assert gateway("clients", "add", "dpo", "--role", "dpo")[0] == 0
    code, out, _ = gateway("audit", "verify", "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True
    engine = make_engine(f"sqlite:///{env['GATEWAY_HOME']}/gateway.db")
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1"))
    engine.dispose()
    code, out, err = gateway("audit", "verify", "--json")
    assert code == 1
    assert json.loads(out)["first_bad_seq"] == 1
    assert "event 1" in err


def test_audit_proofs_and_export_verify_by_the_rfc(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert gateway("init")[0] == 0
    for name in ("dpo", "shop", "ads"):
        assert gateway("clients", "add", name, "--role", "dpo")[0] == 0
    out_file = tmp_path / "audit.jsonl"
    code, _, err = gateway("audit", "export", "--out", str(out_file))
    assert code == 0
    lines = out_file.read_bytes().splitlines()
    assert f"{len(lines)} events" in err
    leaves = [leaf_hash(line) for line in lines]
    size = len(leaves)
    root = root_from_leaf_hashes(leaves)
    assert (
        json.loads(gateway("audit", "verify", "--json")[1])["root_hash"] == root.hex()
    )

    code, out, _ = gateway("audit", "proof", "1", "--json")
    assert code == 0
    proof = json.loads(out)
    assert proof["leaf_index"] == 1
    assert proof["tree_size"] == size
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    assert verify_inclusion(1, size, bytes.fromhex(proof["leaf_hash"]), path, root)

    code, out, _ = gateway("audit", "consistency", "2", str(size), "--json")
    assert code == 0
    document = json.loads(out)
    proof_hashes = [bytes.fromhex(h) for h in document["proof"]]
    old_root = root_from_leaf_hashes(leaves[:2])
    assert verify_consistency(2, size, old_root, root, proof_hashes)

    code, _, err = gateway("audit", "proof", str(size), "--json")
    assert code == 1
    assert err.startswith("error:")


def test_audit_checkpoint_public_key_and_verify_against_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert gateway("init")[0] == 0
    code, out, _ = gateway("audit", "checkpoint", "--json")
    assert code == 0
    document = json.loads(out)
    saved = tmp_path / "checkpoint.txt"
    saved.write_text(document["checkpoint"], encoding="utf-8")
    code, vkey, _ = gateway("audit", "public-key")
    assert code == 0
    text, _ = open_note(document["checkpoint"], [VerifierKey.parse(vkey)])
    assert text.split("\n")[1] == str(document["tree_size"])

    assert gateway("clients", "add", "dpo", "--role", "dpo")[0] == 0
    code, out, _ = gateway("audit", "verify", "--checkpoint", str(saved), "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True

    forged = tmp_path / "forged.txt"
    forged.write_text(
        document["checkpoint"].replace(f"\n{document['tree_size']}\n", "\n999\n"),
        encoding="utf-8",
    )
    code, _, err = gateway("audit", "verify", "--checkpoint", str(forged))
    assert code == 1
    assert "checkpoint refused" in err


def test_every_command_has_help(env: dict[str, str]) -> None:
    for args in (
        (),
        ("init",),
        ("serve",),
        ("clients",),
        ("clients", "add"),
        ("clients", "revoke"),
        ("policies", "check"),
        ("audit", "verify"),
        ("audit", "proof"),
        ("audit", "consistency"),
        ("audit", "export"),
        ("audit", "checkpoint"),
        ("audit", "public-key"),
        ("audit", "witness"),
        ("linkage", "backfill"),
        ("pipeline", "run"),
        ("pii",),
        ("pii", "analyze"),
    ):
        code, out, _ = gateway(*args, "--help")
        assert code == 0
        assert "Usage" in out


def test_serve_without_init_fails_with_one_line(env: dict[str, str]) -> None:
    code, _, err = gateway("serve", "--port", "1")
    assert code == 1
    assert err.startswith("error:")


def test_consent_decode_tcf(env: dict[str, str]) -> None:
    tc = encode(make_tc(purpose_consents=[1, 3, 4], vendor_consents=[2, 755]))
    code, out, _ = gateway("consent", "decode-tcf", tc, "--json")
    assert code == 0
    decoded = json.loads(out)
    assert decoded["version"] == 2
    assert decoded["purpose_consents"] == [1, 3, 4]
    assert decoded["vendor_consents"] == [2, 755]
    assert decoded["last_updated"].endswith("Z")
    code, _, err = gateway("consent", "decode-tcf", "nonsense-zqx")
    assert code == 1
    assert err.startswith("error:")
    assert "zqx" not in err


def test_consent_decode_tcf_shows_every_segment_and_the_v23_verdict(
    env: dict[str, str],
) -> None:
    # iabgpp-es TcfEuV2.test.ts "decode with vendor [11, 28, 29] and publisher TC"
    code, out, _ = gateway("consent", "decode-tcf", GPP_V23, "--json")
    assert code == 0
    decoded = json.loads(out)
    assert decoded["disclosed_vendors"] == [11, 28, 29, 50, 60, 80]
    assert decoded["publisher_restrictions"] == []
    assert decoded["publisher_tc"]["purpose_legitimate_interests"] == [2, 7]
    assert decoded["v2_3_refusal"] is None
    # A TCF v2.2 string (no DisclosedVendors) still decodes, with the verdict.
    code, out, _ = gateway("consent", "decode-tcf", encode(make_tc()), "--json")
    assert code == 0
    refusal = json.loads(out)["v2_3_refusal"]
    assert refusal["rule"] == "disclosed_vendors_missing"


def test_linkage_backfill_on_an_empty_database(env: dict[str, str]) -> None:
    assert gateway("init")[0] == 0
    code, out, _ = gateway("linkage", "backfill", "--json")
    assert code == 0, out
    assert json.loads(out) == {
        "datasets": [{"dataset": "customers", "encoded": 0, "without_key": 0}]
    }


def pii(stdin: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["pii", "analyze", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_pii_analyze_reads_and_writes_json_lines(env: dict[str, str]) -> None:
    lines = [
        {"id": 1, "text": "Appelez Marie Dupont au 06 12 34 56 78."},
        {"id": "en-1", "text": "Hello, my name is John Smith."},
        {"id": 3, "text": "rien à signaler"},
    ]
    code, out, err = pii("\n".join(json.dumps(x) for x in lines) + "\n\n")
    assert code == 0, err
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in results] == [1, "en-1", 3]
    assert [(e["type"], e["start"], e["end"]) for e in results[0]["entities"]] == [
        ("PERSON", 8, 13),  # French names are cut per part
        ("PERSON", 14, 20),
        ("PHONE_NUMBER", 24, 38),
    ]
    assert [e["type"] for e in results[1]["entities"]] == ["PERSON"]
    assert results[2]["entities"] == []
    assert all(0 < e["score"] <= 1 for r in results for e in r["entities"])


def test_pii_analyze_with_a_fixed_language(env: dict[str, str]) -> None:
    line = json.dumps({"id": 1, "text": "born on March 3, 1985"})
    code, out, _ = pii(line, "--language", "en")
    assert code == 0
    assert [e["type"] for e in json.loads(out)["entities"]] == ["DATE_OF_BIRTH"]


def test_pii_analyze_names_the_bad_line_and_never_the_text(
    env: dict[str, str],
) -> None:
    stdin = '{"id": 1, "text": "ok"}\n{"id": 2, "texte": "Marie Dupont"}\n'
    code, _, err = pii(stdin)
    assert code == 1
    assert err.strip() == "error: line 2: texte: unknown field (send id and text)"
    assert "Marie" not in err


def test_pii_analyze_refuses_an_unknown_language(env: dict[str, str]) -> None:
    code, _, err = pii("", "--language", "de")
    assert code != 0
    assert "de" in err


def test_policies_register_in_markdown_and_json(env: dict[str, str]) -> None:
    code, out, _ = gateway("policies", "register", "--format", "md")
    assert code == 0
    assert out.startswith("# Record of processing activities (GDPR Art. 30)")
    assert "| segmentation |" in out
    code, out, _ = gateway("policies", "register", "--format", "json")
    assert code == 0
    register = json.loads(out)
    assert [p["name"] for p in register["purposes"]] == ["analytics", "segmentation"]
    code, _, err = gateway("policies", "register", "--format", "pdf")
    assert code != 0
    assert "pdf" in err


def test_retention_run_counts_then_deletes_and_is_audited(
    env: dict[str, str],
) -> None:
    assert gateway("init")[0] == 0
    code, out, _ = gateway(*partner_add_args("shop"))
    client_id = json.loads(out)["client_id"]
    engine = make_engine(f"sqlite:///{Path(env['GATEWAY_HOME']) / 'gateway.db'}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO idempotency_keys VALUES "
                "(:c, 'old', 'h', 200, x'7b7d', '2020-01-01 00:00:00.000000')"
            ),
            {"c": client_id},
        )
    engine.dispose()

    code, out, _ = gateway("retention", "run", "--dry-run", "--json")
    assert code == 0
    dry = json.loads(out)
    assert (dry["dry_run"], dry["idempotency"]) == (True, 1)
    assert dry["records"] == {"analytics": 0, "segmentation": 0}
    code, out, _ = gateway("retention", "run", "--dry-run")
    assert code == 0
    assert "would delete" in out
    assert "idempotent responses" in out
    code, out, _ = gateway("retention", "run", "--json")
    assert code == 0
    assert (json.loads(out)["dry_run"], json.loads(out)["idempotency"]) == (False, 1)
    code, out, _ = gateway("retention", "run", "--dry-run", "--json")
    assert json.loads(out)["idempotency"] == 0
    code, out, _ = gateway("audit", "verify", "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True
    engine = make_engine(f"sqlite:///{Path(env['GATEWAY_HOME']) / 'gateway.db'}")
    with engine.connect() as conn:
        actions = conn.execute(
            text(
                "SELECT action FROM audit_events "
                "WHERE action LIKE 'retention.%' ORDER BY seq"
            )
        ).scalars()
        assert [a.split(".")[1] for a in actions] == ["dry_run"] * 2 + [
            "run",
            "dry_run",
        ]
    engine.dispose()
