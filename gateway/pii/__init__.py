"""Detection and redaction of personal data in text."""

from gateway.pii.patterns import Span, contains_pii, find_pii, redact, redact_text

__all__ = ["Span", "contains_pii", "find_pii", "redact", "redact_text"]
