"""Run retention: count, or delete (`gateway.retention.purge`), then audit.

One audit event closes the run, with counts and cut-offs only: never a
value, never an id of a person. A dry run counts the same things the same
way, changes nothing, and is audited too (as `retention.dry_run`): the DPO
looked, and the log says so.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from gateway.audit import AuditEvent, append_events
from gateway.audit.checkpoints import CheckpointSigner
from gateway.policy.models import PolicySet
from gateway.retention.plan import RetentionConfig, RetentionPlan, plan_retention
from gateway.retention.purge import doomed_runs, purge
from gateway.retention.report import RetentionReport, per_purpose
from gateway.storage import retention_repo
from gateway.storage.db import transaction

RUN_ACTION = "retention.run"
DRY_RUN_ACTION = "retention.dry_run"


@dataclass(frozen=True, slots=True)
class RetentionStores:
    """Where retention reads (counts) and writes (deletes and the audit event)."""

    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]


def count(
    session: Session, policies: PolicySet, plan: RetentionPlan
) -> RetentionReport:
    """Count what a run at `plan.now` would remove, without changing anything."""
    runs = doomed_runs(session, plan)
    segments, members, entity_keys = retention_repo.count_run_contents(session, runs)
    return RetentionReport(
        dry_run=True,
        plan=plan,
        records=per_purpose(plan, retention_repo.count_records(session, plan.purposes)),
        vault_entries=retention_repo.count_vault_entries(session, plan.purposes),
        records_without_policy=retention_repo.count_without_policy(
            session, policies.purposes
        ),
        subjects_shredded=retention_repo.count_shreddable(session, plan.purposes),
        consent_events=per_purpose(
            plan, retention_repo.count_consent_events(session, plan.purposes)
        ),
        idempotency=retention_repo.count_idempotency(session, plan.idempotency),
        pipeline_runs=len(runs),
        segments=segments,
        memberships=members,
        run_entity_keys=entity_keys,
    )


def run_retention(
    stores: RetentionStores,
    policies: PolicySet,
    config: RetentionConfig,
    clock: Callable[[], datetime],
    signer: CheckpointSigner | None,
    *,
    dry_run: bool,
    actor: str = "cli",
) -> RetentionReport:
    """Plan at the clock's now, count or delete, and audit the run.

    Args:
        stores: Session factories; counts read, deletes and the audit write.
        policies: The policies (each purpose's `retention_days`).
        config: Ages of operational data and the batch size.
        clock: The gateway's clock, read once for every cut-off.
        signer: Signs the checkpoint of the audit batch, as every writer does.
        dry_run: Count only; nothing but the audit event is written.
        actor: Who ran it, for the audit event.

    Returns:
        The counts, per kind and per purpose, and the cut-offs.
    """
    plan = plan_retention(clock(), policies, config)
    if dry_run:
        with transaction(stores.read_sessions) as session:
            report = count(session, policies, plan)
    else:
        report = purge(stores.sessions, policies, plan, config.batch_size)
    event = AuditEvent(
        actor=actor,
        action=DRY_RUN_ACTION if dry_run else RUN_ACTION,
        policy_version=policies.version,
        details=report.document(),
    )
    with transaction(stores.sessions) as session:
        append_events(session, [event], clock(), signer)
    return report
