from gateway.audit.event import AuditEvent, SealedEvent, canonical_json
from gateway.audit.log import (
    VerifyReport,
    append_events,
    export_canonical,
    format_time,
    verify,
)
from gateway.audit.proofs import (
    ConsistencyProof,
    InclusionProof,
    consistency_proof,
    inclusion_proof,
    root_at,
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
