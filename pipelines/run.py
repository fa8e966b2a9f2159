"""run: an audience's whole pipeline, stage by stage, from the database to exports.

extract → dedupe → quality → features → propensity → segment → holdout →
k-anonymity floor → describe → drift → themes → export (database, parquet
files, summary, report). Every stage but the edges is a pure function of
frames; this module only wires them, reports progress and times them
(what each stage does is in `pipelines.run_stages`, the summary's making
in `pipelines.run_summary`).

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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from gateway.context import GatewayContext
from gateway.crypto.keyring import KeyPurpose
from gateway.errors import NotFoundError
from gateway.ids import uuid7
from gateway.policy.audiences import Audience
from pipelines.frames import Levels
from pipelines.linking import LinkConfig
from pipelines.personas import member_texts, themes_by_segment
from pipelines.predictive import (
    CurrentFeatures,
    Scored,
    forbidden_fields,
    score_propensity,
)
from pipelines.quality import assess
from pipelines.run_stages import (
    Features,
    RunIdentity,
    build_feature_matrix,
    dedupe_records,
    extract_records,
    floor_segments,
    hold_out_people,
    measure_drift,
    require_enough_people,
    role_frames,
    segment_people,
    store_audience_run,
    with_holdout,
    write_run_outputs,
)
from pipelines.run_summary import summarize_run
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


def _audience(ctx: GatewayContext, name: str) -> Audience:
    audience = ctx.policies.audiences.get(name)
    if audience is None:
        raise NotFoundError(f"no audience named {name!r} in the policies")
    return audience


def _score_propensity(
    ctx: GatewayContext,
    audience: Audience,
    seed: int,
    customers: pl.DataFrame,
    events: pl.DataFrame,
    features: Features,
    as_of: datetime,
    levels: Levels,
) -> Scored:
    # Called here rather than in run_stages: `pipelines.run.score_propensity`
    # is the name tests replace to see the scores a run made.
    return score_propensity(
        audience.propensity,
        customers,
        events,
        CurrentFeatures(features.table["entity_id"], features.matrix, features.columns),
        as_of=as_of,
        levels=levels,
        forbidden=forbidden_fields(ctx.policies, audience),
        k_min=audience.k_min,
        seed=seed,
    )


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
        extracted = extract_records(ctx, audience, config.chunk_rows, linkage_key)
    read_counts = extracted.counts()
    frames, texts = role_frames(extracted, ctx.policies, audience)
    levels = Levels.of(ctx.policies, audience)
    with clock.stage("dedupe", progress):
        linked, customers, events, unmatched = dedupe_records(
            ctx, audience, config.link, linkage_key.kid, frames
        )
    with clock.stage("quality", progress):
        customers, events, quality = assess(customers, events, as_of, levels=levels)
    with clock.stage("features", progress):
        features = build_feature_matrix(
            customers, events, as_of, levels, audience.k_min
        )
    require_enough_people(features, audience.k_min)
    with clock.stage("propensity", progress):
        scored = _score_propensity(
            ctx, audience, config.seed, customers, events, features, as_of, levels
        )
    with clock.stage("segment", progress):
        segmentation = segment_people(ctx, audience, config, features, scored)
    with clock.stage("holdout", progress):
        split = hold_out_people(ctx.keyring, audience, segmentation, features)
    with clock.stage("k-anonymity floor", progress):
        members, segments, floor = floor_segments(split, segmentation, audience.k_min)
    with clock.stage("drift", progress):
        drift = measure_drift(segmentation, features, segments, levels, audience)
    members, segments = with_holdout(members, segments, split)
    with clock.stage("themes", progress):
        themes = themes_by_segment(
            member_texts(texts, linked.entities), members, audience.k_min
        )
    run = RunIdentity(uuid7(started), audience, config.seed, started)
    summary = summarize_run(
        run,
        ctx.policies.version,
        config,
        read_counts=read_counts,
        linked=linked,
        unmatched=unmatched,
        quality=quality,
        features=features,
        scored=scored,
        segmentation=segmentation,
        split=split,
        floor=floor,
        members=members,
        segments=segments,
        drift=drift,
        themes=themes,
    )
    with clock.stage("export", progress):
        store_audience_run(
            ctx, run, summary, members, segments, frames, linked, linkage_key.kid
        )
        if out is not None:
            write_run_outputs(
                out, summary, linked, members, segments, features, segmentation
            )
    summary["timings_s"] = clock.timings
    summary["peak_rss_mib"] = clock.peak_rss_mib
    if out is not None:
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
