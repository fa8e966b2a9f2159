"""Detected spans and how overlapping ones are settled (pure)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A detected entity: its type, its ``[start, end)`` offsets and a score in 0-1."""

    entity_type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class Redacted:
    """A text with its personal data replaced, and the entity types that were."""

    text: str
    entity_types: tuple[str, ...]


def _by_preference(span: Span) -> tuple[int, float, int]:
    return span.start - span.end, -span.score, span.start


def _by_start(span: Span) -> tuple[int, int]:
    return span.start, span.end


def resolve(spans: list[Span]) -> list[Span]:
    """Drop overlapping spans, keeping the longest, then the best scored.

    A whole IBAN beats a phone number read inside it, a street address the
    name of the person the street is named after; for the same digits, the
    checksummed SIRET (1.0) beats a context-less card reading.

    Returns:
        Non-overlapping spans sorted by start.
    """
    if len(spans) < 2:  # the common case: nothing to settle
        return list(spans)
    kept: list[Span] = []
    for span in sorted(spans, key=_by_preference):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    kept.sort(key=_by_start)
    return kept
