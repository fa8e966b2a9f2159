"""Text folding, bigrams and a phonetic code for linkage fields (pure).

What every linkage encoding starts from: a value folded to lower-case ASCII
letters and digits, its padded bigrams (what a Bloom filter holds, so that a
typo changes few of them) and a Soundex-style code (what two spellings of one
spoken name share).
"""

import re
import unicodedata

_PAD = "_"  # bigram padding: marks the first and last letters of a word
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")

# Rewrites applied in order before coding, for spellings French and English
# names share or confuse: ph/f, qu/k, the French "eau" and "ou" sounds, a soft
# c or g before e/i/y, a hard c as k (Cathy/Kathy). Each is a regex so that
# context can matter.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"[^a-z]", ""),
        (r"ault$|eaux?|au|ot$", "o"),
        (r"ph", "f"),
        (r"sch|sh|ch", "s"),
        (r"ck|qu|q", "k"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"mps", "ms"),
        (r"g(?=[eiy])", "j"),
        (r"gn", "n"),
        (r"th", "t"),
        (r"ou|oo", "u"),
        (r"ai|ei|ay|ey", "e"),
        (r"y", "i"),
        (r"w", "v"),
        (r"z", "s"),
        # French silent endings: Dupont/Dupond, Renaud/Renault, Lucas/Luca.
        (r"(?<=.)(?:[dtsx]|e)$", ""),
    )
)
# Soundex classes, with the rewrites above already applied.
_CODES = str.maketrans("bfpvcgjkqsxzdtlmnr", "111122222222334556")
_SEPARATES = frozenset("aeiou")  # a vowel lets a repeated class count twice


def phonetic(name: str) -> str:
    """Return a Soundex-style code of a French or English name.

    The first letter is kept, the rest are coded by sound class (Soundex's
    six), repeated classes collapse unless a vowel separates them, ``h`` is
    silent, and the code is cut at four characters. French and English
    spelling rewrites come first: ``Dupont``, ``Dupond`` and ``Dupon`` all
    give ``D150``; ``Philippe`` and ``Filip`` give ``F410``.

    Returns:
        The code, or ``""`` when the name has no letters.
    """
    text = fold_text(name)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    if not text:
        return ""
    code = [text[0].upper()]
    last = text[0].translate(_CODES)
    for letter in text[1:]:
        if letter == "h":
            continue
        digit = letter.translate(_CODES)
        if letter in _SEPARATES:
            last = ""
        elif digit != last:
            code.append(digit)
            last = digit
        if len(code) == 4:
            break
    return "".join(code).ljust(4, "0")


def fold_text(value: str) -> str:
    """Lower-case, strip accents, keep letters and digits, collapse spaces.

    ``"  Éloïse-Marie  D'Arc "`` → ``"eloise marie d arc"``. Hyphens and
    apostrophes become spaces so that ``Jean-Luc`` and ``Jean Luc`` agree;
    letters with no ASCII decomposition (``ß``, ``ø``) are dropped.
    """
    decomposed = unicodedata.normalize("NFKD", value.lower())
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii")
    return _NOT_ALNUM.sub(" ", ascii_text).strip()


def bigrams(text: str) -> list[str]:
    """Return the padded bigrams of each word of already folded text.

    ``"le roy"`` → ``_l le e_ _r ro oy y_``: padding per word gives the first
    and last letters their own grams, where typos are rarer.
    """
    grams: list[str] = []
    for word in text.split():
        padded = f"{_PAD}{word}{_PAD}"
        grams.extend(padded[i : i + 2] for i in range(len(padded) - 1))
    return grams
