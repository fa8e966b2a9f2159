from gateway.audit.event import AuditEvent, SealedEvent, canonical_json
from gateway.audit.log import (
    ConsistencyProof,
    InclusionProof,
    VerifyReport,
    append_events,
    consistency_proof,
    export_canonical,
    format_time,
    inclusion_proof,
    root_at,
    verify,
)

__all__ = [
    "AuditEvent",
    "ConsistencyProof",
    "InclusionProof",
    "SealedEvent",
    "VerifyReport",
    "append_events",
    "canonical_json",
    "consistency_proof",
    "export_canonical",
    "format_time",
    "inclusion_proof",
    "root_at",
    "verify",
]
