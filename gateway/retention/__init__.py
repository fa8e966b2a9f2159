"""Retention: delete or crypto-shred what is past its purpose's retention."""

from gateway.retention.plan import (
    RetentionConfig,
    RetentionPlan,
    RunHead,
    plan_retention,
    runs_past_age,
)
from gateway.retention.report import RetentionReport
from gateway.retention.service import (
    DRY_RUN_ACTION,
    RUN_ACTION,
    RetentionStores,
    run_retention,
)

__all__ = [
    "DRY_RUN_ACTION",
    "RUN_ACTION",
    "RetentionConfig",
    "RetentionPlan",
    "RetentionReport",
    "RetentionStores",
    "RunHead",
    "plan_retention",
    "run_retention",
    "runs_past_age",
]
