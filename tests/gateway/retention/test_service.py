"""Retention on a real database: what goes, what stays, dry runs and the audit."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from gateway.audit import verify
from gateway.context import GatewayContext
from gateway.crypto.envelope import FieldCipher, unwrap_data_key
from gateway.crypto.keyring import KeyPurpose
from gateway.errors import DecryptionError
from gateway.ids import uuid7
from gateway.main import create_app
from gateway.retention import (
    RetentionConfig,
    RetentionReport,
    RetentionStores,
    run_retention,
)
from gateway.storage import records_repo, segments_repo
from gateway.storage.db import transaction
from gateway.storage.models import (
    AuditEventRow,
    Base,
    ConsentEventRow,
    IdempotencyRow,
    PipelineRunRow,
    RecordRow,
    RunEntityKeyRow,
    SegmentMemberRow,
    SubjectKeyRow,
    VaultEntryRow,
)
from gateway.vault import open_entry
from pipelines.export import RunToStore, store_run
from tests.databases import BOTH
from tests.factories import (
    ApiClient,
    consent,
    customer,
    make_client,
    send_consents,
    send_records,
)

DAY = timedelta(days=1)


class Clock:
    """A clock the test sets; the gateway reads it like the wall clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    ctx: GatewayContext
    http: TestClient
    partner: ApiClient
    clock: Clock
    now: datetime  # when retention runs

    def at(self, days_ago: float) -> datetime:
        return self.now - timedelta(days=days_ago)


@pytest.fixture
def world(fresh_ctx: GatewayContext) -> Iterator[World]:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = Clock(now)
    fresh_ctx.clock = clock
    with TestClient(create_app(fresh_ctx)) as http:
        yield World(fresh_ctx, http, make_client(fresh_ctx), clock, now)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def consent_at(
    world: World, person: dict[str, Any], days_ago: float, status: str = "granted"
) -> None:
    """A consent event given, and recorded, `days_ago` days before the run."""
    world.clock.now = world.at(days_ago)
    event = consent(
        "customer_id", person["customer_id"], status, timestamp=_iso(world.clock.now)
    )
    assert send_consents(world.http, world.partner, [event])["recorded"] == 1


