"""The NER model's persons, places, organisations and dates, cleaned.

spaCy's news models glue titles and greetings to names ("Madame Durand",
"Bonjour Marie"), read a capitalised heading word as a name or a place
("Orientation", "Bilan sanguin") and call durations dates ("two weeks"). The
span we store must cover the personal data only, and a word every dictionary
holds is not a name: each type is trimmed and checked before it is kept.
"""

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from gateway.pii.lexicon import Dictionary
from gateway.pii.nlp import NER_ENTITIES
from gateway.pii.recognizers.dates import DATE_SCORE
from gateway.pii.recognizers.names import (
    COMPANY_WORDS,
    NOT_NAMES,
    STOP_WORDS,
    looks_like_a_name,
    trim_name,
    trim_words,
)

# A date worth keeping names a day, a month or a year, or a clock time:
# "two weeks", "Monday" or "last year" point at no one.
_CALENDAR = regex.compile(
    r"(?<![0-9])(?:1[89]|20)[0-9]{2}(?![0-9])|(?<![0-9])[0-9]{1,2}[/.:h-][0-9]{1,2}"
    r"(?![0-9])|(?i:\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
    r"(?![a-z]))"
)
# A word holding letters and digits is a reference, a SKU or a BIC.
_CODE = regex.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[^\W\d_])[\w-]+\b")
# "Social Security number", "Customer no.": a label for an identifier, not an
# organisation or a place.
_LABEL_AFTER = regex.compile(r"\s+(?i:number|no\.|num[ée]ro|n°|#|id\b|code\b)")
# Words of salutations and forms glued to NER spans: "Dear Customer Services".
_GENERIC = frozenset({"customer", "customers", "services", "service", "bic", "swift"})
_EDGE_WORDS = NOT_NAMES | STOP_WORDS | _GENERIC | {"the"}


class CleanNerRecognizer(SpacyRecognizer):
    """The NER model's entities, trimmed to their words and checked by type."""

    def __init__(self, supported_language: str, dictionary: Dictionary) -> None:
        self._known = dictionary
        super().__init__(
            supported_language=supported_language,
            supported_entities=list(NER_ENTITIES),
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        """The model's spans that survive their type's check, trimmed."""
        kept = []
        for whole in super().analyze(text, entities, nlp_artifacts):
            kept += [part for part in _fields(text, whole) if self._keep(text, part)]
        return kept

    def _keep(self, text: str, result: RecognizerResult) -> bool:
        """Trim `result` in place to its words; whether its type's check holds."""
        if result.entity_type == "PERSON":
            result.start, result.end = trim_name(text, result.start, result.end)
            keep = result.start < result.end and self._a_name(text, result)
        elif result.entity_type == "DATE_TIME":
            keep = bool(_CALENDAR.search(text, result.start, result.end))
            # As sure as a date pattern, so that "born on <date>" is
            # settled for the birth-date reading (context lifts it higher).
            result.score = DATE_SCORE
        else:
            result.start, result.end = _trim(text, result.start, result.end)
            span = text[result.start : result.end]
            # "Mer 13 Décembre 2000 Démarches": a date the model took in;
            # "SKU-47768-K", "Invoice INV-571564": codes, not names.
            keep = bool(span) and not _CALENDAR.search(span)
            keep = keep and not _CODE.search(span)
            keep = keep and not _LABEL_AFTER.match(text, result.end)
            keep = keep and self._a_proper_name(span, text, result)
        return keep

    def _a_name(self, text: str, result: RecognizerResult) -> bool:
        if self._typed_in_lower_case(text[result.start : result.end], words=2):
            return True
        if not looks_like_a_name(text, result.start, result.end):
            return False
        words = text[result.start : result.end].split()
        if any(w.isupper() and len(w) < 4 for w in words):
            return False  # "Dossier APL Visiter": an acronym is no name part
        if len(words) > 1:
            return True
        # One capitalised dictionary word ("Orientation", "Bilirubine") is a
        # heading or a sentence starting; one letter or an acronym ("G",
        # "APL") is no name.
        return len(words[0]) > 1 and words[0].lower() not in self._known

    def _typed_in_lower_case(self, span: str, words: int) -> bool:
        """A name or place the model read in lower-case text ("kim lee", "seoul").

        Only where no dictionary says which words are common ones (English:
        its model was trained on cased text, so a lower-case entity is one it
        is sure of); `words` or more words, letters only, no stop word.
        """
        parts = span.split()
        return (
            not self._known
            and len(parts) >= words
            and span.islower()
            and all(p.isalpha() and p not in _EDGE_WORDS for p in parts)
        )

    def _a_proper_name(self, span: str, text: str, result: RecognizerResult) -> bool:
        """A place or organisation written as a name, not a heading or an acronym."""
        words = span.split()
        if result.entity_type == "LOCATION" and self._typed_in_lower_case(span, 1):
            return True
        if not any(w[0].isupper() for w in words):
            return False
        if len(words) == 1 and words[0].isupper() and len(words[0]) <= 4:
            return False  # "SAMU", "MDPH", "CAF": institutions, no one's data
        if words[0].lower() in COMPANY_WORDS or not self._known:
            return True
        content = [w.lower().strip(".,") for w in words]
        if any(w not in self._known and w not in STOP_WORDS for w in content):
            return True
        # Dictionary words only: a heading ("HISTOIRE DE LA MALADIE", "Bilan
        # Sanguin"), unless the sentence puts a place there ("née à Tours",
        # "vit à Orange": towns named like words).
        before = text[max(0, result.start - 3) : result.start]
        return result.entity_type == "LOCATION" and bool(_AT.search(before))


_AT = regex.compile(r"(?<!\w)[àa][ \u00a0]+$")
# Where a note separates its fields ("3 rue de la Paix - contact@x.fr",
# "CONCLUSION\nJean Dupont"): the model's span runs across them as if one.
_FIELD_BREAK = regex.compile(r"\n|[ \u00a0]+[-–—|/][ \u00a0]+|[;|]|\S*@\S*|\S*://\S*")


def _fields(text: str, result: RecognizerResult) -> list[RecognizerResult]:
    """The model's span cut at field breaks and e-mail or web addresses."""
    parts, start = [], result.start
    for brk in _FIELD_BREAK.finditer(text, result.start, result.end):
        parts.append((start, brk.start()))
        start = brk.end()
    if not parts:
        return [result]
    parts.append((start, result.end))
    return [
        RecognizerResult(
            result.entity_type,
            s,
            e,
            result.score,
            result.analysis_explanation,
            dict(result.recognition_metadata or {}),
        )
        for s, e in parts
        if text[s:e].strip()
    ]


_EDGE_MARKS = ".,;:!?()[]\"'’"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[end - 1] in _EDGE_MARKS:
        end -= 1  # "Oakwood Furniture:"
    while start < end and text[start] in _EDGE_MARKS:
        start += 1
    return trim_words(text, start, end, lambda span: _bare(text, span) in _EDGE_WORDS)


def _bare(text: str, span: tuple[int, int]) -> str:
    return text[span[0] : span[1]].lower().strip(".,;:!?")
