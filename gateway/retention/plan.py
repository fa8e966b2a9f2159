"""What is past its retention at a given moment: pure decisions, no I/O.

Records follow their purpose's `retention_days`, counted from their last
update (a record re-sent changed is new data, so its clock restarts). A
purpose's consent events are kept while they can still prove something: an
event goes only once a later event of the same identifier and purpose was
itself recorded before the purpose's cut-off, so that no record still kept
was ever decided by it, and the latest event of each identifier and
purpose, the current state (a withdrawal or an objection above all), stays.
Operational data ages by configuration: stored idempotent responses (they
hold pseudonyms and record ids) and past pipeline runs with their
memberships, always except the latest finished run of each audience, which
destinations still pull from.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.policy.models import PolicySet


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    """Ages of operational data, from the settings, and the batch size."""

    idempotency_days: int
    run_days: int
    batch_size: int

    def __post_init__(self) -> None:
        if min(self.idempotency_days, self.run_days, self.batch_size) < 1:
            raise ValueError("retention ages and batch size must be at least 1")


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """The cut-offs of one retention run: data older than these goes."""

    now: datetime
    # Per purpose: records last updated, and consent events recorded, before it.
    purposes: dict[str, datetime]
    retention_days: dict[str, int]
    idempotency: datetime
    runs: datetime

    def document(self) -> dict[str, object]:
        """The cut-offs as JSON values (ISO 8601 UTC), for reports and the audit."""
        return {
            "purposes": {
                name: {"retention_days": self.retention_days[name], "before": iso(cut)}
                for name, cut in sorted(self.purposes.items())
            },
            "idempotency": iso(self.idempotency),
            "pipeline_runs": iso(self.runs),
        }


@dataclass(frozen=True, slots=True)
class RunHead:
    """A pipeline run as retention sees it: no member, no figure."""

    id: str
    audience: str
    started_at: datetime
    finished_at: datetime | None


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_retention(
    now: datetime, policies: PolicySet, config: RetentionConfig
) -> RetentionPlan:
    """Compute every cut-off of a retention run at `now`.

    Args:
        now: The moment of the run (timezone-aware, UTC).
        policies: The policies; each purpose gives its `retention_days`.
        config: The ages of operational data.

    Returns:
        The plan; purposes absent from the policies have no cut-off, so their
        records and consent events are kept (and counted apart).

    Raises:
        ValueError: `now` is naive.
    """
    if now.tzinfo is None:
        raise ValueError("retention needs a timezone-aware clock")
    days = {name: p.retention_days for name, p in policies.purposes.items()}
    return RetentionPlan(
        now=now,
        purposes={name: now - timedelta(days=d) for name, d in days.items()},
        retention_days=days,
        idempotency=now - timedelta(days=config.idempotency_days),
        runs=now - timedelta(days=config.run_days),
    )


def runs_past_age(runs: Iterable[RunHead], cutoff: datetime) -> list[str]:
    """The runs to delete: ended (or, unfinished, started) before the cut-off.

    The latest finished run of each audience is kept whatever its age:
    destinations pull from it, and removing it would leave them nothing.
    An unfinished run that old crashed: nobody ever saw it.
    """
    runs = list(runs)
    latest: dict[str, RunHead] = {}
    for run in runs:
        if run.finished_at is None:
            continue
        best = latest.get(run.audience)
        # Ties go to the larger id, as `segments_repo.latest_run` orders them.
        if best is None or (run.finished_at, run.id) > (best.finished_at, best.id):
            latest[run.audience] = run
    kept = {run.id for run in latest.values()}
    return sorted(
        run.id
        for run in runs
        if run.id not in kept and (run.finished_at or run.started_at) < cutoff
    )