def ingest_at(
    world: World,
    record: dict[str, Any],
    days_ago: float,
    purpose: str = "segmentation",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Send one record `days_ago` days before the run; its result."""
    world.clock.now = world.at(days_ago)
    response = send_records(
        world.http, world.partner, [record], purpose=purpose, headers=headers
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["results"][0]
    assert result["status"] in ("accepted", "updated"), result
    return result


def retention(world: World, *, dry_run: bool, batch_size: int = 2) -> RetentionReport:
    world.clock.now = world.now
    return run_retention(
        RetentionStores(world.ctx.sessions, world.ctx.read_sessions),
        world.ctx.policies,
        RetentionConfig(idempotency_days=1, run_days=30, batch_size=batch_size),
        world.clock,
        world.ctx.checkpoint_signer,
        dry_run=dry_run,
    )


@dataclass
class Records:
    gone: dict[str, Any]  # its only record is past retention
    mixed_old: dict[str, Any]  # past retention; the same subject has a fresh one
    mixed_new: dict[str, Any]
    mixed_new_name: str
    fresh: dict[str, Any]
    refreshed: dict[str, Any]  # old, re-sent changed lately: its clock restarted
    analytics_kept: dict[str, Any]  # 400 days old, but analytics keeps 730
    analytics_gone: dict[str, Any]


def store_records(world: World) -> Records:
    """Records of every age around the cut-offs (segmentation 395, analytics 730)."""
    gone, mixed, fresh, refreshed = (customer() for _ in range(4))
    for person in (gone, mixed, refreshed):
        consent_at(world, person, 401)
    consent_at(world, fresh, 11)
    mixed_new = customer({"customer_id": mixed["customer_id"], "first_name": "Ines"})
    refreshed_id = ingest_at(world, refreshed, 400)["record_id"]
    changed = ingest_at(world, refreshed | {"loyalty_tier": "silver"}, 5)
    assert (changed["status"], changed["record_id"]) == ("updated", refreshed_id)
    records = Records(
        gone=ingest_at(world, gone, 400),
        mixed_old=ingest_at(world, mixed, 400),
        mixed_new=ingest_at(world, mixed_new, 10),
        mixed_new_name=mixed_new["first_name"],
        fresh=ingest_at(world, fresh, 10),
        refreshed=changed,
        analytics_kept=ingest_at(world, customer(), 400, "analytics"),
        analytics_gone=ingest_at(world, customer(), 731, "analytics"),
    )
    assert records.mixed_old["subject_id"] == records.mixed_new["subject_id"]
    return records


def record_ids(world: World) -> set[str]:
    with transaction(world.ctx.read_sessions) as session:
        return set(session.scalars(select(RecordRow.id)))


def vault_ids(world: World) -> set[str]:
    with transaction(world.ctx.read_sessions) as session:
        return set(session.scalars(select(VaultEntryRow.record_id)))


def opens_under_a_live_key(world: World, result: dict[str, Any], blob: bytes) -> bool:
    """Whether any data key the database still holds opens this vault entry."""
    with transaction(world.ctx.read_sessions) as session:
        live = session.scalars(
            select(SubjectKeyRow).where(SubjectKeyRow.wrapped_key.is_not(None))
        ).all()
    for row in live:
        assert row.wrapped_key is not None
        master = world.ctx.keyring.get(KeyPurpose.MASTER, row.master_kid)
        dek = unwrap_data_key(master, row.wrapped_key, row.subject_id)
        try:
            open_entry(
                FieldCipher(dek), result["record_id"], result["subject_id"], blob
            )
        except DecryptionError:
            continue
        return True
    return False


def decrypt(world: World, result: dict[str, Any]) -> dict[str, str]:
    """Open a record's vault entry under its subject's data key."""
    subject, record_id = result["subject_id"], result["record_id"]
    with transaction(world.ctx.read_sessions) as session:
        key = records_repo.subject_keys(session, [subject])[subject]
        blob = session.get(VaultEntryRow, record_id)
        assert key.wrapped_key is not None
        assert blob is not None
        master = world.ctx.keyring.get(KeyPurpose.MASTER, key.master_kid)
        dek = unwrap_data_key(master, key.wrapped_key, subject)
        return open_entry(FieldCipher(dek), record_id, subject, blob.ciphertext)


@BOTH
def test_records_past_retention_go_with_their_vault_and_recent_ones_stay(
    world: World,
) -> None:
    records = store_records(world)
    before = record_ids(world)
    gone = {
        records.gone["record_id"],
        records.mixed_old["record_id"],
        records.analytics_gone["record_id"],
    }

    report = retention(world, dry_run=False)

    assert report.records == {"analytics": 1, "segmentation": 2}
    assert report.vault_entries == 3
    assert record_ids(world) == before - gone
    assert vault_ids(world) == before - gone
    # The subject that keeps a record keeps its key: its data still opens.
    assert decrypt(world, records.mixed_new)["first_name"] == records.mixed_new_name


@BOTH
def test_a_subject_left_without_records_is_crypto_shredded(world: World) -> None:
    records = store_records(world)
    subject = records.gone["subject_id"]
    with transaction(world.ctx.read_sessions) as session:
        blob = session.get(VaultEntryRow, records.gone["record_id"])
        assert blob is not None
        ciphertext = blob.ciphertext
    assert opens_under_a_live_key(world, records.gone, ciphertext)

    report = retention(world, dry_run=False)

    assert report.subjects_shredded == 2  # gone, and the old analytics one
    with transaction(world.ctx.read_sessions) as session:
        keys = records_repo.subject_keys(
            session, [subject, records.mixed_new["subject_id"]]
        )
        erased = segments_repo.subjects_erased_since(session, world.now)
    assert keys[subject].wrapped_key is None
    assert keys[subject].destroyed_at is not None
    assert keys[records.mixed_new["subject_id"]].wrapped_key is not None
    # A copy of its vault entry (a backup, a replica) opens no more.
    assert not opens_under_a_live_key(world, records.gone, ciphertext)
    assert records.gone["record_id"] not in vault_ids(world)
    # Pulls drop subjects whose key was destroyed since a run started.
    assert erased == {subject, records.analytics_gone["subject_id"]}


@BOTH
def test_superseded_consent_events_go_and_the_current_state_stays(
    world: World,
) -> None:
    flip, late = customer(), customer()
    consent_at(world, flip, 700)
    consent_at(world, flip, 600, "withdrawn")
    consent_at(world, flip, 500)  # the current state, recorded before the cut-off
    consent_at(world, late, 500)  # superseded only by an event made lately:
    consent_at(world, late, 5)  # records decided by it may still be kept

    report = retention(world, dry_run=False)

    assert report.consent_events == {"analytics": 0, "segmentation": 2}
    with transaction(world.ctx.read_sessions) as session:
        left = session.execute(
            select(ConsentEventRow.granted, ConsentEventRow.recorded_at).order_by(
                ConsentEventRow.recorded_at
            )
        ).all()
    assert [granted for granted, _ in left] == [True, True, True]
    assert len(left) == 3
    # flip's latest still decides: a record sent now is accepted.
    again = customer({"customer_id": flip["customer_id"]})
    assert ingest_at(world, again, 0)["status"] == "accepted"


def store_run_at(
    world: World, audience: str, finished: datetime, *, segments: int = 2
) -> str:
    """A finished run of `segments` segments of 3 members, 4 entity keys."""
    run_id = uuid7(finished)
    labels = [f"L1-{n:02d}" for n in range(1, segments + 1)]
    store_run(
        world.ctx.sessions,
        RunToStore(
            run_id=run_id,
            audience=audience,
            purpose="segmentation",
            policy_version=world.ctx.policies.version,
            seed=1,
            started_at=finished - timedelta(minutes=5),
            finished_at=finished,
            summary={},
            segments=pl.DataFrame(
                {
                    "segment_id": labels,
                    "level": [1] * segments,
                    "parent_id": [None] * segments,
                    "size": [3] * segments,
                    "description": [""] * segments,
                },
                schema_overrides={"parent_id": pl.String},
            ),
            memberships=pl.DataFrame(
                {
                    "entity_id": [f"e{n}" for n in range(3 * segments)],
                    "segment_id": [label for label in labels for _ in range(3)],
                }
            ),
            entity_keys=pl.DataFrame(
                {
                    "entity_id": [f"e{n}" for n in range(4)],
                    "subject_id": [f"s{n}" for n in range(4)],
                    "identifier_key": [f"k{n}" for n in range(4)],
                }
            ),
        ),
    )
    return run_id


def store_runs(world: World) -> dict[str, str]:
    runs = {
        "old": store_run_at(world, "retail_default", world.at(100)),
        "older_but_one": store_run_at(world, "retail_default", world.at(60)),
        # retail_default's latest: destinations pull it, so it stays.
        "latest": store_run_at(world, "retail_default", world.at(40)),
        "other_only": store_run_at(world, "other_audience", world.at(90)),
        "crashed": uuid7(world.at(50)),
    }
    with transaction(world.ctx.sessions) as session:
        segments_repo.start_run(
            session,
            {
                "id": runs["crashed"],
                "audience": "retail_default",
                "policy_version": world.ctx.policies.version,
                "seed": 1,
                "started_at": world.at(50),
                "finished_at": None,
                "summary": {},
            },
        )
    return runs


@BOTH
def test_old_runs_and_responses_go_and_each_audience_keeps_its_latest_run(
    world: World,
) -> None:
    runs = store_runs(world)
    person = customer()
    consent_at(world, person, 3)
    key = {"Idempotency-Key": "old-request"}
    ingest_at(world, person, 2, headers=key)
    same_subject = customer({"customer_id": person["customer_id"]})
    ingest_at(world, same_subject, 0.5, headers={"Idempotency-Key": "new"})

    report = retention(world, dry_run=False)

    assert (report.pipeline_runs, report.segments) == (3, 4)
    assert (report.memberships, report.run_entity_keys) == (12, 8)
    assert report.idempotency == 1
    with transaction(world.ctx.read_sessions) as session:
        left = set(session.scalars(select(PipelineRunRow.id)))
        latest = segments_repo.latest_run(session, "retail_default")
        members = session.scalar(select(func.count()).select_from(SegmentMemberRow))
        keys = set(session.scalars(select(RunEntityKeyRow.run_id)))
        responses = set(session.scalars(select(IdempotencyRow.key)))
    assert left == {runs["latest"], runs["other_only"]}
    assert latest is not None
    assert latest.id == runs["latest"]
    assert members == 12  # two runs of two segments of three
    assert keys == left
    assert responses == {"new"}


def table_counts(world: World) -> dict[str, int]:
    with transaction(world.ctx.read_sessions) as session:
        return {
            table.name: int(
                session.scalar(select(func.count()).select_from(table)) or 0
            )
            for table in Base.metadata.sorted_tables
        }


@BOTH
def test_a_dry_run_changes_nothing_and_counts_what_the_run_then_deletes(
    world: World,
) -> None:
    store_records(world)
    store_runs(world)
    flip = customer()
    consent_at(world, flip, 700)
    consent_at(world, flip, 600, "withdrawn")
    # An old response; its record is analytics, kept for 730 days.
    ingest_at(world, customer(), 400, "analytics", {"Idempotency-Key": "k"})
    before = table_counts(world)

    dry = retention(world, dry_run=True)

    after = table_counts(world)
    assert after.pop("audit_events") == before.pop("audit_events") + 1
    for grown in ("audit_checkpoints", "audit_nodes", "audit_head"):
        after.pop(grown), before.pop(grown)
    assert after == before
    assert dry.records == {"analytics": 1, "segmentation": 2}
    assert (dry.subjects_shredded, dry.idempotency, dry.pipeline_runs) == (2, 1, 3)
    assert dry.consent_events == {"analytics": 0, "segmentation": 1}
    real = retention(world, dry_run=False, batch_size=1)
    assert dry.document() == real.document() | {"dry_run": True}
    assert retention(world, dry_run=True).document() == real.document() | {
        "dry_run": True,
        "records": {"analytics": 0, "segmentation": 0},
        "vault_entries": 0,
        "subjects_shredded": 0,
        "consent_events": {"analytics": 0, "segmentation": 0},
        "idempotency": 0,
        "pipeline_runs": 0,
        "segments": 0,
        "memberships": 0,
        "run_entity_keys": 0,
    }


@BOTH
def test_each_run_is_audited_with_counts_only_and_the_log_verifies(
    world: World,
) -> None:
    records = store_records(world)
    retention(world, dry_run=True)
    report = retention(world, dry_run=False)

    with transaction(world.ctx.read_sessions) as session:
        events = session.execute(
            select(AuditEventRow.action, AuditEventRow.canonical, AuditEventRow.details)
            .where(AuditEventRow.action.like("retention.%"))
            .order_by(AuditEventRow.seq)
        ).all()
        verified = verify(session, world.ctx.read_sessions)
    assert [action for action, _, _ in events] == [
        "retention.dry_run",
        "retention.run",
    ]
    details = json.loads(events[1].details)
    assert details["records"] == {"analytics": 1, "segmentation": 2}
    assert details == report.document()
    for _, canonical, _ in events:
        for result in (records.gone, records.mixed_old, records.analytics_gone):
            assert result["subject_id"].encode() not in canonical
            assert result["record_id"].encode() not in canonical
    assert verified.ok, verified.problem


@BOTH
def test_records_under_a_purpose_no_longer_defined_are_kept_and_counted(
    world: World,
) -> None:
    records = store_records(world)
    with transaction(world.ctx.sessions) as session:
        # As if the policies had dropped the purpose: no retention to apply.
        session.execute(
            update(RecordRow)
            .where(RecordRow.id == records.gone["record_id"])
            .values(purpose="retired_purpose")
        )

    dry = retention(world, dry_run=True)
    report = retention(world, dry_run=False)

    assert dry.records_without_policy == report.records_without_policy == 1
    assert report.records == {"analytics": 1, "segmentation": 1}
    assert records.gone["record_id"] in record_ids(world)
    assert decrypt(world, records.gone)  # its subject's key was kept
