"""SQLAlchemy models: every table the gateway writes.

Nothing here holds personal data in clear: identifiers are keyed pseudonyms,
direct personal data is AES-GCM ciphertext in `vault_entries`, and the audit
trail holds pseudonyms, names of fields and reasons only.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# JSONB on PostgreSQL (indexable, compact); plain JSON text on SQLite.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
BigId = BigInteger().with_variant(Integer(), "sqlite")
PSEUDONYM_LEN = 80


class Base(DeclarativeBase):
    """Declarative base of every table."""


class ClientRow(Base):
    """An API client (partner, destination or DPO) and its grants."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    datasets: Mapped[list[str]] = mapped_column(JSONType)
    purposes: Mapped[list[str]] = mapped_column(JSONType)
    audiences: Mapped[list[str]] = mapped_column(JSONType)
    default_region: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConsentEventRow(Base):
    """One consent event, append-only; the current state is derived, never stored."""

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_lookup", "identifier_key", "purpose", "event_time"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    identifier_key: Mapped[str] = mapped_column(String(PSEUDONYM_LEN))
    identifier_type: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(64))
    granted: Mapped[bool] = mapped_column(Boolean)
    explicit: Mapped[bool] = mapped_column(Boolean)
    event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Proof of an event that came as a TCF TC string (null otherwise): the
    # SHA-256 hex of the string as received, its CMP and its LastUpdated. The
    # string itself, an identifier-like value, is not kept.
    tcf_sha256: Mapped[str | None] = mapped_column(String(64))
    tcf_cmp_id: Mapped[int | None] = mapped_column(Integer)
    tcf_last_updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SubjectKeyRow(Base):
    """A data subject's number and data key (wrapped by the master key).

    The registry of subjects: every subject id a record or an audit event
    names has a row, numbered when first seen. Records and audit events are
    indexed by that number, not by the pseudonym: a new subject's entries
    then land at the right edge of those indexes instead of on a random page
    each (migration 0012). Rows are never deleted, so a number is never
    reused. A subject first seen without personal data to seal (a rejected
    record, a consent-only subject) has no key yet: `master_kid` and
    `wrapped_key` are null and `destroyed_at` too; erasure destroys a key by
    nulling `wrapped_key` and setting `destroyed_at`.
    """

    __tablename__ = "subject_keys"
    # PostgreSQL: room on each page for a row to take its key in place. A
    # subject registered by its first consent gets its key when its first
    # record comes; with free space on the page the update is HOT and adds
    # no index entry (a full page moves the row and re-indexes it).
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}

    number: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(String(PSEUDONYM_LEN), unique=True)
    master_kid: Mapped[str | None] = mapped_column(String(16))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    destroyed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RecordRow(Base):
    """The current, pseudonymized version of a partner's record."""

    __tablename__ = "records"
    __table_args__ = (
        # source_id leads: a batch looks up hundreds of source_ids of one
        # partner at once, and PostgreSQL only turns `source_id IN (...)` into
        # index probes (instead of filtering the partner's whole range) when
        # the listed column comes first.
        UniqueConstraint("source_id", "client_id", "dataset", name="uq_records_source"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    dataset: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(128))
    subject_id: Mapped[str] = mapped_column(String(PSEUDONYM_LEN))
    # The subject's number in `subject_keys`: what a subject's records are
    # found by (access, erasure, retention).
    subject_no: Mapped[int] = mapped_column(BigInteger, index=True)
    purpose: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(PSEUDONYM_LEN))
    identifiers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    policy_version: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Per-field keyed linkage encodings (gateway.linkage), made at ingestion
    # from the clear fields of datasets with linkage roles, packed and sealed
    # under the linkage key `linkage_kid` (gateway.linkage.sealed); null when
    # the record has nothing to encode. The pipelines open and compare them
    # without ever seeing the fields.
    link_fields: Mapped[bytes | None] = mapped_column(LargeBinary)
    linkage_kid: Mapped[str | None] = mapped_column(String(16))


