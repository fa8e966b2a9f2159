"""Build a running gateway from its settings, and initialise its data directory."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit import AuditEvent, append_events
from gateway.context import GatewayContext, utc_now
from gateway.crypto.keyring import Keyring, ensure_keyring, load_keyring
from gateway.policy.loader import load_policies
from gateway.policy.models import PolicySet
from gateway.settings import Settings
from gateway.storage import audit_repo, migrate
from gateway.storage.db import make_engine, make_session_factory, transaction
from gateway.storage.models import AuditEventRow


def read_keyring(settings: Settings) -> Keyring:
    """The keyring from GATEWAY_KEYRING_JSON if set, else from its file."""
    if settings.keyring_json:
        return Keyring.from_json(settings.keyring_json)
    return load_keyring(settings.keyring_path)


def build_context(
    settings: Settings, policies: PolicySet | None = None
) -> GatewayContext:
    """Load policies and keys and open the database (already migrated)."""
    url = settings.resolved_database_url
    engine = make_engine(url)
    read_engine = (
        make_engine(url, read_only=True) if url.startswith("sqlite") else engine
    )
    return GatewayContext(
        settings=settings,
        policies=policies or load_policies(settings.policies),
        keyring=read_keyring(settings),
        engine=engine,
        sessions=make_session_factory(engine),
        read_sessions=make_session_factory(read_engine),
    )


def record_policy_version(session: Session, ctx: GatewayContext, actor: str) -> bool:
    """Audit `policy.loaded` when the version differs from the last one loaded."""
    audit_repo.lock_head(session)
    last = session.scalars(
        select(AuditEventRow.policy_version)
        .where(AuditEventRow.action == "policy.loaded")
        .order_by(AuditEventRow.seq.desc())
        .limit(1)
    ).first()
    if last == ctx.policies.version:
        return False
    event = AuditEvent(actor, "policy.loaded", policy_version=ctx.policies.version)
    append_events(session, [event], ctx.clock(), ctx.checkpoint_signer)
    return True


@dataclass(frozen=True)
class InitReport:
    """What `gateway init` did."""

    home: str
    database: str
    keyring_created: bool
    policy_version: str
    policy_loaded: bool


def initialise(settings: Settings) -> InitReport:
    """Create the data directory and keyring, migrate, check and record the policies."""
    policies = load_policies(settings.policies)
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "logs").mkdir(exist_ok=True)
    created = False
    if not settings.keyring_json:
        _ring, created = ensure_keyring(settings.keyring_path, utc_now())
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    ctx = build_context(settings, policies)
    try:
        with transaction(ctx.sessions) as session:
            loaded = record_policy_version(session, ctx, "cli")
    finally:
        ctx.dispose()
    return InitReport(
        home=str(settings.home.resolve()),
        database=ctx.engine.url.render_as_string(hide_password=True),
        keyring_created=created,
        policy_version=policies.version,
        policy_loaded=loaded,
    )
