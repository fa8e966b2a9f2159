"""export: store a finished run (segments, members, entity identifiers), then publish.

The whole run is written in one transaction and marked finished last, so a
destination sees either the previous run or all of this one, never a part.
The previous run is read in that same transaction, so the public ids a
segment keeps (`pipelines.continuity`) are those of the run it replaces.
"""

import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from gateway.audit import AuditEvent, append_events
from gateway.audit.checkpoints import CheckpointSigner
from gateway.ids import uuid7
from gateway.policy.audiences import Audience
from gateway.storage import segments_repo
from gateway.storage.bulk import bulk_cache, copy_rows
from gateway.storage.db import transaction
from gateway.storage.models import RunEntityKeyRow, SegmentMemberRow, SegmentRow
from pipelines.continuity import PREVIOUS_SCHEMA, Continuity, continuity

# A run stored without its audience's floor (by hand, in tests) suppresses
# its movement counts under the policies' default floor, never under none.
DEFAULT_K_MIN: int = Audience.model_fields["k_min"].default


@dataclass(frozen=True)
class LinkageToStore:
    """What the next run needs to link incrementally (no personal data).

    Attributes:
        model: The linkage model as JSON (m and u per level, the prior).
        record_entities: ``record_id``, ``entity_id``, ``version``.
    """

    linkage_kid: str
    model: str
    incremental_runs: int
    record_entities: pl.DataFrame

    def row(self, run_id: str, audience: str) -> dict[str, Any]:
        """The `run_linkage` row: the record table as one zstd Parquet blob."""
        blob = io.BytesIO()
        self.record_entities.select("record_id", "entity_id", "version").write_parquet(
            blob, compression="zstd"
        )
        return {
            "run_id": run_id,
            "audience": audience,
            "linkage_kid": self.linkage_kid,
            "model": json.loads(self.model),
            "incremental_runs": self.incremental_runs,
            "record_entities": blob.getvalue(),
        }


@dataclass(frozen=True)
class RunToStore:
    """What a run publishes; nothing here is personal data in clear.

    Attributes:
        segments: ``segment_id`` (label), ``level``, ``parent_id`` (label or
            null), ``size``, ``description``: only segments over the floor.
        memberships: ``entity_id``, ``segment_id`` (label), one row per
            entity and level.
        entity_keys: ``entity_id``, ``subject_id``, ``identifier_key``: what
            each entity was built from, for consent checks at pull time.
        linkage: The state the next run links incrementally from.
        k_min: The audience's floor, under which movement counts between
            this run and the previous one are suppressed.
    """

    run_id: str
    audience: str
    purpose: str
    policy_version: str
    seed: int
    started_at: datetime
    finished_at: datetime
    summary: dict[str, Any]
    segments: pl.DataFrame
    memberships: pl.DataFrame
    entity_keys: pl.DataFrame
    linkage: LinkageToStore | None = None
    k_min: int = DEFAULT_K_MIN


def segment_ids(segments: pl.DataFrame, now: datetime) -> dict[str, str]:
    """A database id (UUIDv7) per segment label."""
    return {label: uuid7(now) for label in segments["segment_id"].to_list()}


def member_rows(memberships: pl.DataFrame, ids: dict[str, str]) -> pl.DataFrame:
    """Members with their segment's database id and a position, ordered by entity.

    The position is what cursors carry; ordering by entity id spreads any
    structure of the data (partner, age...) over the pages.
    """
    known = memberships.filter(pl.col("segment_id").is_in(list(ids)))
    return (
        known.with_columns(
            pl.col("segment_id").replace_strict(ids, return_dtype=pl.Utf8)
        )
        .sort("segment_id", "entity_id")
        .with_columns(
            (pl.int_range(pl.len()).over("segment_id")).cast(pl.Int64).alias("position")
        )
        .select("segment_id", "position", "entity_id")
    )


def previous_members(segments: list[segments_repo.SegmentMembers]) -> pl.DataFrame:
    """The previous run's ``public_id``, ``level``, ``entity_id`` as one frame."""
    frames = [
        pl.DataFrame({"entity_id": segment.entity_ids}, schema={"entity_id": pl.String})
        .with_columns(
            public_id=pl.lit(segment.public_id, dtype=pl.String),
            level=pl.lit(segment.level, dtype=pl.Int64),
        )
        .select(list(PREVIOUS_SCHEMA))
        for segment in segments
    ]
    return pl.concat(frames) if frames else pl.DataFrame(schema=PREVIOUS_SCHEMA)


