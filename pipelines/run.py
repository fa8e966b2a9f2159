"""run: an audience's whole pipeline, stage by stage, from the database to exports.

extract → dedupe → quality → features → propensity → segment → holdout →
k-anonymity floor → describe → drift → themes → export (database, parquet
files, summary, report). Every stage but the edges is a pure function of
frames; this module only wires them, reports progress and times them.

The propensity comes before the segmentation so that rules levels can test
the score (``propensity >= 0.75``); its fit reads the features before its
own cut-off, not the segments, so the order changes nothing in it.

The segment stage first measures feature drift against the previous run:
with no drifted feature, an unchanged level policy and a stored model, it
assigns people with the previous run's segmentation instead of refitting
it (`pipelines.assignment`; summary ``segmentation.mode``). The propensity
model is refitted on every run; segment-size drift is measured after.
"""

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from gateway.context import GatewayContext
from gateway.crypto.keyring import KeyPurpose, holdout_key
from gateway.errors import NotFoundError
from gateway.ids import uuid7
from gateway.linkage.sealed import Sealer
from gateway.policy.models import Audience
from gateway.policy.segmentation import PROFILE
from pipelines.describe import describe_segments, stored_description
from pipelines.export import LinkageToStore, RunToStore, store_run
from pipelines.extract import Extracted, extract
from pipelines.features import build_features, category_shares, numeric_matrix
from pipelines.frames import Levels
from pipelines.fs_link import FsConfig
from pipelines.holdout import hold_out, holdout_segment
from pipelines.k_floor import enforce_floor
from pipelines.linking import (
    EVENTS,
    LinkConfig,
    drop_encodings,
    entity_frames,
    entity_keys,
    link_records,
    record_versions,
)
from pipelines.monitoring import (
    drift_report,
    feature_drift,
    feature_profile,
    read_previous,
)
from pipelines.personas import (
    RUN_THEMES,
    free_texts,
    member_texts,
    personas,
    themes_by_segment,
)
from pipelines.predictive import (
    CurrentFeatures,
    forbidden_fields,
    rule_scores,
    score_propensity,
)
from pipelines.previous_entities import continue_ids, read_previous_entities
from pipelines.quality import assess, impute
from pipelines.roles import by_role, model_identifiers
from pipelines.run_outputs import write_outputs
from pipelines.run_summary import build_summary
from pipelines.segment_config import SegmentConfig, policy_levels
from pipelines.segmentation_mode import SegmentInput, segment_or_assign
from pipelines.stage_clock import Progress, StageClock

STAGES = (
    "extract",
    "dedupe",
    "quality",
    "features",
    "propensity",
    "segment",
    "holdout",
    "k-anonymity floor",
    "drift",
    "themes",
    "export",
)


