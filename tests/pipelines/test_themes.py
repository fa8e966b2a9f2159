"""themes: per-segment themes from redacted text, never a placeholder, never under k."""

import re

import numpy as np
import polars as pl

from pipelines.themes import (
    ThemeConfig,
    segment_themes,
    stop_words,
    strip_placeholders,
)

K = 10
DELIVERY = ("livraison", "colis", "retard", "transporteur", "delivery", "parcel")
FIT = ("taille", "pointure", "chaussures", "confortables", "size", "shoes")
# Glue every comment holds: stop words in both languages and placeholders.
GLUE = "le client <PERSON> a écrit à <EMAIL_ADDRESS> and the <PHONE_NUMBER> est"


def comments(
    segment_id: str, n: int, vocabulary: tuple[str, ...], seed: int, start: int = 0
) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(seed)
    return [
        (
            segment_id,
            f"ent-{start + i}",
            f"{GLUE} {' '.join(rng.choice(vocabulary, 4))}",
        )
        for i in range(n)
    ]


def frame(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["segment_id", "entity_id", "text"], orient="row")


def planted() -> list[tuple[str, str, str]]:
    """Segment S1: 40 write about delivery, 40 about fit, 9 about a rare word."""
    rows = comments("S1", 40, DELIVERY, 1) + comments("S1", 40, FIT, 2, start=40)
    return rows + comments("S1", K - 1, ("zorglub",), 3, start=80)


def test_planted_topics_come_out_as_themes() -> None:
    themes = segment_themes(frame(planted()), K)
    assert len(themes) >= 2
    tops = [set(theme.terms[:3]) for theme in themes]
    assert any(top <= set(DELIVERY) for top in tops)
    assert any(top <= set(FIT) for top in tops)


def test_placeholders_never_become_terms() -> None:
    terms = {t for theme in segment_themes(frame(planted()), K) for t in theme.terms}
    assert terms
    placeholder_words = {"person", "email", "address", "email_address", "phone"}
    assert not terms & placeholder_words
    assert not any("<" in t or ">" in t or "_" in t for t in terms)
    assert strip_placeholders("merci <PERSON>, <IBAN_CODE>!") == "merci  ,  !"


def test_no_term_or_theme_under_the_floor_is_shown() -> None:
    rows = planted()
    themes = segment_themes(frame(rows), K)
    writers: dict[str, set[str]] = {}
    for _, entity, text in rows:
        for word in re.findall(r"\w+", text.lower()):
            writers.setdefault(word, set()).add(entity)
    assert all(theme.members >= K for theme in themes)
    assert all(len(writers[t]) >= K for theme in themes for t in theme.terms)
    # Nine members wrote "zorglub": one short of the floor.
    assert "zorglub" not in {t for theme in themes for t in theme.terms}
    # At a floor of nine they make a theme of their own: the floor is the cause.
    with_nine = segment_themes(frame(planted()), K - 1)
    assert ("zorglub",) in {theme.terms for theme in with_nine}


def test_stop_words_of_both_languages_and_numbers_are_not_terms() -> None:
    rows = [(s, e, f"{t} commande 123456 pour les") for s, e, t in planted()]
    terms = {t for theme in segment_themes(frame(rows), K) for t in theme.terms}
    assert not terms & {"le", "les", "pour", "est", "the", "and", "123456"}
    assert {"le", "pour", "the", "and", "qu"} <= stop_words()


def test_a_segment_under_the_floor_has_no_themes() -> None:
    rows = planted() + comments("S2", K - 1, DELIVERY, 3, start=500)
    themes = segment_themes(frame(rows), K)
    assert {theme.segment_id for theme in themes} == {"S1"}


def test_several_texts_of_a_member_count_once() -> None:
    # Ten rows, all from three members: no word is written by ten members.
    rows = [("S1", f"ent-{i % 3}", "livraison colis retard") for i in range(10)]
    assert segment_themes(frame(rows), 3) != []
    assert segment_themes(frame(rows), 4) == []


def test_same_input_same_themes() -> None:
    config = ThemeConfig(n_themes=3, top_terms=4, seed=5)
    first = segment_themes(frame(planted()), K, config)
    assert first == segment_themes(frame(planted()), K, config)
    assert all(len(theme.terms) <= 4 for theme in first)


def test_a_large_segment_is_read_through_a_bounded_draw() -> None:
    config = ThemeConfig(max_documents=60, seed=5)
    themes = segment_themes(frame(planted()), K, config)
    assert themes
    assert sum(theme.members for theme in themes) <= 60
    assert all(theme.members >= K for theme in themes)
