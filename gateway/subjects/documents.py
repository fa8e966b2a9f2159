"""The documents a data-subject request answers with, typed.

They are `TypedDict`s rather than models because the CLI prints the same
documents (`gateway subjects access --json`) that the HTTP API returns: one
shape for both, checked by the type checker where they are built and by the
API, which validates each against its declared response type before sending
it (an unknown or missing key is a 500, never a silent change of shape).
"""

from typing import Literal

from pydantic import ConfigDict, JsonValue, with_config
from typing_extensions import TypedDict  # pydantic needs it before Python 3.12

_STRICT = ConfigDict(extra="forbid")


@with_config(_STRICT)
class SubjectKeyState(TypedDict):
    """A subject id and the state of its data key."""

    subject_id: str
    data_key: Literal["none", "destroyed", "active"]


@with_config(_STRICT)
class HeldRecord(TypedDict):
    """A record held about the subject, its personal data decrypted."""

    record_id: str
    partner: str
    dataset: str
    source_id: str
    subject_id: str
    purpose: str
    version: int
    created_at: str | None
    updated_at: str | None
    # None once the data key is destroyed (or the vault row is gone).
    personal_data: dict[str, str] | None
    data: dict[str, JsonValue]
    identifier_pseudonyms: dict[str, JsonValue]
    policy_version: str


@with_config(_STRICT)
class ConsentProof(TypedDict):
    """What a consent event rests on: a TC string's digest, never the string."""

    kind: Literal["tcf"]
    tc_string_sha256: str
    cmp_id: int | None
    tc_last_updated: str | None


@with_config(_STRICT)
class HeldConsent(TypedDict):
    """A consent event recorded under one of the subject's pseudonyms."""

    identifier_type: str
    identifier_pseudonym: str
    purpose: str
    status: Literal["granted", "withdrawn"]
    explicit: bool
    at: str | None
    recorded_at: str | None
    source: str
    partner: str
    proof: ConsentProof | None


@with_config(_STRICT)
class HeldMembership(TypedDict):
    """A segment one of the subject's entities was placed in."""

    audience: str
    run_id: str
    run_finished_at: str | None
    segment_id: str
    label: str
    level: int
    description: str


@with_config(_STRICT)
class Recipient(TypedDict):
    """A destination that was sent one of the subject's entities."""

    destination: str
    audience: str
    first_sent_at: str | None


@with_config(_STRICT)
class SubjectAuditEvent(TypedDict):
    """An audit event about the subject (pseudonyms and actions, no values)."""

    seq: int
    occurred_at: str
    actor: str
    action: str
    purpose: str | None
    dataset: str | None
    record_id: str | None
    reason: str | None


@with_config(_STRICT)
class AccessDocument(TypedDict):
    """Everything held about a subject (GDPR Art. 15), also its portable copy."""

    format: str
    generated_at: str | None
    identifier_type: str
    found: bool
    subjects: list[SubjectKeyState]
    records: list[HeldRecord]
    consents: list[HeldConsent]
    segments: list[HeldMembership]
    recipients: list[Recipient]
    audit_events: list[SubjectAuditEvent]


@with_config(_STRICT)
class ErasureCounts(TypedDict):
    """How much an erasure deleted, by kind."""

    records: int
    vault_entries: int
    consent_events: int
    memberships: int
    # Rows of what destinations were last delivered (difference protection).
    deliveries: int
    entity_keys: int
    keys_destroyed: int
    revocations: int


@with_config(_STRICT)
class SealedEventDocument(TypedDict):
    """An audit event as logged: its position, id, leaf hash and exact bytes."""

    seq: int
    event_id: str
    leaf_hash: str
    canonical: str


@with_config(_STRICT)
class InclusionProofDocument(TypedDict):
    """An RFC 6962 inclusion proof; hashes in hex."""

    leaf_index: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str]


@with_config(_STRICT)
class ErasureReceipt(TypedDict):
    """What an erasure did, with the audit event and the proof it was logged."""

    receipt: str
    erased_at: str | None
    identifier_type: str
    found: bool
    subjects: list[str]
    deleted: ErasureCounts
    audit_event: SealedEventDocument
    inclusion_proof: InclusionProofDocument
    checkpoint: str


@with_config(_STRICT)
class RecordRef(TypedDict):
    """A record behind a pseudonym, named without its content."""

    record_id: str
    partner: str
    dataset: str
    source_id: str


@with_config(_STRICT)
class Reidentification(TypedDict):
    """The identifiers behind a subject pseudonym, by identifier type."""

    subject_id: str
    found: bool
    identifiers: dict[str, list[str]]
    records: list[RecordRef]