def current_members(run: RunToStore) -> pl.DataFrame:
    """This run's ``segment_id`` (label), ``level``, ``entity_id`` (stored segments)."""
    return run.memberships.join(
        run.segments.select("segment_id", pl.col("level").cast(pl.Int64)),
        on="segment_id",
    )


def run_continuity(
    session: Session, run: RunToStore, ids: dict[str, str]
) -> tuple[Continuity, dict[str, Any]]:
    """Match the run's segments to the audience's latest run; the summary's figures.

    A segment that continues none keeps its database id as its public id.
    """
    last = segments_repo.latest_memberships(session, run.audience)
    found = continuity(
        previous_members(last[1] if last else []), current_members(run), ids
    )
    return found, {
        "previous_run_id": last[0] if last else None,
        **found.as_dict(run.k_min),
    }


# What of the continuity figures the audit event keeps: the matching's
# outcome and the total moved (suppressed under the floor like the summary's).
AUDITED_CONTINUITY = (
    "previous_run_id",
    "segments_kept",
    "segments_new",
    "segments_retired",
    "moved",
)


def run_event(run: RunToStore, members: int, figures: dict[str, Any]) -> AuditEvent:
    """The `pipeline.run` audit event: counts and ids of runs, nobody's data."""
    return AuditEvent(
        actor="pipeline",
        action="pipeline.run",
        purpose=run.purpose,
        policy_version=run.policy_version,
        details={
            "run_id": run.run_id,
            "audience": run.audience,
            "segments": run.segments.height,
            "members": members,
            **{key: figures[key] for key in AUDITED_CONTINUITY},
        },
    )


def store_run(
    sessions: sessionmaker[Session],
    run: RunToStore,
    signer: CheckpointSigner | None = None,
) -> dict[str, str]:
    """Write the run and publish it; returns segment label -> database id.

    Each segment's public id is the previous run's when it continues one
    (`pipelines.continuity`); the movement figures are added to the run's
    summary under ``continuity``, in the caller's `run.summary` too, so that
    what the run writes beside (summary.json) shows what the database holds.
    With `signer`, the audit log's checkpoint is signed in the same transaction.
    """
    ids = segment_ids(run.segments, run.finished_at)
    with transaction(sessions) as session:
        found, figures = run_continuity(session, run, ids)
        run.summary["continuity"] = figures
        segments_repo.start_run(
            session,
            {
                "id": run.run_id,
                "audience": run.audience,
                "policy_version": run.policy_version,
                "seed": run.seed,
                "started_at": run.started_at,
                "finished_at": None,
                "summary": {},
            },
        )
        segment_rows = [
            (
                ids[row["segment_id"]],
                run.run_id,
                found.public_ids[row["segment_id"]],
                row["segment_id"],
                int(row["level"]),
                ids.get(row["parent_id"]) if row["parent_id"] else None,
                int(row["size"]),
                row["description"] or "",
            )
            for row in run.segments.iter_rows(named=True)
        ]
        copy_rows(
            session,
            SegmentRow.__table__,
            (
                "id",
                "run_id",
                "public_id",
                "label",
                "level",
                "parent_id",
                "size",
                "description",
            ),
            segment_rows,
        )
        members = member_rows(run.memberships, ids)
        # Entity keys in primary-key order: each insert then lands on the
        # last page of the key's B-tree instead of anywhere in it.
        keys = run.entity_keys.unique(["identifier_key", "entity_id"]).sort(
            "identifier_key", "entity_id"
        )
        with bulk_cache(session):
            copy_rows(
                session,
                SegmentMemberRow.__table__,
                ("segment_id", "position", "entity_id"),
                members.iter_rows(),
            )
            copy_rows(
                session,
                RunEntityKeyRow.__table__,
                ("run_id", "identifier_key", "entity_id", "subject_id"),
                (
                    (run.run_id, key, entity, subject)
                    for key, entity, subject in keys.select(
                        "identifier_key", "entity_id", "subject_id"
                    ).iter_rows()
                ),
            )
        if run.linkage is not None:
            segments_repo.replace_run_linkage(
                session, run.linkage.row(run.run_id, run.audience)
            )
        segments_repo.finish_run(session, run.run_id, run.finished_at, run.summary)
        append_events(
            session,
            [run_event(run, members.height, figures)],
            run.finished_at,
            signer,
        )
    return ids
