"""Engines, contexts and HTTP clients on a real SQLite file and a real PostgreSQL.

Only infrastructure lives here; test data comes from `tests/factories.py`.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.context import GatewayContext
from gateway.main import create_app
from tests.databases import Database, gateway_context, throwaway_database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A migrated database for the whole session, per backend, dropped at the end."""
    with throwaway_database(request.param, tmp_path_factory.mktemp("db")) as db:
        yield db


@pytest.fixture(scope="session")
def ctx(
    database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayContext]:
    """A gateway context over the session database, with keys made for the test."""
    with gateway_context(database, tmp_path_factory.mktemp("home")) as context:
        yield context


@pytest.fixture(scope="session")
def client(ctx: GatewayContext) -> Iterator[TestClient]:
    """A real HTTP client against the app."""
    with TestClient(create_app(ctx)) as http:
        yield http


@pytest.fixture
def fresh_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Database]:
    """A database of its own for one test (for tests that tamper or count)."""
    backend = getattr(request, "param", "sqlite")
    with throwaway_database(backend, tmp_path / "db") as db:
        yield db


@pytest.fixture
def fresh_ctx(fresh_database: Database, tmp_path: Path) -> Iterator[GatewayContext]:
    """A gateway context over a database of its own for one test."""
    with gateway_context(fresh_database, tmp_path / "home") as context:
        yield context


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under CI, a PostgreSQL test without a database URL fails instead of skipping."""
    if os.environ.get("GATEWAY_TEST_POSTGRES_URL"):
        return
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    for item in items:
        if "postgres" in item.keywords and not in_ci:
            item.add_marker(pytest.mark.skip(reason="GATEWAY_TEST_POSTGRES_URL unset"))
