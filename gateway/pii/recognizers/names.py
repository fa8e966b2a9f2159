"""Names found from the words written right before them, and name-word helpers.

NER misses names it has never seen the like of, and a language without a
pipeline has no NER at all. Both languages put cues before names: "je
m'appelle", "Mme", "my name is", "Dear".
A capitalised word or two after a cue is taken as a name; the cue is not part
of the span.
"""

from collections.abc import Callable, Container

import regex
from presidio_analyzer import RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP_WORDS
from spacy.lang.fr.stop_words import STOP_WORDS as FR_STOP_WORDS

from gateway.pii.recognizers.generic import TextRecognizer, found
from gateway.pii.spans import NAME_PARTICLES

# One name word: a capital, then letters (digits allowed: pseudonymous test
# names), possibly hyphenated or with an apostrophe (O'Neil, Jean-Luc); or all
# capitals (DUPONT), as surnames are often written.
_WORD = (
    r"(?:[A-ZÀ-Ý][\p{Ll}\d]+(?:[A-Z][\p{Ll}]+)?(?:[-'’][A-ZÀ-Ý]?[\p{Ll}\d]+)*"
    r"|[A-ZÀ-Ý]{2,}(?:-[A-ZÀ-Ý]{2,})?"
    r"|[A-Z]['’][A-ZÀ-Ý][\p{Ll}]+)"  # O'Connor, N'Diaye
)
# An initial ("A. MARTIN", "J-P. Durand", "Jean P. Durand") and a particle in
# capitals ("Jean-Pierre DE LA FONTAINE") belong to the name around them.
_INITIAL = r"(?:[A-ZÀ-Ý](?:\.?-[A-ZÀ-Ý])?\.[ \u00a0]*)"
_PARTICLE = r"(?:(?:DE|DU|DES|LA|LE|VAN|VON)[ \u00a0]+|D['’])"
_NAME = (
    rf"(?P<name>{_INITIAL}?{_WORD}"
    rf"(?:[ \u00a0]+{_INITIAL}?{_PARTICLE}*{_WORD}){{0,2}})(?![\w])"
)

CUES = {
    "fr": (
        r"je m['’]appelle|je suis|je me nomme|mon nom est|nom\s?:|prénom\s?:|"
        r"signé|cordialement,?|client\s?:|cliente\s?:|de la part de|"
        r"au nom de|parlé à|parle à|parlé avec|conseiller|conseillère|"
        r"interlocuteur|interlocutrice|contact\s?:|bonjour|merci|c['’]est|"
        r"c moi|moi c['’]est|à l['’]attention de|a l['’]attention de"
    ),
    "en": (
        r"my name is|my name's|i am|i'm|this is|name:|name is|full name:?|"
        r"signed|regards,|thanks,|thank you,|sincerely,|cheers,|"
        r"customer:|contact:|attn:?|from:|agent:|speak(?:ing)? (?:to|with)|"
        r"spoke (?:to|with)|ask for|called|named|hi|hello|it['’]s|its|"
        r"made out to|addressed to|account of|cardholder name|on behalf of"
    ),
}
# Titles still read as titles in lower case ("me" would be the pronoun).
INFORMAL_TITLES = r"mme|mlle|melle|m\.|monsieur|madame|mr|mrs|ms|dr"
TITLES = {
    "fr": r"M\.|MM\.|Mme|Mmes|Mlle|Melle|Monsieur|Madame|Mademoiselle|Me|Maître|"
    r"Dr|Docteur|Pr|Professeur",
    "en": r"Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Dear",
}
# Words, lower-cased, that NER or a cue glue to names without being part of
# one: titles, greetings and sign-offs, imperatives that open a request, the
# words of forms; then the words that open a company's name.
_TITLES_TEXT = """
m. mm. mme mmes mlle melle monsieur madame mademoiselle me maître dr docteur pr
professeur mr mrs ms miss mx prof sir madam dear
"""
_NOT_NAMES_TEXT = """
a about account alerte all an appeler appelez bien bjr bon bonjour bonne bonsoir
bsr slt
call calling car cdlt cdt ce cette client cliente clients code commande contact
contactez cordialement customer dimanche donc elle envoyez et everyone friday
happy hello here hi ht i iban il it je jeudi journée just la le les livraison
lundi ma mais manager mardi merci mercredi mes mon monday mot my nir not notre
nous now numero numéro n° objet on order ou our par passe please pour pouvez
quel quelle rappel rappelez ref regarding rib réf sales salut salutations
samedi saturday sav service sincères siren siret so soirée sorry still sunday
support team thank thanks that the this thursday ticket ttc tuesday tva un une
urgent vendredi very voici voilà voir vos votre vous vérifiez wednesday week-end writing
your
adresse courriel e-mail email fax mail mobile portable tel tél téléphone telephone
"""
_COMPANY_TEXT = """
agence association boulangerie cabinet entreprise etablissement eurl garage
hotel hôtel imprimerie menuiserie pharmacie restaurant sa sarl sas sci services
societe société établissement
"""
TITLE_WORDS = frozenset(_TITLES_TEXT.split())
NOT_NAMES = TITLE_WORDS | frozenset(_NOT_NAMES_TEXT.split())
# A span that opens with one of these names a business, not a person.
COMPANY_WORDS = frozenset(_COMPANY_TEXT.split())
STOP_WORDS = frozenset(FR_STOP_WORDS | EN_STOP_WORDS)


