from gateway.audit.cosignature import (
    Cosignature,
    Cosigner,
    WitnessKey,
    WitnessPolicy,
    cosignatures,
)
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
from gateway.audit.witness import (
    WitnessError,
    gather_cosignatures,
    request_cosignatures,
)

__all__ = [
    "AuditEvent",
    "ConsistencyProof",
    "Cosignature",
    "Cosigner",
    "InclusionProof",
    "SealedEvent",
    "VerifyReport",
    "WitnessError",
    "WitnessKey",
    "WitnessPolicy",
    "append_events",
    "canonical_json",
    "consistency_proof",
    "cosignatures",
    "export_canonical",
    "format_time",
    "gather_cosignatures",
    "inclusion_proof",
    "request_cosignatures",
    "root_at",
    "verify",
]