@dataclass(frozen=True)
class RunConfig:
    """Parameters of a run; all of them are recorded in its summary."""

    seed: int = 20261123
    link: LinkConfig = field(default_factory=LinkConfig)
    chunk_rows: int = 50_000
    n_bootstrap: int = 5
    as_of: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The parameters as JSON values."""
        return {
            "seed": self.seed,
            "match_threshold": self.link.match_threshold,
            "max_component": self.link.max_component,
            "max_new_share": self.link.max_new_share,
            "full_every": self.link.full_every,
            "n_bootstrap": self.n_bootstrap,
        }


def _segment_config(
    audience: Audience, config: RunConfig, columns: list[str]
) -> SegmentConfig:
    return SegmentConfig(
        n_bootstrap=config.n_bootstrap,
        # A parent is only split when its parts could pass the floor.
        min_size=audience.k_min,
        # No cluster, so no stored centroid, stands for fewer people.
        floor=audience.k_min,
        levels=policy_levels(audience.levels, audience.level_rules, columns),
    )


def _audience(ctx: GatewayContext, name: str) -> Audience:
    audience = ctx.policies.audiences.get(name)
    if audience is None:
        raise NotFoundError(f"no audience named {name!r} in the policies")
    return audience


def run_audience(
    ctx: GatewayContext,
    audience_name: str,
    out: Path | None,
    config: RunConfig | None = None,
    progress: Progress = lambda _stage: None,
) -> dict[str, Any]:
    """Run the pipeline for one audience; returns the run's summary.

    Raises:
        NotFoundError: The audience is not in the policies.
        ValueError: Not enough consented data to segment.
    """
    config = config or RunConfig()
    audience = _audience(ctx, audience_name)
    started = ctx.clock()
    as_of = config.as_of or started
    clock = StageClock()
    linkage_key = ctx.keyring.active(KeyPurpose.LINKAGE)
    with clock.stage("extract", progress):
        extracted: Extracted = extract(
            ctx.engine,
            ctx.policies,
            audience,
            config.chunk_rows,
            Sealer(linkage_key.kid, linkage_key.material),
        )
    read_counts = extracted.counts()
    # Free text is read by no role frame: taken (redacted, as stored) before
    # the extracted frames go, for the themes of the personas.
    texts = free_texts(extracted.frames, ctx.policies, audience)
    # From here on, frames are keyed by role and columns named by role: the
    # stages never name a dataset or a field (the policies do).
    frames = by_role(extracted.frames, ctx.policies, audience)
    # Only the role frames from here on: the extracted ones would otherwise
    # hold every column they dropped through the linkage stage, the run's
    # memory peak.
    extracted.frames.clear()
    if EVENTS in frames:
        # No stage reads an event's record id or version (only profiles'
        # versions serve incremental linkage): `frames.EVENTS_SCHEMA`.
        frames[EVENTS] = frames[EVENTS].drop("record_id", "version", strict=False)
    levels = Levels.of(ctx.policies, audience)
    with clock.stage("dedupe", progress):
        previous = read_previous_entities(ctx, audience)
        linked = link_records(
            frames,
            config.link,
            model_identifiers=model_identifiers(ctx.policies, audience),
            previous=previous.linkage,
            linkage_kid=linkage_key.kid,
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
    with clock.stage("quality", progress):
        customers, events, quality = assess(customers, events, as_of, levels=levels)
    with clock.stage("features", progress):
        features = build_features(customers, events, as_of, levels)
        features, imputation = impute(features)
        matrix, columns = numeric_matrix(features, levels)
        # Preferences: shares of the common product categories, a feature
        # group of their own (the level policy decides what uses them).
        shares, share_names = category_shares(
            events, features["entity_id"], min_entities=audience.k_min
        )
        matrix, columns = np.hstack([matrix, shares]), [*columns, *share_names]
    if features.height < 2 * audience.k_min:
        raise ValueError(
            f"only {features.height} people have consented data: too few to "
            f"segment above k_min={audience.k_min}"
        )
    with clock.stage("propensity", progress):
        scored = score_propensity(
            audience.propensity,
            customers,
            events,
            CurrentFeatures(features["entity_id"], matrix, columns),
            as_of=as_of,
            levels=levels,
            forbidden=forbidden_fields(ctx.policies, audience),
            k_min=audience.k_min,
            seed=config.seed,
        )
    with clock.stage("segment", progress):
        # Feature drift is measured first: it decides whether the previous
        # run's segmentation may assign this run's people.
        previous_run = read_previous(ctx.read_sessions, audience.name)
        measured = feature_drift(previous_run, features, audience.drift)
        # The score is passed beside the features, not among them: only rules
        # levels test it, no cluster level or centroid ever sees it.
        segment_config = _segment_config(audience, config, columns)
        segmented = segment_or_assign(
            segment_config,
            SegmentInput(
                features["entity_id"],
                matrix,
                columns,
                config.seed,
                rule_scores(scored, features["entity_id"]),
            ),
            previous_run,
            () if measured is None else measured.drifted_features,
        )
        result = segmented.result
    with clock.stage("holdout", progress):
        split = hold_out(
            result.memberships,
            features["entity_id"],
            key=holdout_key(ctx.keyring),
            audience=audience.name,
            share=audience.holdout_share,
            k_min=audience.k_min,
        )
    with clock.stage("k-anonymity floor", progress):
        members, segments, floor = enforce_floor(
            split.memberships, result.segments, audience.k_min
        )
        segments = describe_segments(segments, result.metrics["columns"])
    with clock.stage("drift", progress):
        profile = feature_profile(features, levels, audience.k_min)
        drift = drift_report(previous_run, features, segments, audience.drift, measured)
    # The holdout is exported as a segment of its own, outside the hierarchy.
    members = pl.concat([members, split.holdout], how="diagonal_relaxed")
    segments = pl.concat([segments, holdout_segment(split)], how="diagonal_relaxed")
    with clock.stage("themes", progress):
        themes = themes_by_segment(
            member_texts(texts, linked.entities), members, audience.k_min
        )
    run_id = uuid7(started)
    summary = build_summary(
        run_id,
        audience,
        ctx.policies.version,
        config,
        started,
        counts={
            **read_counts,
            "entities": features.height,
            "events_without_customer": unmatched,
            "members": members["entity_id"].n_unique(),
            "holdout_members": split.holdout.height,
        },
        quality=quality.with_imputation(imputation).as_dict(),
        dedupe=linked.figures,
        segmentation=result.metrics | segmented.decision(run_id),
        floor={"k_min": audience.k_min, **floor.as_dict()},
        segments=segments.height,
    )
    summary |= {
        "propensity": scored.summary,
        "holdout": split.report,
        "drift": drift,
        # What the next run assigns its people with when nothing drifted:
        # projections and centroids of segments of k_min or more, no row.
        "assignment_model": segmented.model_to_store(
            segment_config, audience.k_min, run_id
        ),
        # What the next run measures its drift against: bins of k_min people
        # or more, no row of anyone (pipelines.monitoring).
        "drift_reference": {name: ref.as_dict() for name, ref in profile.items()},
        "themes": {"k_min": audience.k_min, **asdict(RUN_THEMES)},
        "personas": personas(
            segments.select(
                "segment_id", "level", "size", stored_description(segments)
            ),
            themes,
            members,
            scored.scores,
        ),
    }
    with clock.stage("export", progress):
        finished = ctx.clock()
        store_run(
            ctx.sessions,
            RunToStore(
                run_id=run_id,
                audience=audience.name,
                purpose=audience.purpose,
                policy_version=ctx.policies.version,
                seed=config.seed,
                started_at=started,
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
                    linkage_kid=linkage_key.kid,
                    model=linked.model.to_json(),
                    incremental_runs=linked.incremental_runs,
                    record_entities=record_versions(frames, linked.entities),
                ),
                k_min=audience.k_min,
            ),
            ctx.checkpoint_signer,
        )
        if out is not None:
            write_outputs(
                out,
                summary,
                linked.entities,
                members,
                segments,
                matrix,
                features,
                result.metrics,
            )
    summary["timings_s"] = clock.timings
    summary["peak_rss_mib"] = clock.peak_rss_mib
    if out is not None:
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