class VaultEntryRow(Base):
    """A record's personal fields, encrypted together under its subject's data key.

    One row (and one AES-GCM operation) per record rather than per field: the
    fields of a record are always written, read and shredded together.
    """

    __tablename__ = "vault_entries"

    record_id: Mapped[str] = mapped_column(
        ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    # Not indexed: the vault is read by record id, a subject's records are
    # found through records.subject_no (migrations 0002, 0012).
    subject_id: Mapped[str] = mapped_column(String(PSEUDONYM_LEN))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEventRow(Base):
    """One audit event; triggers refuse UPDATE and DELETE (append-only).

    Every column is either part of `canonical` or derived from it, so that a
    change to any column is caught by recomputing the log; `subject_no` is
    derived through the subject registry, and checked against it.
    """

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Neither unique nor indexed (migration 0009): the canonical bytes bind
    # the id, and an index on a handful of actions serves no search.
    event_id: Mapped[str] = mapped_column(String(36))
    occurred_at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    subject_id: Mapped[str | None] = mapped_column(String(PSEUDONYM_LEN))
    # Not in the canonical bytes: `subject_id`'s number in `subject_keys`,
    # which `audit verify` checks against the registry. The DPO's searches
    # find a subject's events by it.
    subject_no: Mapped[int | None] = mapped_column(BigInteger, index=True)
    purpose: Mapped[str | None] = mapped_column(String(64))
    dataset: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(36))
    reason: Mapped[str | None] = mapped_column(String(64))
    policy_version: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[str] = mapped_column(Text)
    canonical: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditHeadRow(Base):
    """The single row that serializes appends: size, chain hash, Merkle root.

    `frontier` is `gateway.audit.merkle.Frontier.to_bytes`: the size, then the
    roots of the complete subtrees that make up the tree, largest first.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    frontier: Mapped[bytes] = mapped_column(LargeBinary)


class AuditNodeRow(Base):
    """A complete subtree of the audit Merkle tree; append-only like the events.

    Level h, index i: the RFC 6962 hash of leaves [i * 2^h, (i + 1) * 2^h),
    h >= `gateway.audit.log.STORED_FROM_LEVEL` (leaves are
    `AuditEventRow.leaf_hash`; smaller subtrees are hashed from them).
    """

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, autoincrement=False
    )
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpointRow(Base):
    """A checkpoint note the gateway signed; append-only like the log."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False
    )
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdempotencyRow(Base):
    """The first response to an Idempotency-Key, replayed for the same body."""

    __tablename__ = "idempotency_keys"

    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PipelineRunRow(Base):
    """One segmentation run of an audience: parameters and figures, no personal data."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (Index("ix_pipeline_runs_latest", "audience", "finished_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    audience: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[str] = mapped_column(String(80))
    seed: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Null until the run's segments and members are all stored: destinations
    # only ever see finished runs.
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType)


class RunLinkageRow(Base):
    """What the next run of an audience needs to link incrementally.

    The learned linkage model (m and u per comparison level: no data), the
    key the encodings were compared under, and each linked record's entity,
    as one compressed Parquet blob (record id, entity id: a million rows
    write in a second, where as many table rows would take a minute). Only
    the latest run of an audience keeps one.
    """

    __tablename__ = "run_linkage"

    run_id: Mapped[str] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True
    )
    audience: Mapped[str] = mapped_column(String(64), index=True)
    linkage_kid: Mapped[str | None] = mapped_column(String(16))
    model: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Runs since the last full relink (0: this run relinked everything).
    incremental_runs: Mapped[int] = mapped_column(Integer)
    record_entities: Mapped[bytes] = mapped_column(LargeBinary)


class SegmentRow(Base):
    """A segment of a run that passed the k-anonymity floor."""

    __tablename__ = "segments"
    __table_args__ = (
        UniqueConstraint("run_id", "label", name="uq_segments_label"),
        UniqueConstraint("run_id", "public_id", name="uq_segments_public"),
        Index("ix_segments_public", "public_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE")
    )
    # The id destinations see: kept from the previous run's segment when the
    # two are essentially the same (membership overlap), new otherwise.
    public_id: Mapped[str] = mapped_column(String(36))
    label: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[str | None] = mapped_column(String(36))
    size: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)


class SegmentMemberRow(Base):
    """An entity (one deduplicated person) in a segment; scoped ids at pull time.

    `position` orders a segment's members once, at the run: pages are read by
    keyset on it, and a cursor is a position, which tells nothing about anyone.
    """

    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_entity", "entity_id"),)

    segment_id: Mapped[str] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(PSEUDONYM_LEN))


class RunEntityKeyRow(Base):
    """Which identifier pseudonyms make up each entity of a run.

    At pull time, consent events and erasures recorded after the run are
    mapped through this table to the entities they affect, which are then
    decided again (or dropped) before any member id goes out.
    """

    __tablename__ = "run_entity_keys"
    __table_args__ = (Index("ix_run_entity_keys_entity", "run_id", "entity_id"),)

    run_id: Mapped[str] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True
    )
    identifier_key: Mapped[str] = mapped_column(String(PSEUDONYM_LEN), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(PSEUDONYM_LEN), primary_key=True)
    # The subject (partner-scoped) the identifier was seen with: erasure is
    # by subject.
    subject_id: Mapped[str] = mapped_column(String(PSEUDONYM_LEN))


class ExportLedgerRow(Base):
    """Which entities a destination was sent, per audience: the base of Art. 19.

    Written when members are pulled, so that an erasure or a withdrawal later
    can be told to exactly the destinations that received the person.
    """

    __tablename__ = "export_ledger"
    __table_args__ = (Index("ix_export_ledger_entity", "entity_id"),)

    destination_id: Mapped[str] = mapped_column(
        ForeignKey("clients.id"), primary_key=True
    )
    audience: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(PSEUDONYM_LEN), primary_key=True)
    first_pulled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExportDeliveryRow(Base):
    """What a destination was last delivered of a segment, in page order.

    A pull of a segment's first page computes the new delivery against this
    one (difference protection: entries or exits fewer than the floor are
    held back) and replaces it; the following pages are read from it.
    """

    __tablename__ = "export_deliveries"
    __table_args__ = (Index("ix_export_deliveries_entity", "entity_id"),)

    destination_id: Mapped[str] = mapped_column(
        ForeignKey("clients.id"), primary_key=True
    )
    # The segment's public id: stable across runs.
    segment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(PSEUDONYM_LEN))


class RevocationRow(Base):
    """An entity that may no longer be used: erased, or consent withdrawn.

    `purpose` is null for an erasure (every purpose) and names the purpose of
    a withdrawal. The id orders the feed destinations page through.
    """

    __tablename__ = "revocations"
    __table_args__ = (Index("ix_revocations_entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity_id: Mapped[str] = mapped_column(String(PSEUDONYM_LEN))
    purpose: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
