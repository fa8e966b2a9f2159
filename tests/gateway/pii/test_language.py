"""Telling French from English (pure)."""

import pytest

from gateway.pii.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Bonjour, je n'ai pas reçu ma commande.", "fr"),
        ("colis pas recu, vous pouvez me rappeler svp", "fr"),
        ("L'adresse de livraison est fausse.", "fr"),
        ("Hello, I have not received my order yet.", "en"),
        ("please call me back about the refund", "en"),
        ("", "fr"),
        ("06 12 34 56 78", "fr"),
    ],
)
def test_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_default_when_nothing_tells() -> None:
    assert detect_language("12345", default="en") == "en"