class CuedPersonRecognizer(TextRecognizer):
    """Capitalised names after a cue ("my name is", "Mme", "Dear"...)."""

    def __init__(
        self, supported_language: str, dictionary: Container[str] = frozenset()
    ) -> None:
        # Capitalised dictionary words after a name start the next sentence
        # ("Dr MADLEEN BEDENES Quotient familial"): trimmed where known.
        self._known = dictionary
        cues, titles = CUES[supported_language], TITLES[supported_language]
        self._pattern = regex.compile(
            rf"(?:(?i:\b(?:{cues}))[ \u00a0,:]+(?:(?:{titles})\.?[ \u00a0]+)*"
            rf"|\b(?P<title>(?:{titles})\.?[ \u00a0]+)+){_NAME}"
        )
        # Where no word says "name", layout does: a name opening a list after a
        # colon ("Bank details: Sylvia Lloyd, IBAN ..."), or signing off at
        # the very end of a message ("... all day. Damian Hawkins").
        self._layout = regex.compile(
            rf":[ \u00a0]+(?P<name>{_WORD}(?:[ \u00a0]+{_WORD}){{1,2}})(?=[ \u00a0]*,)"
            rf"|(?:[.!?][ \u00a0]+|\n)(?P<name>{_WORD}(?:[ \u00a0]+{_WORD}){{1,2}})\s*$"
        )
        # Typed in a hurry: "mme gomes a appelé". One lower-case word only,
        # after a title only: a cue alone is too weak for lower case.
        self._informal = regex.compile(
            rf"(?i:\b(?:{INFORMAL_TITLES})\.?)[ \u00a0]+"
            r"(?P<name>(?-i:[a-zà-ÿ][a-zà-ÿ'’-]+))\b"
        )
        super().__init__(
            "PERSON", f"CuedPersonRecognizer_{supported_language}", supported_language
        )

    def find(self, text: str) -> list[RecognizerResult]:
        """Names after a cue or placed like one; the cue is left out of the span."""
        results = []
        for match in self._pattern.finditer(text):
            start, end = trim_name(text, match.start("name"), match.end("name"))
            end = self._without_sentence_words(text, start, end)
            if (
                start < end
                and self._known_word_alone(text[start:end])
                and not (match["title"] and text[start:end].isupper())
            ):
                # "Bonjour, Adresse de livraison": a word, not a name; after a
                # title, a surname in capitals ("Dr MARTIN") is one.
                continue
            if start < end and _not_a_code_or_company(text[start:end]):
                results.append(found(self, "PERSON", start, end, 0.7))
        for match in self._layout.finditer(text):
            start, end = trim_name(text, match.start("name"), match.end("name"))
            name = text[start:end]
            # Layout alone is weak evidence: where a dictionary is at hand, one
            # word at least must be no common word ("Électricité Services Plus").
            common = self._known and all(w.lower() in self._known for w in name.split())
            if " " in name and not common and _not_a_code_or_company(name):
                results.append(found(self, "PERSON", start, end, 0.6))
        for match in self._informal.finditer(text):
            word = match["name"]
            if word not in NOT_NAMES and word not in STOP_WORDS:
                results.append(found(self, "PERSON", *match.span("name"), 0.6))
        return results

    def _known_word_alone(self, name: str) -> bool:
        # "Hi, For verification...": a stop word is never a name alone.
        alone = " " not in name
        return alone and (name.lower() in STOP_WORDS or name.lower() in self._known)

    def _without_sentence_words(self, text: str, start: int, end: int) -> int:
        words = [m.span() for m in _NON_SPACE.finditer(text, start, end)]
        # Only where the case changes: "BEDENES Quotient", not "Marie Dupont".
        while len(words) > 1 and text[slice(*words[-2])].isupper():
            word = text[slice(*words[-1])]
            if word.isupper() or word.lower() not in self._known:
                break
            words.pop()
        return words[-1][1] if words else end


