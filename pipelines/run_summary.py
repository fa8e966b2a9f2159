"""run_summary: a run's summary, figures only (pure)."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.policy.models import Audience

if TYPE_CHECKING:  # run imports this module, so the config is for types only
    from pipelines.run import RunConfig


def build_summary(
    run_id: str,
    audience: Audience,
    policy_version: str,
    config: "RunConfig",
    started: datetime,
    *,
    counts: dict[str, int],
    quality: dict[str, Any],
    dedupe: dict[str, int | str],
    segmentation: dict[str, Any],
    floor: dict[str, Any],
    segments: int,
) -> dict[str, Any]:
    """Figures only: no id of any person, no segment under the floor."""
    return {
        "run_id": run_id,
        "audience": audience.name,
        "purpose": audience.purpose,
        "generated_at": started.isoformat(),
        "policy_version": policy_version,
        "seed": config.seed,
        "parameters": config.as_dict(),
        "counts": counts,
        "quality": quality,
        "dedupe": dedupe,
        "segmentation": {
            key: value for key, value in segmentation.items() if key != "columns"
        },
        "k_anonymity": floor,
        "segments": segments,
    }
