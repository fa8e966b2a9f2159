"""What a retention run removed, or would remove: counts and cut-offs only."""

from dataclasses import dataclass
from typing import Any

from gateway.retention.plan import RetentionPlan, iso


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What a retention run removed (or, dry, would remove): counts only."""

    dry_run: bool
    plan: RetentionPlan
    records: dict[str, int]
    vault_entries: int
    records_without_policy: int
    subjects_shredded: int
    consent_events: dict[str, int]
    idempotency: int
    pipeline_runs: int
    segments: int
    memberships: int
    run_entity_keys: int

    def document(self) -> dict[str, Any]:
        """The report as one JSON document (the CLI's and the audit event's)."""
        return {
            "dry_run": self.dry_run,
            "at": iso(self.plan.now),
            "cutoffs": self.plan.document(),
            "records": dict(self.records),
            "vault_entries": self.vault_entries,
            "records_without_policy": self.records_without_policy,
            "subjects_shredded": self.subjects_shredded,
            "consent_events": dict(self.consent_events),
            "idempotency": self.idempotency,
            "pipeline_runs": self.pipeline_runs,
            "segments": self.segments,
            "memberships": self.memberships,
            "run_entity_keys": self.run_entity_keys,
        }


def per_purpose(plan: RetentionPlan, counts: dict[str, int]) -> dict[str, int]:
    """Every purpose of the plan, zero included, so that reports compare."""
    return {name: counts.get(name, 0) for name in sorted(plan.purposes)}
