"""What the end-to-end pipeline tests share: a reachable k floor, the CLI, ingestion."""

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gateway.cli import app
from gateway.context import GatewayContext
from gateway.demo.population import Population
from gateway.settings import get_settings
from tests.databases import POLICIES
from tests.factories import ApiClient, send_consents


def policies_with_floor(tmp_path: Path, k_min: int) -> Path:
    """The sample policies, with a k floor a few hundred people can reach.

    No destinations file: every destination client may pull the audience.
    """
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    path = target / "audiences.yaml"
    path.write_text(path.read_text().replace("k_min: 100", f"k_min: {k_min}"))
    (target / "destinations.yaml").unlink()
    return target


def run_cli(ctx: GatewayContext, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """`gateway ARGS` over the context's database and keys, as a user runs it."""
    settings = ctx.settings
    for name, value in {
        "GATEWAY_HOME": settings.home,
        "GATEWAY_DATABASE_URL": settings.resolved_database_url,
        "GATEWAY_POLICIES": settings.policies,
        "GATEWAY_KEYRING": settings.keyring_path,
    }.items():
        monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.stderr
    return result.stdout


def ingest_partner(
    http: TestClient, partner: ApiClient, people: Population, name: str
) -> None:
    """One partner's consents, customers and events, over HTTP, all accepted."""
    send_consents(http, partner, people.consents[name])
    for dataset, records in (
        ("customers", people.customers[name]),
        ("events", people.events[name]),
    ):
        for start in range(0, len(records), 1000):
            response = http.post(
                f"/v1/datasets/{dataset}/records",
                json={
                    "purpose": "segmentation",
                    "records": records[start : start + 1000],
                },
                headers=partner.headers,
            )
            assert response.status_code == 200, response.text
