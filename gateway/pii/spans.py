"""Detected spans and how overlapping ones are settled (pure)."""

import re
from collections.abc import Sequence
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


MIN_KNOWN = 3  # a known value shorter than this would match anywhere


def known_spans(text: str, known: Sequence[tuple[str, str]]) -> list[Span]:
    """Where values already known to belong to the record's person occur in `text`.

    `known` holds (entity type, value) pairs: the record's own name, e-mail,
    street... A note often names the person it is about, and detection
    misses a name it has never seen; these values need no guessing. Case is
    ignored; a value must stand as a whole word (not inside another one).
    """
    found = []
    for entity, value in known:
        value = value.strip()
        if len(value) < MIN_KNOWN:
            continue
        pattern = rf"(?<!\w){re.escape(value)}(?!\w)"
        found += [
            Span(entity, m.start(), m.end(), 1.0)
            for m in re.finditer(pattern, text, flags=re.IGNORECASE)
        ]
    return found


def with_known(detected: list[Span], known: list[Span]) -> list[Span]:
    """Resolved detected spans, with every known span covered whole.

    A detected span overlapping a known one is merged into it (their union,
    under the known span's type): a name detected in part ("Rappeler Jea"
    of "Rappeler Jean") must not leave the rest of the known value in
    clear.
    """
    spans = list(detected)
    for span in resolve(known):
        overlapping = [s for s in spans if s.start < span.end and span.start < s.end]
        if not overlapping:
            spans.append(span)
            continue
        start = min(span.start, *(s.start for s in overlapping))
        end = max(span.end, *(s.end for s in overlapping))
        spans = [s for s in spans if s not in overlapping]
        spans.append(Span(span.entity_type, start, end, 1.0))
    return sorted(spans, key=_by_start)


_NAME_PART = re.compile(r"[^\s,;]+")
# Lower-case words a name may hold, which belong to the surname after them
# ("Marie de la Fontaine").
NAME_PARTICLES = frozenset(
    {"d'", "da", "de", "des", "di", "du", "l'", "la", "le", "van", "von"}
)


def split_name_parts(text: str, spans: list[Span]) -> list[Span]:
    """Each PERSON span cut into its words, particles kept with the next word.

    "DUPONT Jean" is a surname and a first name: two spans, as French notes
    are annotated; the redacted text reads "<PERSON> <PERSON>" either way.
    """
    out: list[Span] = []
    for span in spans:
        if span.entity_type != "PERSON":
            out.append(span)
            continue
        start = None
        for match in _NAME_PART.finditer(text, span.start, span.end):
            if start is None:
                start = match.start()
            if match[0].lower() in NAME_PARTICLES:
                continue
            out.append(Span("PERSON", start, match.end(), span.score))
            start = None
        if start is not None:  # a particle at the very end: keep it whole
            out.append(Span("PERSON", start, span.end, span.score))
    return out


_NER_TYPES = frozenset({"LOCATION", "ORGANIZATION"})


def prefer_names(spans: list[Span], guessed: Sequence[bool]) -> list[Span]:
    """Drop a guessed place or organisation whose letters a name reading covers.

    NER reads "BEAUJARD Frederic" as an organisation; the name recognizers
    read two names there from the sentence itself, and the longer guess
    would otherwise win the overlap. `guessed[i]` says whether `spans[i]` is
    the NER model's (a place read from the sentence, "admise à l'X", is not).
    """
    names = [s for s in spans if s.entity_type == "PERSON"]
    if not names:
        return spans
    return [
        s
        for s, guess in zip(spans, guessed, strict=True)
        if not (guess and s.entity_type in _NER_TYPES and _covered(s, names))
    ]


def _covered(span: Span, names: list[Span]) -> bool:
    inside = [n for n in names if n.start < span.end and span.start < n.end]
    if not inside:
        return False
    first = min(n.start for n in inside)
    return first <= span.start and max(n.end for n in inside) >= span.end
