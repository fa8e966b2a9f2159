"""Span-level and token-level precision, recall and F1 for PII detection.

Span level: gold and predicted spans are compared per text. A predicted span
matches a gold span when their character-level intersection over union is at
least 0.5; matching is one-to-one and greedy by highest IoU, so two predictions
over one gold span give one true positive and one false positive. Per-type
scores require equal types; the extra key ``"ANY"`` ignores types (any
predicted PII span against any gold span), which separates "found the personal
data" from "named it correctly".

Naming differs between annotation schemes and detectors (a birth date is a
DATE_OF_BIRTH here and a DATE_TIME in Presidio, a surname and a first name are
two spans in one scheme and one PERSON in another), so the benchmark scores
*coarse classes* (:data:`CLASSES`: :func:`coarsen`) after joining same-class
spans that only whitespace or commas separate (:func:`merge_adjacent`).

Token level (:func:`token_score`): the text is split into tokens (runs of
letters and digits; whitespace, punctuation and ``_`` separate them). A token
is gold PII when it overlaps any gold span by at least one character,
predicted PII when it overlaps any predicted span; counts are over tokens,
types ignored.

The only I/O is :func:`load_corpus`, which reads the JSON Lines files written by
``bench/pii_corpus.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ANY = "ANY"
MIN_IOU = 0.5
# What kind of personal data, whatever a scheme calls it: who, where, which
# organisation, when, how to reach them, and every kind of identifying number.
CLASSES: tuple[str, ...] = (
    "person",
    "place",
    "org",
    "date",
    "phone",
    "email",
    "url",
    "ip",
    "ids",
)
# Our entity types (gateway.policy.pii_policy.PII_ENTITIES) to their class. A type
# missing here keeps its own name.
CLASS_OF: dict[str, str | None] = {
    "PERSON": "person",
    "LOCATION": "place",
    "STREET_ADDRESS": "place",
    "POSTAL_CODE": "place",
    "ORGANIZATION": "org",
    "DATE_TIME": "date",
    "DATE_OF_BIRTH": "date",
    "PHONE_NUMBER": "phone",
    "EMAIL_ADDRESS": "email",
    "URL": "url",
    "IP_ADDRESS": "ip",
    "IBAN_CODE": "ids",
    "CREDIT_CARD": "ids",
    "US_SSN": "ids",
    "FR_NIR": "ids",
    "FR_SIREN": "ids",
    "FR_SIRET": "ids",
    "FR_VAT": "ids",
    "PATIENT_ID": "ids",
    "ID_DOCUMENT": "ids",
}
# Plain Presidio's types (default recognizers and its spaCy NER mapping). NRP
# (nationality, religious or political group) and AGE are dropped (None): no
# scheme here labels them, so they are neither hits nor false positives.
PRESIDIO_CLASS_OF: dict[str, str | None] = {
    **CLASS_OF,
    "EMAIL": "email",
    "MAC_ADDRESS": "ip",
    "US_BANK_NUMBER": "ids",
    "US_DRIVER_LICENSE": "ids",
    "US_ITIN": "ids",
    "US_PASSPORT": "ids",
    "UK_NHS": "ids",
    "UK_NINO": "ids",
    "MEDICAL_LICENSE": "ids",
    "CRYPTO": "ids",
    "UUID": "ids",
    "ID": "ids",
    "NRP": None,
    "AGE": None,
}
_TOKEN = re.compile(r"[^\W_]+")
_JOINABLE_GAP = re.compile(r"[\s,]*")


@dataclass(frozen=True)
class GoldSpan:
    """A labelled character span ``text[start:end]``."""

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class LabelledText:
    """One corpus line: a text and its gold spans (sorted, non-overlapping)."""

    id: str
    language: str
    template: str
    text: str
    entities: tuple[GoldSpan, ...]


@dataclass
class Scores:
    """Counts of true positives, false positives and false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """TP / (TP + FP), 0.0 when nothing was predicted."""
        predicted = self.tp + self.fp
        return self.tp / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN), 0.0 when there is nothing to find."""
        gold = self.tp + self.fn
        return self.tp / gold if gold else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall, 0.0 when both are 0."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, tp: int, fp: int, fn: int) -> None:
        """Accumulate counts."""
        self.tp += tp
        self.fp += fp
        self.fn += fn


def load_corpus(path: Path) -> list[LabelledText]:
    """Read a JSON Lines corpus file."""
    texts = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            entities = tuple(
                GoldSpan(e["type"], e["start"], e["end"]) for e in row["entities"]
            )
            texts.append(
                LabelledText(
                    row["id"], row["language"], row["template"], row["text"], entities
                )
            )
    return texts


def iou(a_start: int, a_end: int, b_start: int, b_end: int) -> float:
    """Character-level intersection over union of two half-open spans."""
    intersection = max(0, min(a_end, b_end) - max(a_start, b_start))
    union = (a_end - a_start) + (b_end - b_start) - intersection
    return intersection / union if union > 0 else 0.0


def count_matches(gold: Sequence[GoldSpan], predicted: Sequence[GoldSpan]) -> int:
    """Size of the greedy one-to-one matching by highest IoU (IoU >= 0.5).

    Types are not compared here: callers pass spans of one type, or all spans
    for the type-agnostic score.
    """
    return len(match_pairs(gold, predicted))


def match_pairs(
    gold: Sequence[GoldSpan], predicted: Sequence[GoldSpan]
) -> list[tuple[int, int]]:
    """The greedy one-to-one matching by highest IoU: (gold, predicted) indexes.

    Types are not compared: two spans of different types may be paired.
    """
    candidates = []
    for g, gold_span in enumerate(gold):
        for p, pred_span in enumerate(predicted):
            overlap = iou(
                gold_span.start, gold_span.end, pred_span.start, pred_span.end
            )
            if overlap >= MIN_IOU:
                candidates.append((-overlap, g, p))
    candidates.sort()
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    pairs = []
    for _, g, p in candidates:
        if g not in used_gold and p not in used_pred:
            used_gold.add(g)
            used_pred.add(p)
            pairs.append((g, p))
    return sorted(pairs)


def _tally(
    scores: Scores, gold: Sequence[GoldSpan], predicted: Sequence[GoldSpan]
) -> None:
    matched = count_matches(gold, predicted)
    scores.add(matched, len(predicted) - matched, len(gold) - matched)


def _keys(
    gold: Iterable[Sequence[GoldSpan]],
    predicted: Iterable[Sequence[GoldSpan]],
    types: Sequence[str] | None,
) -> list[str]:
    seen = {span.type for spans in (*gold, *predicted) for span in spans}
    listed = list(types or [])
    return listed + sorted(seen - set(listed))


def score(
    gold: Sequence[Sequence[GoldSpan]],
    predicted: Sequence[Sequence[GoldSpan]],
    *,
    types: Sequence[str] | None = None,
) -> dict[str, Scores]:
    """Per-type and type-agnostic (``"ANY"``) scores over aligned texts.

    Args:
        gold: Gold spans, one sequence per text.
        predicted: Predicted spans for the same texts, in the same order.
        types: Keys always present in the result (in this order, with zero
            counts if unseen). Types that occur in gold or predictions but are
            not listed are still scored, under their own key after the listed
            ones, and always count in ``"ANY"``: a predicted type that has no
            gold counterpart is a false positive, never silently dropped.

    Returns:
        ``{type: Scores, ..., "ANY": Scores}``.

    Raises:
        ValueError: If gold and predicted do not cover the same number of texts.
    """
    if len(gold) != len(predicted):
        msg = f"{len(gold)} gold texts but {len(predicted)} predicted"
        raise ValueError(msg)
    keys = _keys(gold, predicted, types)
    result = {key: Scores() for key in keys}
    result[ANY] = Scores()
    for gold_spans, pred_spans in zip(gold, predicted, strict=True):
        for key in keys:
            _tally(
                result[key],
                [s for s in gold_spans if s.type == key],
                [s for s in pred_spans if s.type == key],
            )
        _tally(result[ANY], gold_spans, pred_spans)
    return result


def format_table(scores: Mapping[str, Scores]) -> str:
    """A fixed-width text table: type, TP, FP, FN, precision, recall, F1."""
    header = (
        f"{'type':<16} {'tp':>5} {'fp':>5} {'fn':>5} {'prec':>6} {'rec':>6} {'f1':>6}"
    )
    rows = [header]
    for key, s in scores.items():
        rows.append(
            f"{key:<16} {s.tp:>5} {s.fp:>5} {s.fn:>5} "
            f"{s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f}"
        )
    return "\n".join(rows)


def coarsen(
    spans: Iterable[GoldSpan], classes: Mapping[str, str | None] = CLASS_OF
) -> list[GoldSpan]:
    """The spans with their type replaced by its class.

    Args:
        spans: Spans of one text.
        classes: Type to class; a type mapped to None is dropped, a type not
            listed keeps its own name (so it is still scored, never lost).

    Returns:
        The remaining spans, in the same order.
    """
    out = []
    for span in spans:
        kind = classes.get(span.type, span.type)
        if kind is not None:
            out.append(GoldSpan(kind, span.start, span.end))
    return out


def merge_adjacent(text: str, spans: Iterable[GoldSpan]) -> list[GoldSpan]:
    """Join spans of one type that overlap or that only whitespace and commas part.

    "Dupont Jean" labelled as a surname and a first name, or "12 rue de la
    Paix, 75002 Paris" as street, postal code and city, become one span each,
    as a scheme with one span per name or address labels them.

    Returns:
        The joined spans, sorted by start then type.
    """
    out: list[GoldSpan] = []
    last: dict[str, int] = {}  # type -> index in out of its latest span
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        index = last.get(span.type)
        if index is not None:
            previous = out[index]
            gap = text[previous.end : span.start]
            if span.start <= previous.end or _JOINABLE_GAP.fullmatch(gap):
                end = max(previous.end, span.end)
                out[index] = GoldSpan(span.type, previous.start, end)
                continue
        last[span.type] = len(out)
        out.append(span)
    return sorted(out, key=lambda s: (s.start, s.type))


def tokens(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each token: a run of letters and digits."""
    return [match.span() for match in _TOKEN.finditer(text)]


def _covered(start: int, end: int, spans: Sequence[GoldSpan]) -> bool:
    return any(s.start < end and start < s.end for s in spans)


def token_score(
    texts: Sequence[str],
    gold: Sequence[Sequence[GoldSpan]],
    predicted: Sequence[Sequence[GoldSpan]],
) -> Scores:
    """Any-PII counts over tokens: TP, FP, FN are tokens, types are ignored.

    A token is gold (predicted) PII when it shares a character with any gold
    (predicted) span.

    Raises:
        ValueError: If texts, gold and predicted differ in length.
    """
    if not len(texts) == len(gold) == len(predicted):
        msg = f"{len(texts)} texts, {len(gold)} gold, {len(predicted)} predicted"
        raise ValueError(msg)
    scores = Scores()
    for text, gold_spans, pred_spans in zip(texts, gold, predicted, strict=True):
        for start, end in tokens(text):
            is_gold = _covered(start, end, gold_spans)
            is_pred = _covered(start, end, pred_spans)
            scores.add(
                int(is_gold and is_pred),
                int(is_pred and not is_gold),
                int(is_gold and not is_pred),
            )
    return scores
