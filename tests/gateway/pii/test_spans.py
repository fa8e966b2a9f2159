"""Settling overlapping spans (pure)."""

from gateway.pii.spans import (
    Span,
    known_spans,
    prefer_names,
    resolve,
    split_name_parts,
    with_known,
)


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


def test_person_spans_are_cut_per_part_particles_with_the_next_word() -> None:
    text = "DUPONT Jean, Marie de la Fontaine et Jean-Luc"

    def at(value: str) -> tuple[int, int]:
        start = text.index(value)
        return start, start + len(value)

    spans = [
        Span("PERSON", *at("DUPONT Jean"), 0.7),
        Span("PERSON", *at("Marie de la Fontaine"), 0.85),
        Span("PERSON", *at("Jean-Luc"), 0.85),
        Span("EMAIL_ADDRESS", 0, 4, 1.0),
    ]
    parts = [text[s.start : s.end] for s in split_name_parts(text, spans)]
    assert parts == ["DUPONT", "Jean", "Marie", "de la Fontaine", "Jean-Luc", "DUPO"]


def test_a_guessed_organisation_under_names_gives_way() -> None:
    org = Span("ORGANIZATION", 0, 17, 0.85)
    names = [Span("PERSON", 0, 8, 0.6), Span("PERSON", 9, 17, 0.6)]
    assert prefer_names([org, *names], [True, False, False]) == names
    # Read from the sentence ("admise à l'X"), the organisation stays.
    assert prefer_names([org, *names], [False, False, False]) == [org, *names]
    # A name covering part of it only leaves it alone.
    assert prefer_names([org, names[0]], [True, False]) == [org, names[0]]


def test_known_values_are_found_whole_and_in_any_case() -> None:
    text = "Appeler ANNA Zorn, pas Annabelle, au 12 rue Haute; zorn@x.fr"
    found = known_spans(
        text, [("PERSON", "Anna"), ("PERSON", "zorn"), ("LOCATION", "Lu")]
    )
    assert [(text[s.start : s.end], s.entity_type) for s in found] == [
        ("ANNA", "PERSON"),
        ("Zorn", "PERSON"),
        ("zorn", "PERSON"),  # inside the e-mail, a word of its own
    ]


def test_a_known_value_detected_in_part_is_covered_whole() -> None:
    text = "Rappeler Zelda Quix demain"
    detected = [Span("PERSON", 0, 14, 0.6)]  # "Rappeler Zelda"
    known = known_spans(text, [("PERSON", "Zelda"), ("PERSON", "Quix")])
    merged = with_known(detected, known)
    assert [(text[s.start : s.end], s.entity_type) for s in merged] == [
        ("Rappeler Zelda", "PERSON"),
        ("Quix", "PERSON"),
    ]
    assert with_known([], known) == known
