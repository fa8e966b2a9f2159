"""Folding, bigrams and the phonetic code every linkage encoding starts from."""

import pytest

from gateway.linkage.text import bigrams, fold_text, phonetic


@pytest.mark.parametrize(
    ("names", "code"),
    [
        (("Dupont", "Dupond", "Dupon"), "D150"),
        (("Renault", "Renaud", "Renaut"), "R500"),
        (("Perrault", "Perraud", "Perrot"), "P600"),
        (("Philippe", "Filip"), "F410"),
        (("Lefèvre", "Lefebvre", "Lefeuvre"), "L116"),
        (("Cathy", "Kathy"), "K300"),
        (("Georges", "Jorge"), "J620"),
        (("Gauthier", "Gautier"), "G360"),
        (("Smith", "Smyth"), "S500"),
        (("Laurent", "Lorent"), "L650"),
        (("Jean-Luc", "jean luc"), "J542"),
    ],
)
def test_phonetic_merges_spellings_of_one_name(
    names: tuple[str, ...], code: str
) -> None:
    assert {phonetic(name) for name in names} == {code}


def test_phonetic_keeps_different_names_apart() -> None:
    assert len({phonetic(n) for n in ("Martin", "Dubois", "Bernard", "Petit")}) == 4
    assert phonetic("") == phonetic("123") == ""


def test_fold_text() -> None:
    assert fold_text("  Éloïse-Marie  D'Arc ") == "eloise marie d arc"
    assert fold_text("Straße") == "strae"


def test_bigrams_pad_each_word() -> None:
    assert bigrams("le roy") == ["_l", "le", "e_", "_r", "ro", "oy", "y_"]
    assert bigrams("") == []
