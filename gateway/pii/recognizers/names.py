"""Names found from the words written right before them, and NER names cleaned.

English has no NER here (no English spaCy pipeline installs from the package
registry), and French NER misses names it has never seen the like of. Both
languages put cues before names: "je m'appelle", "Mme", "my name is", "Dear".
A capitalised word or two after a cue is taken as a name; the cue is not part
of the span.
"""

import regex
from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from gateway.pii.recognizers.generic import found

# One name word: a capital, then letters (digits allowed: pseudonymous test
# names), possibly hyphenated or with an apostrophe (O'Neil, Jean-Luc); or all
# capitals (DUPONT), as surnames are often written.
_WORD = (
    r"(?:[A-ZÀ-Ý][\p{Ll}\d]+(?:[-'’][A-ZÀ-Ý]?[\p{Ll}\d]+)*"
    r"|[A-ZÀ-Ý]{2,}(?:-[A-ZÀ-Ý]{2,})?)"
)
_NAME = rf"(?P<name>{_WORD}(?:[ \u00a0]+(?:[A-Z]\.[ \u00a0]*)?{_WORD}){{0,2}})(?![\w])"

CUES = {
    "fr": (
        r"je m['’]appelle|je suis|je me nomme|mon nom est|nom\s?:|prénom\s?:|"
        r"signé|cordialement,?|client\s?:|cliente\s?:|de la part de|"
        r"au nom de|parlé à|parle à|parlé avec|conseiller|conseillère|"
        r"interlocuteur|interlocutrice|contact\s?:|bonjour|merci"
    ),
    "en": (
        r"my name is|my name's|i am|i'm|this is|name:|name is|full name:?|"
        r"signed|regards,|thanks,|thank you,|sincerely,|cheers,|"
        r"customer:?|contact:?|attn:?|from:|agent:?|speak(?:ing)? (?:to|with)|"
        r"spoke (?:to|with)|ask for|called|named|hi|hello"
    ),
}
TITLES = {
    "fr": r"M\.|MM\.|Mme|Mmes|Mlle|Melle|Monsieur|Madame|Mademoiselle|Me|Maître|"
    r"Dr|Docteur|Pr|Professeur",
    "en": r"Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Dear",
}
# Capitalised words that follow a cue without being a name.
NOT_NAMES = frozenset(
    (
        *("The", "A", "An", "I", "It", "This", "That", "Customer", "Service"),
        *("Support", "Team", "Sales", "Order", "Your", "Our", "Very", "So", "Not"),
        *("Just", "Happy", "Sorry", "Calling", "Writing", "Here", "Still", "Now"),
        *("Please", "Thanks", "Thank", "Regarding", "About", "Monday", "Tuesday"),
        *("Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Account"),
        *("Manager", "Madam", "Sir", "All", "Everyone", "Je", "Le", "La", "Les"),
        *("Un", "Une", "Mon", "Ma", "Mes", "Votre", "Vos", "Notre", "Nous", "Vous"),
        *("Service", "Client", "Clients", "Madame", "Monsieur", "Mademoiselle"),
        *("Bonjour", "Merci", "Cordialement", "Bonsoir", "Salut", "Hello", "Hi"),
        *("Dear", "Et", "Ou", "Mais", "Donc", "Car", "Ce", "Cette", "Il", "Elle"),
        *("On", "Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi"),
        *("Dimanche", "Commande", "Livraison", "SAV", "Rappel", "Pour", "Par"),
        *("Appelez", "Rappelez", "Contactez", "Envoyez", "Voir", "Call", "Contact"),
    )
)


class CuedPersonRecognizer(LocalRecognizer):
    """Capitalised names after a cue ("my name is", "Mme", "Dear"...)."""

    def __init__(self, supported_language: str) -> None:
        cues, titles = CUES[supported_language], TITLES[supported_language]
        self._pattern = regex.compile(
            rf"(?:(?i:\b(?:{cues}))[ \u00a0,:]+(?:(?:{titles})\.?[ \u00a0]+)*"
            rf"|\b(?:(?:{titles})\.?[ \u00a0]+)+){_NAME}"
        )
        super().__init__(
            supported_entities=["PERSON"],
            name=f"CuedPersonRecognizer_{supported_language}",
            supported_language=supported_language,
        )

    def load(self) -> None:
        """Nothing to load: the pattern is compiled at construction."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        """Names right after a cue; the cue is left out of the span."""
        del entities, nlp_artifacts
        results = []
        for match in self._pattern.finditer(text):
            start, end = trim_name(text, match.start("name"), match.end("name"))
            if start < end:
                results.append(found(self, "PERSON", start, end, 0.7))
        return results


def trim_name(text: str, start: int, end: int) -> tuple[int, int]:
    """A name span without the leading and trailing words that are not names.

    Returns:
        The new offsets; equal when nothing is left.
    """
    words = [
        (m.start() + start, m.end() + start)
        for m in regex.finditer(r"\S+", text[start:end])
    ]
    while words and text[words[0][0] : words[0][1]].strip(".,") in NOT_NAMES:
        words.pop(0)
    while words and text[words[-1][0] : words[-1][1]].strip(".,") in NOT_NAMES:
        words.pop()
    if not words:
        return start, start
    return words[0][0], words[-1][1]


class CleanSpacyRecognizer(SpacyRecognizer):
    """spaCy's PERSON entities without the title or greeting NER glued on.

    The small French pipeline reads "Madame Durand" or "Bonjour Marie" as one
    name; the span we store must cover the name only.
    """

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        """SpaCy's results, each trimmed to its name words (or dropped)."""
        kept = []
        for result in super().analyze(text, entities, nlp_artifacts):
            result.start, result.end = trim_name(text, result.start, result.end)
            if result.start < result.end:
                kept.append(result)
        return kept
