"""run_stages: what each stage of an audience's run does (`pipelines.run`).

`run_audience` times these in order. Each takes what its stage reads and
returns what later stages read, so what only one stage needs goes when the
stage ends; frames no later stage reads are dropped where the comments say,
as the run's memory peak depends on it.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import polars as pl

from gateway.context import GatewayContext
from gateway.crypto.keyring import Key, Keyring, holdout_key
from gateway.linkage.sealed import Sealer
from gateway.policy.audiences import Audience
from gateway.policy.models import PolicySet
from gateway.policy.segmentation import PROFILE
from pipelines.describe import describe_segments, stored_description
from pipelines.drift import DriftReport, FeatureReference
from pipelines.export import LinkageToStore, RunToStore, store_run
from pipelines.extract import Extracted, extract
from pipelines.features import build_features, category_shares, numeric_matrix
from pipelines.frames import Levels
from pipelines.fs_link import FsConfig
from pipelines.holdout import HoldoutSplit, hold_out, holdout_segment
from pipelines.k_floor import FloorReport, enforce_floor
from pipelines.linking import (
    EVENTS,
    LinkConfig,
    Linked,
    drop_encodings,
    entity_frames,
    entity_keys,
    link_records,
    record_versions,
)
from pipelines.monitoring import (
    PreviousRun,
    drift_report,
    feature_drift,
    feature_profile,
    read_previous,
)
from pipelines.personas import free_texts
from pipelines.predictive import Scored, rule_scores
from pipelines.previous_entities import continue_ids, read_previous_entities
from pipelines.quality import impute
from pipelines.roles import by_role, model_identifiers
from pipelines.run_outputs import write_outputs
from pipelines.segment_config import SegmentConfig, policy_levels
from pipelines.segment_frames import SegmentationResult
from pipelines.segmentation_mode import Segmented, SegmentInput, segment_or_assign

if TYPE_CHECKING:  # run imports this module, so the config is for types only
    from pipelines.run import RunConfig


def extract_records(
    ctx: GatewayContext, audience: Audience, chunk_rows: int, linkage_key: Key
) -> Extracted:
    """Read the consented records, their encodings sealed under `linkage_key`."""
    return extract(
        ctx.engine,
        ctx.policies,
        audience,
        chunk_rows,
        Sealer(linkage_key.kid, linkage_key.material),
    )


def role_frames(
    extracted: Extracted, policies: PolicySet, audience: Audience
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The extracted frames keyed by role, and their free texts; empties `extracted`."""
    # Free text is read by no role frame: taken (redacted, as stored) before
    # the extracted frames go, for the themes of the personas.
    texts = free_texts(extracted.frames, policies, audience)
    # From here on, frames are keyed by role and columns named by role: the
    # stages never name a dataset or a field (the policies do).
    frames = by_role(extracted.frames, policies, audience)
    # Only the role frames from here on: the extracted ones would otherwise
    # hold every column they dropped through the linkage stage, the run's
    # memory peak.
    extracted.frames.clear()
    if EVENTS in frames:
        # No stage reads an event's record id or version (only profiles'
        # versions serve incremental linkage): `frames.EVENTS_SCHEMA`.
        frames[EVENTS] = frames[EVENTS].drop("record_id", "version", strict=False)
    return frames, texts


# A tuple, unpacked by the run: kept whole, it would hold on to the
# customers and events that the quality stage's replace.
class Deduped(NamedTuple):
    """The people the linkage found, and their customer and event frames."""

    linked: Linked
    customers: pl.DataFrame
    events: pl.DataFrame
    unmatched: int  # events without a customer


