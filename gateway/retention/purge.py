"""Delete what is past its retention, one short transaction per batch.

Records past their purpose's retention go first, with their vault entries
and linkage encodings; then every data key that no longer protects any
record is destroyed, which also makes every pull drop that subject from the
runs it is in (`subjects_erased_since`). Then the superseded consent
events, the stale idempotent responses and the old runs, emptied batch by
batch of their memberships and entity keys before they go.
"""

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from gateway.policy.models import PolicySet
from gateway.retention.plan import RetentionPlan, RunHead, runs_past_age
from gateway.retention.report import RetentionReport, per_purpose
from gateway.storage import retention_repo
from gateway.storage.db import transaction

T = TypeVar("T")
K = TypeVar("K")


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; the
    # gateway only ever stores UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def doomed_runs(session: Session, plan: RetentionPlan) -> list[str]:
    """The ids of the runs past their age (`runs_past_age` on what is stored)."""
    heads = [
        RunHead(run_id, audience, _utc(started), _utc(finished) if finished else None)
        for run_id, audience, started, finished in retention_repo.run_heads(session)
    ]
    return runs_past_age(heads, plan.runs)


def _walk(
    sessions: sessionmaker[Session],
    limit: int,
    key: Any,
    start: K,
    act: Callable[[Session, K, K | None], None],
) -> None:
    """Act on a table slice by slice along its primary key, a transaction each."""
    after = start
    while True:
        with transaction(sessions) as session:
            upto = retention_repo.slice_end(session, key, after, limit)
            act(session, after, upto)
        if upto is None:
            return
        after = upto


def _sweep(
    sessions: sessionmaker[Session],
    limit: int,
    start: K,
    find: Callable[[Session, K, int], list[T]],
    act: Callable[[Session, list[T]], None],
    position: Callable[[T], K],
) -> None:
    """Find and act on one batch per transaction, by keyset, until none is left."""
    after = start
    while True:
        with transaction(sessions) as session:
            batch = find(session, after, limit)
            if batch:
                act(session, batch)
        if len(batch) < limit:
            return
        after = position(batch[-1])


def _until_empty(
    sessions: sessionmaker[Session], step: Callable[[Session], int]
) -> int:
    """Repeat a bounded delete, one transaction each, until it deletes nothing."""
    total = 0
    while True:
        with transaction(sessions) as session:
            done = step(session)
        if not done:
            return total
        total += done


def _purge_records(
    sessions: sessionmaker[Session], plan: RetentionPlan, limit: int
) -> tuple[Counter[str], int]:
    records: Counter[str] = Counter()
    vault = 0

    def act(session: Session, after: str, upto: str | None) -> None:
        nonlocal vault
        found = retention_repo.expired_records(session, plan.purposes, after, upto)
        ids = [record_id for record_id, _ in found]
        deleted, entries = retention_repo.delete_records(session, plan.purposes, ids)
        records.update(deleted)
        vault += entries

    _walk(sessions, limit, retention_repo.RECORDS, "", act)
    return records, vault


def _shred_keys(
    sessions: sessionmaker[Session], plan: RetentionPlan, limit: int
) -> int:
    shredded = 0

    def act(session: Session, after: str, upto: str | None) -> None:
        nonlocal shredded
        found = retention_repo.unprotecting_keys(session, after, upto)
        shredded += retention_repo.shred_keys(session, found, plan.now)

    _walk(sessions, limit, retention_repo.SUBJECT_KEYS, "", act)
    return shredded


def _purge_consents(
    sessions: sessionmaker[Session], plan: RetentionPlan, limit: int
) -> Counter[str]:
    events: Counter[str] = Counter()

    def act(session: Session, after: int, upto: int | None) -> None:
        found = retention_repo.superseded_consents(session, plan.purposes, after, upto)
        retention_repo.delete_consent_events(
            session, [event_id for event_id, _ in found]
        )
        events.update(purpose for _, purpose in found)

    _walk(sessions, limit, retention_repo.CONSENT_EVENTS, 0, act)
    return events


def _purge_idempotency(
    sessions: sessionmaker[Session], plan: RetentionPlan, limit: int
) -> int:
    deleted = 0

    def act(session: Session, batch: list[tuple[str, str]]) -> None:
        nonlocal deleted
        deleted += retention_repo.delete_idempotency(session, plan.idempotency, batch)

    _sweep(
        sessions,
        limit,
        ("", ""),
        lambda s, after, n: retention_repo.stale_idempotency(
            s, plan.idempotency, after, n
        ),
        act,
        lambda row: row,
    )
    return deleted


def _purge_runs(
    sessions: sessionmaker[Session], runs: Sequence[str], limit: int
) -> tuple[int, int, int]:
    """Empty each run batch by batch, then delete it; (segments, members, keys)."""
    segments = members = entity_keys = 0
    for run_id in runs:
        with transaction(sessions) as session:
            segment_ids = retention_repo.segment_ids(session, run_id)
        for segment_id in segment_ids:
            members += _until_empty(
                sessions,
                lambda s, seg=segment_id: retention_repo.delete_members(s, seg, limit),
            )
        entity_keys += _until_empty(
            sessions,
            lambda s, run=run_id: retention_repo.delete_entity_keys(s, run, limit),
        )
        with transaction(sessions) as session:
            segments += retention_repo.delete_run(session, run_id)
    return segments, members, entity_keys


def purge(
    sessions: sessionmaker[Session],
    policies: PolicySet,
    plan: RetentionPlan,
    limit: int,
) -> RetentionReport:
    """Delete everything past its retention at `plan.now`, one batch at a time."""
    with transaction(sessions) as session:
        without_policy = retention_repo.count_without_policy(session, policies.purposes)
        runs = doomed_runs(session, plan)
    records, vault = _purge_records(sessions, plan, limit)
    shredded = _shred_keys(sessions, plan, limit)
    consents = _purge_consents(sessions, plan, limit)
    idempotency = _purge_idempotency(sessions, plan, limit)
    segments, members, entity_keys = _purge_runs(sessions, runs, limit)
    return RetentionReport(
        dry_run=False,
        plan=plan,
        records=per_purpose(plan, dict(records)),
        vault_entries=vault,
        records_without_policy=without_policy,
        subjects_shredded=shredded,
        consent_events=per_purpose(plan, dict(consents)),
        idempotency=idempotency,
        pipeline_runs=len(runs),
        segments=segments,
        memberships=members,
        run_entity_keys=entity_keys,
    )
