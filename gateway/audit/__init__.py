from gateway.audit.event import AuditEvent, SealedEvent, canonical_json
from gateway.audit.log import VerifyReport, append_events, format_time, verify

__all__ = [
    "AuditEvent",
    "SealedEvent",
    "VerifyReport",
    "append_events",
    "canonical_json",
    "format_time",
    "verify",
]