def dedupe_records(
    ctx: GatewayContext,
    audience: Audience,
    link: LinkConfig,
    linkage_kid: str,
    frames: dict[str, pl.DataFrame],
) -> Deduped:
    """Link `frames`' records into people, under the last run's ids they continue.

    The profiles' encodings and the raw events leave `frames` here: no later
    stage reads them.
    """
    previous = read_previous_entities(ctx, audience)
    linked = link_records(
        frames,
        link,
        model_identifiers=model_identifiers(ctx.policies, audience),
        previous=previous.linkage,
        linkage_kid=linkage_kid,
        fs_config=FsConfig(households=audience.linkage_households),
    )
    # The encodings served the linkage only: no later stage sees them.
    frames[PROFILE] = drop_encodings(frames[PROFILE])
    linked = continue_ids(frames, linked, previous)
    # The previous run's record table (a million rows at scale) is not
    # read again: freed before the propensity stage sets the run's peak.
    del previous
    customers, events, unmatched = entity_frames(frames, linked.entities)
    # The raw events are in `events` now, by entity; their identifiers are
    # their subjects', which the customer records carry too.
    frames.pop(EVENTS, None)
    return Deduped(linked, customers, events, unmatched)


@dataclass(frozen=True)
class Features:
    """Each person's features, how gaps were filled, and the numeric matrix."""

    table: pl.DataFrame
    imputation: dict[str, dict[str, Any]]
    matrix: np.ndarray
    columns: list[str]


def build_feature_matrix(
    customers: pl.DataFrame,
    events: pl.DataFrame,
    as_of: datetime,
    levels: Levels,
    k_min: int,
) -> Features:
    """Build, impute and stack the features of every person."""
    features = build_features(customers, events, as_of, levels)
    features, imputation = impute(features)
    matrix, columns = numeric_matrix(features, levels)
    # Preferences: shares of the common product categories, a feature
    # group of their own (the level policy decides what uses them).
    shares, share_names = category_shares(
        events, features["entity_id"], min_entities=k_min
    )
    return Features(
        features,
        imputation,
        np.hstack([matrix, shares]),
        [*columns, *share_names],
    )


def require_enough_people(features: Features, k_min: int) -> None:
    """Check that there are people enough to segment above the floor.

    Raises:
        ValueError: Fewer than twice `k_min` people have consented data.
    """
    if features.table.height < 2 * k_min:
        raise ValueError(
            f"only {features.table.height} people have consented data: too few to "
            f"segment above k_min={k_min}"
        )


@dataclass(frozen=True)
class Segmentation:
    """The segment stage's outcome, and the previous run it was measured against."""

    segmented: Segmented
    config: SegmentConfig
    previous_run: PreviousRun | None
    measured: DriftReport | None

    @property
    def result(self) -> SegmentationResult:
        """The segments and memberships, however they were made."""
        return self.segmented.result


def _segment_config(
    audience: Audience, config: "RunConfig", columns: list[str]
) -> SegmentConfig:
    return SegmentConfig(
        n_bootstrap=config.n_bootstrap,
        # A parent is only split when its parts could pass the floor.
        min_size=audience.k_min,
        # No cluster, so no stored centroid, stands for fewer people.
        floor=audience.k_min,
        levels=policy_levels(audience.levels, audience.level_rules, columns),
    )


def segment_people(
    ctx: GatewayContext,
    audience: Audience,
    config: "RunConfig",
    features: Features,
    scored: Scored,
) -> Segmentation:
    """Segment the people, or assign them with the previous run's segmentation."""
    # Feature drift is measured first: it decides whether the previous
    # run's segmentation may assign this run's people.
    previous_run = read_previous(ctx.read_sessions, audience.name)
    measured = feature_drift(previous_run, features.table, audience.drift)
    # The score is passed beside the features, not among them: only rules
    # levels test it, no cluster level or centroid ever sees it.
    segment_config = _segment_config(audience, config, features.columns)
    entity_ids = features.table["entity_id"]
    segmented = segment_or_assign(
        segment_config,
        SegmentInput(
            entity_ids,
            features.matrix,
            features.columns,
            config.seed,
            rule_scores(scored, entity_ids),
        ),
        previous_run,
        () if measured is None else measured.drifted_features,
    )
    return Segmentation(segmented, segment_config, previous_run, measured)


