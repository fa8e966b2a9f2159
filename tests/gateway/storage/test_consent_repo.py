"""The consent ledger's history for an access request: every event, with its proof."""

import uuid
from datetime import UTC, datetime, timedelta

from gateway.context import GatewayContext
from gateway.storage import consent_repo
from gateway.storage.db import transaction
from tests.factories import make_client

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _event(key: str, client_id: str, minutes: int, **over: object) -> dict[str, object]:
    return {
        "identifier_key": key,
        "identifier_type": "email",
        "purpose": "segmentation",
        "granted": True,
        "explicit": False,
        "event_time": T0 + timedelta(minutes=minutes),
        "source": "cmp:test",
        "client_id": client_id,
        "recorded_at": T0 + timedelta(days=1),
    } | over


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; they were stored in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def test_history_lists_every_event_oldest_first_with_tcf_proof(
    ctx: GatewayContext,
) -> None:
    partner = make_client(ctx)
    mine, also_mine, other = (f"k-{uuid.uuid4().hex}" for _ in range(3))
    digest = "ab" * 32
    rows = [
        _event(mine, partner.client_id, 30, granted=False, source="gpc"),
        _event(
            also_mine,
            partner.client_id,
            10,
            tcf_sha256=digest,
            tcf_cmp_id=300,
            tcf_last_updated=T0 - timedelta(hours=1),
        ),
        _event(other, partner.client_id, 20),
        _event(mine, partner.client_id, 0, purpose="analytics"),
    ]
    with transaction(ctx.sessions) as session:
        consent_repo.add_many(session, rows)
    with transaction(ctx.read_sessions) as session:
        history = consent_repo.history_for(session, [mine, also_mine])
    assert [(h.identifier_key, h.purpose, h.granted) for h in history] == [
        (mine, "analytics", True),
        (also_mine, "segmentation", True),
        (mine, "segmentation", False),
    ]
    first, proved, objected = history
    assert (first.tcf_sha256, first.tcf_cmp_id, first.tcf_last_updated) == (None,) * 3
    assert (proved.tcf_sha256, proved.tcf_cmp_id) == (digest, 300)
    assert _aware(proved.tcf_last_updated) == T0 - timedelta(hours=1)
    assert _aware(proved.event_time) == T0 + timedelta(minutes=10)
    assert (objected.source, objected.client_id) == ("gpc", partner.client_id)


def test_history_of_unknown_identifiers_is_empty(ctx: GatewayContext) -> None:
    with transaction(ctx.read_sessions) as session:
        assert consent_repo.history_for(session, [f"k-{uuid.uuid4().hex}"]) == []
        assert consent_repo.history_for(session, []) == []
