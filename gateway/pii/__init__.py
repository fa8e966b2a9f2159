"""Detection and redaction of personal data in text (Presidio, French and English).

The analyzer itself (`gateway.pii.analyzer`) loads spaCy and Presidio, so it is
imported where it is used, not here.
"""

from gateway.pii.spans import Redacted, Span

__all__ = ["Redacted", "Span"]
