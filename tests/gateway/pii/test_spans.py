"""Settling overlapping spans (pure)."""

from gateway.pii.spans import Span, resolve


def test_no_overlap_keeps_all_sorted() -> None:
    a, b = Span("EMAIL_ADDRESS", 10, 20, 1.0), Span("PERSON", 0, 5, 0.85)
    assert resolve([a, b]) == [b, a]


def test_higher_score_wins_an_overlap() -> None:
    siret = Span("FR_SIRET", 6, 20, 1.0)
    card = Span("CREDIT_CARD", 6, 20, 0.5)
    phone = Span("PHONE_NUMBER", 8, 18, 0.75)
    assert resolve([card, phone, siret]) == [siret]


def test_longer_wins_a_tie() -> None:
    short, long = Span("PERSON", 0, 5, 0.85), Span("PERSON", 0, 12, 0.85)
    assert resolve([short, long]) == [long]


def test_touching_spans_both_stay() -> None:
    a, b = Span("PERSON", 0, 5, 0.85), Span("PHONE_NUMBER", 5, 10, 0.75)
    assert resolve([b, a]) == [a, b]


def test_empty_and_single() -> None:
    assert resolve([]) == []
    one = Span("PERSON", 0, 5, 0.85)
    assert resolve([one]) == [one]
