"""run: an audience's whole pipeline, stage by stage, from the database to exports.

extract → dedupe → quality → features → propensity → segment → holdout →
k-anonymity floor → describe → drift → themes → export (database, parquet
files, summary, report). Every stage but the edges is a pure function of
frames; this module only wires them, reports progress and times them.

The propensity comes before the segmentation so that rules levels can test
the score (``propensity >= 0.75``); its fit reads the features before its
own cut-off, not the segments, so the order changes nothing in it.
"""

import io
import json
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
from gateway.storage import revocations_repo, segments_repo
from gateway.storage.db import transaction
from pipelines.describe import describe_segments, stored_description
from pipelines.entity_ids import carry_entity_ids, continue_entities
from pipelines.export import LinkageToStore, RunToStore, store_run
from pipelines.extract import Extracted, extract
from pipelines.features import build_features, category_shares, numeric_matrix
from pipelines.frames import Levels
from pipelines.fs_link import FsConfig, FsModel
from pipelines.holdout import hold_out, holdout_segment
from pipelines.k_floor import enforce_floor
from pipelines.linking import (
    EVENTS,
    LinkConfig,
    Linked,
    PreviousLinkage,
    drop_encodings,
    entity_frames,
    entity_keys,
    link_records,
    record_versions,
)
from pipelines.monitoring import drift_report, feature_profile, read_previous
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
from pipelines.quality import assess, impute
from pipelines.report import render_report
from pipelines.report_data import pca_points, profiles
from pipelines.roles import by_role, model_identifiers
from pipelines.segment import SegmentConfig, policy_levels, segment

Progress = Callable[[str], None]
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


@dataclass
class _Clock:
    """Each stage's seconds, and the process's peak memory when it ended.

    The peak is the process's high-water mark so far (what sizes a machine
    for a run): a stage that raised it ends with a higher figure than the
    stage before it.
    """

    timings: dict[str, float] = field(default_factory=dict)
    peak_rss_mib: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, progress: Progress) -> Iterator[None]:
        progress(name)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        self.peak_rss_mib[name] = _peak_rss_mib()


def _peak_rss_mib() -> int:
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // (1024 * 1024) if sys.platform == "darwin" else peak // 1024


def _segment_config(
    audience: Audience, config: RunConfig, columns: list[str]
) -> SegmentConfig:
    return SegmentConfig(
        n_bootstrap=config.n_bootstrap,
        # A parent is only split when its parts could pass the floor.
        min_size=audience.k_min,
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
    clock = _Clock()
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
        previous = _previous_linkage(ctx, audience)
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
        linked = _continued(frames, linked, previous)
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
        # The score is passed beside the features, not among them: only rules
        # levels test it, no cluster level or centroid ever sees it.
        result = segment(
            features["entity_id"],
            matrix,
            columns,
            config.seed,
            _segment_config(audience, config, columns),
            rule_scores(scored, features["entity_id"]),
        )
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
        drift = drift_report(
            read_previous(ctx.read_sessions, audience.name),
            features,
            segments,
            audience.drift,
        )
    # The holdout is exported as a segment of its own, outside the hierarchy.
    members = pl.concat([members, split.holdout], how="diagonal_relaxed")
    segments = pl.concat([segments, holdout_segment(split)], how="diagonal_relaxed")
    with clock.stage("themes", progress):
        themes = themes_by_segment(
            member_texts(texts, linked.entities), members, audience.k_min
        )
    run_id = uuid7(started)
    summary = _summary(
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
        segmentation=result.metrics,
        floor={"k_min": audience.k_min, **floor.as_dict()},
        segments=segments.height,
    )
    summary |= {
        "propensity": scored.summary,
        "holdout": split.report,
        "drift": drift,
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
            ),
            ctx.checkpoint_signer,
        )
        if out is not None:
            _write_outputs(
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


@dataclass(frozen=True)
class _Previous:
    """What the audience's last run left: its linkage, or only its entity keys."""

    linkage: PreviousLinkage | None
    identifier_entities: pl.DataFrame  # identifier_key, entity_id
    revoked: frozenset[str]


def _previous_linkage(ctx: GatewayContext, audience: Audience) -> _Previous:
    """Read the last run's linkage state; ids destinations must forget are out."""
    with transaction(ctx.read_sessions) as session:
        last = segments_repo.latest_run(session, audience.name)
        state = segments_repo.run_linkage(session, last.id) if last else None
        # Identifier pseudonyms are only the fallback for a last run that
        # kept no record state: at a million people they are millions of rows.
        keys = (
            segments_repo.run_identifier_entities(session, last.id)
            if last and state is None
            else []
        )
        revoked = frozenset(
            revocations_repo.revoked_entities(session, audience.purpose)
        )
    linkage = None
    if state is not None:
        linkage = PreviousLinkage(
            records=pl.read_parquet(io.BytesIO(state.record_entities)),
            model=FsModel.from_json(json.dumps(state.model)),
            linkage_kid=state.linkage_kid,
            incremental_runs=state.incremental_runs,
        )
    identifier_entities = pl.DataFrame(
        [(key, entity) for key, entity in keys if entity not in revoked],
        schema={"identifier_key": pl.String, "entity_id": pl.String},
        orient="row",
    )
    return _Previous(linkage, identifier_entities, revoked)


def _continued(
    frames: dict[str, pl.DataFrame], linked: Linked, previous: _Previous
) -> Linked:
    """This run's entities under the ids of the last run's that they continue.

    A destination's member ids (and its revocations feed) derive from entity
    ids: an entity that mostly stays together keeps its id from run to run,
    matched by the records it shares with the last run's entities (record
    ids last across updates). A last run that kept no record state (before
    incremental linkage existed) is matched by identifier pseudonyms
    instead. An id destinations were told to delete (erased, or consent
    withdrawn for the audience's purpose) is never handed on: what is left
    of that entity comes back, if at all, under a new id.
    """
    current = linked.entities.select("record_id", pl.col("entity_id").alias("cluster"))
    if previous.linkage is not None:
        before = previous.linkage.records.select("record_id", "entity_id").filter(
            ~pl.col("entity_id").is_in(list(previous.revoked))
        )
        assigned, counts = carry_entity_ids(before, current, previous.revoked)
        entities = (
            linked.entities.drop("entity_id")
            .join(assigned, on="record_id", maintain_order="left")
            .select("record_id", "entity_id", "subject_id")
        )
    else:
        keys = entity_keys(frames, linked.entities, linked.entities)
        mapping, counts = continue_entities(
            previous.identifier_entities,
            keys.select("identifier_key", "entity_id"),
            previous.revoked,
        )
        entities = linked.entities.with_columns(pl.col("entity_id").replace(mapping))
    figures = linked.figures | {f"entities_{kind}": n for kind, n in counts.items()}
    return Linked(entities, figures, linked.model, linked.incremental_runs)


def _summary(
    run_id: str,
    audience: Audience,
    policy_version: str,
    config: RunConfig,
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


def _write_outputs(
    out: Path,
    summary: dict[str, Any],
    entities: pl.DataFrame,
    members: pl.DataFrame,
    segments: pl.DataFrame,
    matrix: np.ndarray,
    features: pl.DataFrame,
    metrics: dict[str, Any],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    entities.select("record_id", "entity_id").write_parquet(out / "entities.parquet")
    members.select("entity_id", "segment_id", "level").write_parquet(
        out / "segments.parquet"
    )
    html = render_report(
        summary,
        segments,
        pca_points(features["entity_id"], matrix, members, seed=summary["seed"]),
        profiles(segments, metrics["columns"]),
    )
    (out / "report.html").write_text(html, encoding="utf-8")
