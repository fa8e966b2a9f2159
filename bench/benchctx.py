"""A gateway context over a throwaway database, for benchmarks that run in-process.

Built as tests/databases.py `gateway_context` does: the database migrated to
head, a fresh keyring, the project's policies. Everything lives under the
given home directory; the caller removes it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchdata import batches, consent_event, people

from gateway.auth.clients import create_client
from gateway.bootstrap import build_context
from gateway.consent import service as consent_service
from gateway.consent.events import RecordConsents, parse_events
from gateway.context import GatewayContext
from gateway.crypto.keyring import ensure_keyring
from gateway.settings import Settings
from gateway.storage import clients_repo, migrate
from gateway.storage.db import make_engine, transaction
from gateway.storage.models import ClientRow

ROOT = Path(__file__).resolve().parents[1]


def bench_settings(home: Path, url: str, **overrides: Any) -> Settings:
    """Settings over `url` with the project's policies and a keyring in `home`."""
    settings = Settings(
        home=home,
        database_url=url,
        policies=ROOT / "policies",
        keyring=home / "keys" / "keyring.json",
        **overrides,
    )
    ensure_keyring(settings.keyring_path, datetime.now(UTC))
    return settings


@contextmanager
def bench_context(home: Path, url: str, **overrides: Any) -> Iterator[GatewayContext]:
    """A context over a database migrated to head; disposed on exit."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    ctx = build_context(bench_settings(home, url, **overrides))
    try:
        yield ctx
    finally:
        ctx.dispose()


def bench_partner(ctx: GatewayContext, name: str, datasets: list[str]) -> ClientRow:
    """A partner client allowed `datasets` for segmentation."""
    with transaction(ctx.sessions) as session:
        made = create_client(
            session, ctx, name, "partner", datasets, ["segmentation"], []
        )
    with transaction(ctx.sessions) as session:
        return clients_repo.by_id(session, made.client_id)


def consented_batches(
    ctx: GatewayContext, client: ClientRow, seed: int, count: int, size: int, tag: str
) -> list[list[dict[str, Any]]]:
    """`count` batches of `size` new people, each granted segmentation consent.

    The consents go in first, 500 events a transaction through the consent
    service, so that every record of the batches is accepted when ingested.
    """
    records = people(seed, 0, size * count, tag=tag)
    for chunk in batches([consent_event(r) for r in records], 500):
        with transaction(ctx.sessions) as session:
            events = RecordConsents(parse_events(chunk))
            consent_service.record(session, ctx, client, events)
    return batches(records, size)
