"""`gateway subjects access|erase|reidentify` against a real SQLite gateway."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gateway.bootstrap import build_context
from gateway.cli import app
from gateway.main import create_app
from gateway.settings import get_settings
from tests.databases import POLICIES
from tests.factories import customer, grant, make_client, send_records

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GATEWAY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GATEWAY_POLICIES", str(POLICIES))
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    monkeypatch.delenv("GATEWAY_KEYRING", raising=False)
    get_settings.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    yield tmp_path / "home"
    get_settings.cache_clear()


def gateway(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_access_reidentify_then_erase(home: Path) -> None:
    person = customer()
    ctx = build_context(get_settings())
    try:
        with TestClient(create_app(ctx)) as http:
            partner = make_client(ctx)
            grant(http, partner, person)
            assert send_records(http, partner, [person]).json()["accepted"] == 1
    finally:
        ctx.dispose()
    who = ("--identifier-type", "email", "--identifier", person["email"])

    code, out, _ = gateway("subjects", "access", *who, "--json")
    assert code == 0
    document = json.loads(out)
    [record] = document["records"]
    assert record["personal_data"]["first_name"] == person["first_name"]

    code, _, err = gateway(
        "subjects", "reidentify", record["subject_id"], "--justification", "", "--json"
    )
    assert code == 1
    assert err.startswith("error: justification")
    code, out, _ = gateway(
        "subjects", "reidentify", record["subject_id"],
        "--justification", "Chargeback dispute 77-A, bank request", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["identifiers"]["phone"] == [person["phone"]]

    code, out, _ = gateway("subjects", "erase", *who, "--json")
    assert code == 0
    receipt = json.loads(out)
    assert receipt["deleted"]["records"] == 1
    assert receipt["checkpoint"].startswith("consent-gateway/audit/")
    code, out, _ = gateway("subjects", "access", *who, "--json")
    assert code == 0
    assert json.loads(out)["found"] is False

    code, _, err = gateway(
        "subjects", "access", "--identifier-type", "shoe", "--identifier", "1"
    )
    assert code == 1
    assert err.count("\n") == 1
    assert gateway("audit", "verify")[0] == 0
