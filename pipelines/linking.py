"""From extracted records to entities, and to the frames the later stages take.

Customer records are linked into entities by `pipelines.dedupe` (identifier
pseudonyms, the subject pseudonym, and the keyed Bloom-filter encodings);
events follow their subject's entity. Pure functions of frames.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from gateway.policy.segmentation import EVENTS, PROFILE
from pipelines.dedupe import dedupe
from pipelines.frames import CUSTOMERS_SCHEMA, EVENTS_SCHEMA

# Frames are keyed by dataset role (`pipelines.roles.by_role`), not by name.
CUSTOMERS = PROFILE
# Records of one partner's customer number are one person: the subject
# pseudonym links exactly, as the other identifiers' pseudonyms (e-mail,
# phone...: every `<identifier>_key` column the policy declares) do.
SUBJECT = "subject_id"


@dataclass(frozen=True)
class Linked:
    """Each customer record's entity, and aggregate figures of the linkage."""

    entities: pl.DataFrame  # record_id, entity_id, subject_id
    figures: dict[str, int]


def _require(frames: Mapping[str, pl.DataFrame], name: str) -> pl.DataFrame:
    frame = frames.get(name)
    if frame is None:
        raise ValueError(f"the audience needs a '{name}' dataset for segmentation")
    return frame


def link_records(
    frames: Mapping[str, pl.DataFrame],
    *,
    threshold: float,
    max_block: int,
    max_component: int,
) -> Linked:
    """Deduplicate the customer records into entities (people)."""
    customers = _require(frames, CUSTOMERS)
    keys = tuple(c for c in customers.columns if c.endswith("_key"))
    records = customers.select(
        "record_id", *keys, SUBJECT, "clk", "block_keys"
    ).with_columns(pl.col("block_keys").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))))
    linked = dedupe(
        records,
        threshold=threshold,
        max_block=max_block,
        max_component=max_component,
        identifiers=(*keys, SUBJECT),
    )
    entities = linked.select("record_id", "entity_id").join(
        customers.select("record_id", "subject_id"), on="record_id", how="left"
    )
    per_entity = linked.group_by("entity_id").agg(
        pl.len().alias("records"),
        pl.col("exact_links").first(),
        pl.col("fuzzy_links").first(),
    )
    figures = {
        "records": linked.height,
        "entities": per_entity.height,
        "entities_with_several_records": int(
            per_entity.filter(pl.col("records") > 1).height
        ),
        "largest_entity": int(per_entity["records"].max() or 0),
        "exact_links": int(per_entity["exact_links"].sum()),
        "fuzzy_links": int(per_entity["fuzzy_links"].sum()),
        "records_without_encoding": int(customers["clk"].null_count()),
    }
    return Linked(entities, figures)


def _subject_entities(entities: pl.DataFrame) -> pl.DataFrame:
    # A subject is one exact-link group, so it has one entity, unless the
    # giant-chain guard cut it; then its events go with the smallest.
    return entities.group_by("subject_id").agg(pl.col("entity_id").min())


def entity_frames(
    frames: Mapping[str, pl.DataFrame], entities: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """The customers and events frames of `pipelines.frames`, by entity.

    Returns:
        customers, events, and the number of events whose subject has no
        customer record in the run (they cannot be placed on a person).
    """
    customers = (
        _require(frames, CUSTOMERS)
        .join(entities.select("record_id", "entity_id"), on="record_id")
        .select(
            "record_id",
            "entity_id",
            pl.col("birth_date").cast(pl.Int32, strict=False).alias("birth_year"),
            pl.col("postal_code").alias("postal_prefix"),
            "gender",
            "loyalty_tier",
        )
        .cast(dict(CUSTOMERS_SCHEMA))
    )
    raw_events = frames.get(EVENTS)
    if raw_events is None:
        return customers, pl.DataFrame(schema=dict(EVENTS_SCHEMA)), 0
    placed = raw_events.join(_subject_entities(entities), on="subject_id")
    events = placed.select(*EVENTS_SCHEMA).cast(dict(EVENTS_SCHEMA))
    return customers, events, raw_events.height - placed.height


def entity_keys(
    frames: Mapping[str, pl.DataFrame],
    entities: pl.DataFrame,
    members: pl.DataFrame,
) -> pl.DataFrame:
    """``entity_id``, ``subject_id``, ``identifier_key`` of every member entity.

    What consent is checked on again when a destination pulls: every
    identifier pseudonym seen on a member's customer and event records.
    """
    by_subject = (
        entities.select("entity_id", "subject_id")
        .unique()
        .join(members.select("entity_id").unique(), on="entity_id", how="semi")
    )
    keys = [
        frame.select("subject_id", pl.col(column).alias("identifier_key"))
        for frame in frames.values()
        for column in frame.columns
        if column.endswith("_key")
    ]
    # The subject pseudonym is the pseudonym of the subject key itself.
    keys.append(
        by_subject.select("subject_id", pl.col("subject_id").alias("identifier_key"))
    )
    return (
        pl.concat(keys)
        .drop_nulls()
        .unique()
        .join(by_subject, on="subject_id")
        .select("entity_id", "subject_id", "identifier_key")
    )