_NON_SPACE = regex.compile(r"\S+")


def trim_name(text: str, start: int, end: int) -> tuple[int, int]:
    """A name span without the leading and trailing words that are not names.

    Returns:
        The new offsets; equal when nothing is left.
    """
    return trim_words(text, start, end, lambda span: _word(text, span) in NOT_NAMES)


def trim_words(
    text: str, start: int, end: int, drop: Callable[[tuple[int, int]], bool]
) -> tuple[int, int]:
    """A span without the leading and trailing words (offsets) that `drop` says.

    Returns:
        The new offsets; equal when nothing is left.
    """
    words = [m.span() for m in _NON_SPACE.finditer(text, start, end)]
    while words and drop(words[0]):
        words.pop(0)
    while words and drop(words[-1]):
        words.pop()
    if not words:
        return start, start
    return words[0][0], words[-1][1]


def _not_a_code_or_company(name: str) -> bool:
    """Not a reference ("W501898133") nor a business ("Cabinet Horizon")."""
    words = name.split()
    if words[0].lower() in COMPANY_WORDS:
        return False
    return all(sum(c.isdigit() for c in w) * 2 < len(w) for w in words)


def _word(text: str, span: tuple[int, int]) -> str:
    word = text[span[0] : span[1]].lower()
    stripped = word.strip(".,;:!?")
    # "A." is an initial, not the article "a"; "Mme." a title either way.
    return word if word in TITLE_WORDS or len(stripped) == 1 else stripped


_CAPITALISED = regex.compile(r"\b[A-ZÀ-Ý]")


def might_hold_a_name(text: str) -> bool:
    """Whether NER could find a name here that `looks_like_a_name` would keep.

    That needs a capitalised word somewhere other than at the start of a
    sentence; texts without one skip NER (the cue recognizers still run).
    """
    for match in _CAPITALISED.finditer(text):
        position = match.start() - 1
        while position >= 0 and text[position] in " \t":
            position -= 1
        if position >= 0 and text[position] not in ".!?:;\n":
            return True
    return False


def looks_like_a_name(text: str, start: int, end: int) -> bool:
    """Whether a span NER called a person is written like a person's name.

    Every word capitalised (particles aside), no digit, not a company, and
    not one capitalised word alone at the start of a sentence, where French
    capitalises any verb ("Pouvez", "Vérifiez").
    """
    words = text[start:end].split()
    if not words or any(c.isdigit() for c in text[start:end]):
        return False
    if words[0].lower() in COMPANY_WORDS:
        return False
    if any(not w[0].isupper() for w in words if w.lower() not in NAME_PARTICLES):
        return False
    before = text[:start].rstrip(" \t")
    # "Mr. O'Connor": a title's full stop ends no sentence.
    last = before.split()[-1].lower() if before else ""
    after_a_title = last in TITLE_WORDS or last.rstrip(".") in TITLE_WORDS
    sentence_start = not before or (before[-1] in ".!?:;\n" and not after_a_title)
    return not (len(words) == 1 and sentence_start)
