"""Tell French from English text, cheaply, for `--language auto` (pure).

Stop words are most of any sentence and differ between the two languages, so
counting them is enough for texts of a sentence or more; accents and elisions
(l', d', qu') are French tie-breakers. A text with no clue gets the default.
"""

import regex
from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP_WORDS
from spacy.lang.fr.stop_words import STOP_WORDS as FR_STOP_WORDS

# Words both lists hold ("a", "on", "me", "ne"...) say nothing either way.
_FR_ONLY = frozenset(FR_STOP_WORDS - EN_STOP_WORDS)
_EN_ONLY = frozenset(EN_STOP_WORDS - FR_STOP_WORDS)
_WORD = regex.compile(r"[^\W\d_]+")
_ELISION = regex.compile(r"\b(?:[ldjmnst]|qu)['’]\p{L}", regex.IGNORECASE)
_FRENCH_LETTERS = regex.compile(r"[éèêëàâçîïôûùœ]", regex.IGNORECASE)


def detect_language(text: str, default: str = "fr") -> str:
    """Return "fr" or "en" for a text, `default` when it gives no clue.

    Args:
        text: Any text.
        default: What to answer when the counts tie.

    Returns:
        The language code.
    """
    french = english = 0
    for word in _WORD.findall(text.lower()):
        if word in _FR_ONLY:
            french += 1
        elif word in _EN_ONLY:
            english += 1
    french += len(_ELISION.findall(text)) + min(len(_FRENCH_LETTERS.findall(text)), 3)
    if french == english:
        return default
    return "fr" if french > english else "en"
