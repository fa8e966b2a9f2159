"""What the end-to-end pipeline tests share: a reachable k floor, the CLI."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.context import GatewayContext
from gateway.settings import get_settings
from tests.databases import POLICIES


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