def hold_out_people(
    keyring: Keyring,
    audience: Audience,
    segmentation: Segmentation,
    features: Features,
) -> HoldoutSplit:
    """Set the audience's holdout share of people apart, by keyed draw."""
    return hold_out(
        segmentation.result.memberships,
        features.table["entity_id"],
        key=holdout_key(keyring),
        audience=audience.name,
        share=audience.holdout_share,
        k_min=audience.k_min,
    )


def floor_segments(
    split: HoldoutSplit, segmentation: Segmentation, k_min: int
) -> tuple[pl.DataFrame, pl.DataFrame, FloorReport]:
    """Members and described segments once none is under `k_min`."""
    result = segmentation.result
    members, segments, floor = enforce_floor(split.memberships, result.segments, k_min)
    return members, describe_segments(segments, result.metrics["columns"]), floor


@dataclass(frozen=True)
class Drift:
    """This run's feature reference, and its drift from the previous run."""

    profile: dict[str, FeatureReference]
    report: dict[str, Any]


def measure_drift(
    segmentation: Segmentation,
    features: Features,
    segments: pl.DataFrame,
    levels: Levels,
    audience: Audience,
) -> Drift:
    """Profile this run's features and compare the run with the previous one."""
    profile = feature_profile(features.table, levels, audience.k_min)
    report = drift_report(
        segmentation.previous_run,
        features.table,
        segments,
        audience.drift,
        segmentation.measured,
    )
    return Drift(profile, report)


def with_holdout(
    members: pl.DataFrame, segments: pl.DataFrame, split: HoldoutSplit
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`members` and `segments` with the holdout among them."""
    # The holdout is exported as a segment of its own, outside the hierarchy.
    return (
        pl.concat([members, split.holdout], how="diagonal_relaxed"),
        pl.concat([segments, holdout_segment(split)], how="diagonal_relaxed"),
    )


@dataclass(frozen=True)
class RunIdentity:
    """What names a run in the store: its id, audience, seed and start."""

    run_id: str
    audience: Audience
    seed: int
    started: datetime


def store_audience_run(
    ctx: GatewayContext,
    run: RunIdentity,
    summary: dict[str, Any],
    members: pl.DataFrame,
    segments: pl.DataFrame,
    frames: dict[str, pl.DataFrame],
    linked: Linked,
    linkage_kid: str,
) -> None:
    """Store the run, its segments, members and linkage state, and sign it."""
    finished = ctx.clock()
    store_run(
        ctx.sessions,
        RunToStore(
            run_id=run.run_id,
            audience=run.audience.name,
            purpose=run.audience.purpose,
            policy_version=ctx.policies.version,
            seed=run.seed,
            started_at=run.started,
            finished_at=finished,
            summary=summary,
            segments=segments.select(
                "segment_id",
                "level",
                "parent_id",
                "size",
                stored_description(segments),
            ),
            memberships=members.select("entity_id", "segment_id"),
            entity_keys=entity_keys(frames, linked.entities, members),
            linkage=LinkageToStore(
                linkage_kid=linkage_kid,
                model=linked.model.to_json(),
                incremental_runs=linked.incremental_runs,
                record_entities=record_versions(frames, linked.entities),
            ),
            k_min=run.audience.k_min,
        ),
        ctx.checkpoint_signer,
    )


def write_run_outputs(
    out: Path,
    summary: dict[str, Any],
    linked: Linked,
    members: pl.DataFrame,
    segments: pl.DataFrame,
    features: Features,
    segmentation: Segmentation,
) -> None:
    """Write the run's entities, memberships and report under `out`."""
    write_outputs(
        out,
        summary,
        linked.entities,
        members,
        segments,
        features.matrix,
        features.table,
        segmentation.result.metrics,
    )
