"""Span-level precision, recall and F1 for PII detection.

Gold and predicted spans are compared per text. A predicted span matches a gold
span when their character-level intersection over union is at least 0.5;
matching is one-to-one and greedy by highest IoU, so two predictions over one
gold span give one true positive and one false positive. Per-type scores require
equal types; the extra key ``"ANY"`` ignores types (any predicted PII span
against any gold span), which separates "found the personal data" from "named
it correctly".

The only I/O is :func:`load_corpus`, which reads the JSON Lines files written by
``bench/pii_corpus.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ANY = "ANY"
MIN_IOU = 0.5


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
    for _, g, p in candidates:
        if g not in used_gold and p not in used_pred:
            used_gold.add(g)
            used_pred.add(p)
    return len(used_gold)


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
