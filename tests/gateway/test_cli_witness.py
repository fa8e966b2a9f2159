"""`gateway audit witness` and `audit verify --witness-key/--quorum` end to end.

Real witness processes (tests/support/witness_server.py), the real CLI on a
real SQLite data directory.
"""

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.audit.note import verifier_key
from gateway.cli import app
from gateway.settings import get_settings
from tests.databases import POLICIES
from tests.support.witnesses import RunningWitness, running_witness

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GATEWAY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GATEWAY_POLICIES", str(POLICIES))
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    monkeypatch.delenv("GATEWAY_KEYRING", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def gateway(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def trio(env: Path) -> Iterator[list[RunningWitness]]:
    """Two witnesses that follow this log and one that follows another."""
    assert gateway("init")[0] == 0
    code, vkey, _ = gateway("audit", "public-key")
    assert code == 0
    other = verifier_key("other.example/log", bytes(32)).encoded()
    directory = env / "witnesses"
    with ExitStack() as stack:
        yield [
            stack.enter_context(running_witness(directory, name, [log_vkey]))
            for name, log_vkey in (
                ("witness.test/w1", vkey.strip()),
                ("witness.test/w2", vkey.strip()),
                ("witness.test/w3", other),
            )
        ]


def _keys(witnesses: list[RunningWitness]) -> list[str]:
    return [arg for w in witnesses for arg in ("--witness-key", w.vkey)]


def test_witnessed_checkpoint_verifies_with_a_quorum_and_fails_without(
    env: Path, trio: list[RunningWitness]
) -> None:
    saved = env / "cosigned.txt"
    urls = [arg for w in trio[:2] for arg in ("--url", w.url)]
    code, _, err = gateway("audit", "witness", *urls, "--out", str(saved))
    assert code == 0, err
    assert "cosigned by 2 of 2 witnesses" in err
    note = saved.read_text(encoding="utf-8")
    assert note.count("\n\u2014 witness.test/w") == 2

    code, out, err = gateway(
        "audit", "verify", "--checkpoint", str(saved), *_keys(trio), "--quorum", "2",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["ok"] is True

    # Default quorum: every witness named. w3 never cosigned: refused.
    code, out, err = gateway(
        "audit", "verify", "--checkpoint", str(saved), *_keys(trio)
    )
    assert code == 1
    assert out == ""
    assert err.strip() == (
        "error: checkpoint refused: 2 of 3 trusted witnesses cosigned it, 3 required"
    )
    assert err.count("\n") == 1


def test_one_cosignature_of_three_is_refused_for_a_quorum_of_two(
    env: Path, trio: list[RunningWitness]
) -> None:
    urls = [arg for w in (trio[0], trio[2]) for arg in ("--url", w.url)]
    code, out, err = gateway("audit", "witness", *urls, "--json")
    # w3 does not follow this log: exit 1, one line naming it and why.
    assert code == 1
    host = trio[2].url.removeprefix("http://")
    assert err.count("\n") == 1
    assert f"witness {host} does not follow this log (404)" in err
    document = json.loads(out)
    assert [w["error"] is None for w in document["witnesses"]] == [True, False]
    saved = env / "cosigned.txt"
    saved.write_text(document["checkpoint"], encoding="utf-8")

    code, _, err = gateway(
        "audit", "verify", "--checkpoint", str(saved), *_keys(trio), "--quorum", "2"
    )
    assert code == 1
    assert "1 of 3 trusted witnesses cosigned it, 2 required" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--quorum", "1"), "--quorum needs --witness-key"),
        (("--witness-key", "not-a-vkey"), "--witness-key refused"),
        (("--quorum", "0", "--witness-key", "W1"), "quorum must be 1..1"),
    ],
)
def test_witness_options_are_checked_before_anything_runs(
    env: Path, trio: list[RunningWitness], extra: tuple[str, ...], message: str
) -> None:
    saved = env / "checkpoint.txt"
    code, out, _ = gateway("audit", "checkpoint", "--json")
    saved.write_text(json.loads(out)["checkpoint"], encoding="utf-8")
    args = [trio[0].vkey if arg == "W1" else arg for arg in extra]
    code, _, err = gateway("audit", "verify", "--checkpoint", str(saved), *args)
    assert code == 1
    assert message in err


def test_witness_keys_without_a_checkpoint_are_refused(
    env: Path, trio: list[RunningWitness]
) -> None:
    code, _, err = gateway("audit", "verify", "--witness-key", trio[0].vkey)
    assert code == 1
    assert "--witness-key needs --checkpoint" in err
