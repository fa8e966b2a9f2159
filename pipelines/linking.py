"""From extracted records to entities, and to the frames the later stages take.

Customer records are linked into entities (`pipelines.dedupe`) by exact
links on identifier pseudonyms and the subject pseudonym, and by the pairs a
Fellegi-Sunter model links on the per-field keyed encodings
(`pipelines.fs_link`). A run either relinks everything, learning the model
afresh, or, when the previous run of the audience left its model and its
entities (`PreviousLinkage`), links incrementally: records unchanged since
stay together as they were, and only pairs involving a new or changed
record are scored, with the previous model. Events follow their subject's
entity. Pure functions of frames.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace

import polars as pl

from gateway.linkage.fields import COLUMNS, FILTER_COLUMNS, HASH_COLUMNS
from gateway.policy.segmentation import EVENTS, PROFILE
from pipelines.dedupe import dedupe
from pipelines.frames import CUSTOMERS_SCHEMA, EVENTS_SCHEMA
from pipelines.fs_link import (
    IDENTIFIER_COLUMNS,
    FsConfig,
    FsModel,
    fs_edges,
    model_fits,
)

# Frames are keyed by dataset role (`pipelines.roles.by_role`), not by name.
CUSTOMERS = PROFILE
# Records of one partner's customer number are one person: the subject
# pseudonym links exactly, as the other identifiers' pseudonyms (e-mail,
# phone...: every `<identifier>_key` column the policy declares) do.
SUBJECT = "subject_id"
_NEW = "is_new"


@dataclass(frozen=True)
class LinkConfig:
    """How records are linked; every value is recorded in the run summary.

    Attributes:
        match_threshold: Match probability at or above which the model links.
        max_component: Largest entity; larger components are split.
        max_new_share: Above this share of new or changed records, a run
            relinks everything rather than incrementally.
        full_every: A full relink after this many incremental runs, so that
            links made on old evidence are reconsidered now and then.
    """

    match_threshold: float = 0.9
    max_component: int = 50
    max_new_share: float = 0.25
    full_every: int = 10

    def __post_init__(self) -> None:
        if not 0.0 < self.match_threshold < 1.0:
            raise ValueError("match_threshold must be in (0, 1)")
        if self.max_component < 2:
            raise ValueError("max_component must be at least 2")
        if not 0.0 <= self.max_new_share <= 1.0:
            raise ValueError("max_new_share must be in [0, 1]")
        if self.full_every < 0:
            raise ValueError("full_every must be 0 or more")


@dataclass(frozen=True)
class PreviousLinkage:
    """What the previous run of the audience left for incremental linkage.

    Attributes:
        records: ``record_id``, ``entity_id``, ``version`` of every record the
            previous run linked.
        model: The model it linked with (no data).
        linkage_kid: The key its encodings were compared under.
        incremental_runs: Incremental runs since the last full relink.
    """

    records: pl.DataFrame
    model: FsModel
    linkage_kid: str | None
    incremental_runs: int


@dataclass(frozen=True)
class Linked:
    """Each customer record's entity, the model, and figures of the linkage."""

    entities: pl.DataFrame  # record_id, entity_id, subject_id
    figures: dict[str, int | str]
    model: FsModel
    incremental_runs: int


def _require(frames: Mapping[str, pl.DataFrame], name: str) -> pl.DataFrame:
    frame = frames.get(name)
    if frame is None:
        raise ValueError(f"the audience needs a '{name}' dataset for segmentation")
    return frame


def _encoded(customers: pl.DataFrame) -> pl.Expr:
    if not all(column in customers.columns for column in COLUMNS):
        return pl.lit(False)
    return pl.any_horizontal(pl.col(c).is_not_null() for c in COLUMNS)


def _mode(
    customers: pl.DataFrame,
    previous: PreviousLinkage | None,
    linkage_kid: str | None,
    config: LinkConfig,
) -> tuple[str, pl.Series | None]:
    """Full or incremental, and why; with the new-or-changed flag if incremental."""
    if previous is None or not previous.model.levels:
        return "full: no previous linkage", None
    if previous.linkage_kid != linkage_kid:
        return "full: the linkage key changed", None
    if not model_fits(previous.model):
        # Saved by a version with other comparisons: relearn rather than fail.
        return "full: the stored model does not fit this version", None
    if previous.incremental_runs >= config.full_every:
        return f"full: {config.full_every} incremental runs since the last", None
    before = previous.records.select("record_id", pl.col("version").alias("before"))
    flagged = customers.select("record_id", "version").join(
        before, on="record_id", how="left", maintain_order="left"
    )
    new = flagged["before"].is_null() | (flagged["before"] != flagged["version"])
    share = float(new.mean() or 0.0)
    if share > config.max_new_share:
        return f"full: {share:.0%} of records new or changed", None
    return "incremental", new.alias(_NEW)


