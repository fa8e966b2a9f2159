"""previous_entities: the last run's entities, and this run's under their ids.

What the audience's last run left (its record linkage, or only its entity
keys, and the ids destinations were told to forget) is read here; this run's
entities then keep the ids of the last run's that they continue
(`pipelines.entity_ids`).
"""

import io
import json
from dataclasses import dataclass

import polars as pl

from gateway.context import GatewayContext
from gateway.policy.audiences import Audience
from gateway.storage import revocations_repo, segments_repo
from gateway.storage.db import transaction
from pipelines.entity_ids import carry_entity_ids, continue_entities
from pipelines.fs_link import FsModel
from pipelines.linking import Linked, PreviousLinkage, entity_keys


@dataclass(frozen=True)
class PreviousEntities:
    """What the audience's last run left: its linkage, or only its entity keys."""

    linkage: PreviousLinkage | None
    identifier_entities: pl.DataFrame  # identifier_key, entity_id
    revoked: frozenset[str]


def read_previous_entities(ctx: GatewayContext, audience: Audience) -> PreviousEntities:
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
    return PreviousEntities(linkage, identifier_entities, revoked)


def continue_ids(
    frames: dict[str, pl.DataFrame], linked: Linked, previous: PreviousEntities
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