def link_records(
    frames: Mapping[str, pl.DataFrame],
    config: LinkConfig,
    *,
    model_identifiers: Mapping[str, str] | None = None,
    previous: PreviousLinkage | None = None,
    linkage_kid: str | None = None,
    fs_config: FsConfig | None = None,
) -> Linked:
    """Deduplicate the customer records into entities (people).

    Args:
        frames: Frames by role; the profile frame holds ``record_id``,
            ``subject_id``, ``version``, the ``<identifier>_key`` columns and
            the encodings of `gateway.linkage.fields` (absent when the
            dataset has no linkage roles, null for a record without any).
        config: Linkage settings.
        model_identifiers: The model's identifier comparisons
            (``email_key``, ``phone_key``) -> the frame's column for each.
        previous: The previous run's linkage, for an incremental run.
        linkage_kid: The key this run's encodings were made under.
        fs_config: Model settings; its threshold is `config`'s.
    """
    customers = _require(frames, CUSTOMERS)
    keys = tuple(c for c in customers.columns if c.endswith("_key"))
    fs = replace(fs_config or FsConfig(), match_threshold=config.match_threshold)
    mode, new = _mode(customers, previous, linkage_kid, config)
    renames = {
        column: role
        for role, column in (model_identifiers or {}).items()
        if role in IDENTIFIER_COLUMNS and column in customers.columns
    }
    has_encoding = customers.select(_encoded(customers)).to_series()
    encoded = customers.filter(has_encoding)
    carried = None
    if (
        encoded.height
        and mode == "incremental"
        and previous is not None
        and new is not None
    ):
        scoring = (
            encoded.with_columns(new.filter(has_encoding))
            .select("record_id", *COLUMNS, *renames, _NEW)
            .rename(renames)
        )
        scored, model = fs_edges(scoring, fs, model=previous.model, new=_NEW)
        unchanged = customers.select("record_id", new).filter(~pl.col(_NEW))
        carried = unchanged.join(previous.records, on="record_id").select(
            "record_id", pl.col("entity_id").alias("group")
        )
        incremental_runs = previous.incremental_runs + 1
    elif encoded.height:
        scoring = encoded.select("record_id", *COLUMNS, *renames).rename(renames)
        scored, model = fs_edges(scoring, fs)
        incremental_runs = 0
    else:
        scored = pl.DataFrame(
            schema={
                "record_id_l": pl.String,
                "record_id_r": pl.String,
                "match_probability": pl.Float64,
            }
        )
        model = previous.model if previous is not None else FsModel(0.0, ())
        incremental_runs = 0
    linked = dedupe(
        customers.select("record_id", *keys, SUBJECT),
        scored,
        max_component=config.max_component,
        identifiers=(*keys, SUBJECT),
        carried=carried,
    )
    entities = linked.select("record_id", "entity_id").join(
        customers.select("record_id", "subject_id"), on="record_id", how="left"
    )
    per_entity = linked.group_by("entity_id").agg(
        pl.len().alias("records"),
        pl.col("exact_links").first(),
        pl.col("scored_links").first(),
        pl.col("carried_links").first(),
    )
    figures: dict[str, int | str] = {
        "mode": mode,
        "records": linked.height,
        "records_new_or_changed": int(new.sum()) if new is not None else linked.height,
        "records_without_encoding": customers.height - encoded.height,
        "entities": per_entity.height,
        "entities_with_several_records": int(
            per_entity.filter(pl.col("records") > 1).height
        ),
        "largest_entity": int(per_entity["records"].max() or 0),
        "exact_links": int(per_entity["exact_links"].sum()),
        "scored_links": int(per_entity["scored_links"].sum()),
        "carried_links": int(per_entity["carried_links"].sum()),
    }
    return Linked(entities, figures, model, incremental_runs)


def record_versions(
    frames: Mapping[str, pl.DataFrame], entities: pl.DataFrame
) -> pl.DataFrame:
    """``record_id``, ``entity_id``, ``version`` of every linked record."""
    versions = _require(frames, CUSTOMERS).select("record_id", "version")
    return entities.select("record_id", "entity_id").join(versions, on="record_id")


def drop_encodings(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame without its linkage encodings (they serve the linkage only)."""
    return frame.drop(
        [c for c in (*FILTER_COLUMNS, *HASH_COLUMNS) if c in frame.columns]
    )


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
