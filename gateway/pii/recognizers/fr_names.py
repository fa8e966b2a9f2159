"""Names as French notes write them, which the news-trained NER model misses.

Notes put surnames in capitals and in either order ("JALONNET Christine",
"Docteur ROMAIN SPRITZ"), separate them with a comma ("Pedron, Ekrem"), open
with the patient's name ("krier franck, 8/07/76") and type names in lower
case after a title ("Mme krajewski patrice"). Three readings, each needing a
reason beyond the word itself:

- after a title or a role ("Mme", "Dr", "Patient :", "l'usager"): up to three
  name words;
- at the head of a text or line, before a comma, a bracket, digits, an e-mail
  or the end: up to three name words, in up to two comma-separated parts;
- a word in capitals, five letters or more, pronounceable and in no
  dictionary, or in capitals next to another name word.

A name word is a word that is not a stop word and is either capitalised or in
capitals, or in lower case and unknown to the French dictionary
(`gateway.pii.lexicon`). Spans are cut per name part (surname, first name), as
de-identification corpora annotate them; redaction is the same either way.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import regex
from presidio_analyzer import RecognizerResult
from spacy.lang.fr.stop_words import STOP_WORDS as FR_STOP_WORDS

from gateway.pii.lexicon import Dictionary
from gateway.pii.recognizers.generic import TextRecognizer, found
from gateway.pii.recognizers.names import COMPANY_WORDS, NOT_NAMES, TITLE_WORDS

# Words, letters joined by hyphens or apostrophes ("Jean-Luc", "N'Diaye"), and
# the punctuation between them, which ends or separates names.
_TOKEN = regex.compile(r"[^\s@]+@[^\s@]+|[^\W\d_]+(?:[-'’][^\W\d_]+)*|\S")
_VOWELS = frozenset("AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜ")
_CONSONANT_RUN = regex.compile(r"[^AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜ]{3,}")
# Nouns that name a person's role, in care or in a family, and the words of
# forms: a name may follow ("l'infirmière Chantal", "sa fille Marion").
_ROLES = frozenset(
    (
        "patient",
        "patiente",
        "usager",
        "usagère",
        "bénéficiaire",
        "enfant",
        "résident",
        "résidente",
        "nom",
        "prénom",
        "infirmier",
        "infirmière",
        "interne",
        "externe",
        "kiné",
        "kinésithérapeute",
        "aide-soignant",
        "aide-soignante",
        "conjoint",
        "conjointe",
        "épouse",
        "époux",
        "mari",
        "fille",
        "fils",
        "mère",
        "père",
        "frère",
        "sœur",
        "soeur",
        "tuteur",
        "tutrice",
        "curateur",
        "curatrice",
        "référent",
        "référente",
        # A maiden name: "Patiente née BERTRAND", "Mme Dupont née Martin".
        "née",
    )
)
_TITLES = frozenset(w.rstrip(".") for w in TITLE_WORDS) | {"m"}
# Typed in lower case, these are still titles; "me" or "m" would be anything.
_LOWER_TITLES = frozenset({"mme", "mlle", "madame", "monsieur", "dr", "docteur"})
_STOP = frozenset(FR_STOP_WORDS) | NOT_NAMES
_EMAIL = regex.compile(r"\S+@\S+")
_ELIDED = regex.compile(r"^(?:[dlnsjmtc]|qu)['’]")
# Scores: cued names are the surest; a head-of-text name or a lone word in
# capitals rests on shape alone, just over the threshold.
CUED, HEAD, CAPITALS = 0.7, 0.6, 0.55
# Where a group of name words is read: right after a title, right after a
# role ("la patiente Ordonnance récupérée" is no name), after the comma that
# follows a cued name, or at a text's head.
_CUED, _ROLE, _AFTER_COMMA, _HEAD = "cued", "role", "after_comma", "head"


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    start: int
    end: int

    @property
    def is_word(self) -> bool:
        return self.text[0].isalpha() and "@" not in self.text


class FrenchNameRecognizer(TextRecognizer):
    """Names after a title or a role, at a note's head, or in capitals."""

    def __init__(self, dictionary: Dictionary) -> None:
        self._known = dictionary
        super().__init__("PERSON", "FrenchNameRecognizer", "fr")

    def _is_known(self, word: str) -> bool:
        """In the dictionary, an elided article aside ("d'entrée", "L'enfant")."""
        lower = word.lower()
        if "'" in lower or "’" in lower:  # most words hold none: no regex then
            lower = _ELIDED.sub("", lower)
        return lower in self._known

    def find(self, text: str) -> list[RecognizerResult]:
        """Each name part found, one span per word group."""
        words = [_Word(m[0], m.start(), m.end()) for m in _TOKEN.finditer(text)]
        spans: dict[tuple[int, int], float] = {}
        for start, end, score in self._readings(text, words):
            if spans.get((start, end), 0.0) < score:
                spans[start, end] = score
        return [found(self, "PERSON", s, e, score) for (s, e), score in spans.items()]

    def _readings(
        self, text: str, words: list[_Word]
    ) -> Iterator[tuple[int, int, float]]:
        for index, word in enumerate(words):
            cue = self._after_cue(words, index)
            if cue is not None:
                yield from self._run(words, *cue)
            elif self._is_head(text, words, index):
                yield from self._head(text, words, index)
            if self._lone_capitals(word):
                yield word.start, word.end, CAPITALS
                # "JALONNET Christine", "Christine JALONNET": the first name
                # beside a surname in capitals, when no dictionary holds it.
                for side in (index - 1, index + 1):
                    if 0 <= side < len(words) and self._first_name(words[side]):
                        yield words[side].start, words[side].end, CAPITALS

    @staticmethod
    def _after_cue(words: list[_Word], index: int) -> tuple[int, str] | None:
        """Where a name would start after a title or a role, and which cue."""
        word = words[index].text
        # "l'enfant", "l'usager": the role is the word after the elision.
        lower = word.lower().replace("’", "'").rpartition("'")[2]
        title = lower in _TITLES and (word[0].isupper() or lower in _LOWER_TITLES)
        if not (title or lower in _ROLES):
            return None
        nxt = index + 1
        # "M. Dupont", "Dr. Moya", "Patient : CAVARLE": the mark is the cue's.
        if nxt < len(words) and words[nxt].text in {".", ":"}:
            nxt += 1
        return nxt, _CUED if title else _ROLE

    def _is_head(self, text: str, words: list[_Word], index: int) -> bool:
        if not words[index].is_word:
            return False
        position = words[index].start - 1  # no slicing: notes can be long
        while position >= 0 and text[position] in " \t":
            position -= 1
        return position < 0 or text[position] == "\n"

    def _head(
        self, text: str, words: list[_Word], index: int
    ) -> Iterator[tuple[int, int, float]]:
        """A note's opening name: "Dupont Jean , 78 ans", "Pedron, Ekrem, 8/07/76".

        A comma after a one-word first part must lead to digits, an e-mail or
        a second name part: "Bjr, Le code postal..." opens a message.
        """
        first = self._head_part(words, index)
        if not first:
            return
        after = index + len(first)
        if len(first) == 1 and after < len(words) and words[after].text == ":":
            return  # "CONCLUSION :", "Secrétariat :": a field's label
        parts = [first]
        if after < len(words) and words[after].text == ",":
            nxt = after + 1
            if not self._closes_a_header(text, words, nxt):
                second = self._head_part(words, nxt)
                after = nxt + len(second)
                if second and self._closes_a_header(text, words, after):
                    parts.append(second)
                elif len(first) < 2:
                    # One word then a comma is as often a greeting ("Bjr,");
                    # two ("DUPONT Jean, hospitalisé...") read as a name.
                    return
        elif not self._closes_a_header(text, words, after, first):
            return
        for part in parts:
            for word in part:
                yield word.start, word.end, HEAD

    def _head_part(self, words: list[_Word], index: int) -> list[_Word]:
        group = self._group(words, index, mode=_HEAD)
        return group if group and self._head_group_is_a_name(group) else []

    def _head_group_is_a_name(self, group: list[_Word]) -> bool:
        """Capitalised words, or words the dictionary lacks; not plain prose.

        "trop decu," and "Bilan sanguin," open prose; "DDN" is an acronym;
        "Entreprise Atelier Lumière" names a business.
        """
        if group[0].text.lower() in COMPANY_WORDS:
            return False
        unknown = [w for w in group if not self._is_known(w.text)]
        if len(group) == 1:
            word = group[0].text
            return (bool(unknown) or word.isupper()) and not (
                word.isupper() and len(word) < 4
            )
        lower_known = [w for w in group if w.text.islower() and self._is_known(w.text)]
        capital_unknown = [w for w in unknown if not w.text.islower()]
        if lower_known:
            return bool(capital_unknown)
        return True

    def _closes_a_header(
        self,
        text: str,
        words: list[_Word],
        index: int,
        group: list[_Word] | None = None,
    ) -> bool:
        """Whether a head name may end here: end, digits, bracket, colon, e-mail.

        A comma closes it only when one of those follows the comma.
        """
        if index >= len(words):
            return True
        nxt = words[index]
        # "DUPONT Jean : consultation", "Pedron (26)", "krier franck 8/07/76".
        if nxt.text in {"(", ";", ":"} or nxt.text[0].isdigit():
            return True
        if _EMAIL.match(text, nxt.start):
            return True
        if nxt.text == ",":
            return group is None and self._closes_a_header(text, words, index + 1)
        if group is None:
            return False
        # "mavoungou bouanga cecile Admission en...": lower-case words no
        # dictionary holds, then a capital where the note goes on.
        if (
            nxt.text[0].isupper()
            and all(w.text.islower() for w in group)
            and all(not self._is_known(w.text) for w in group)
        ):
            return True
        # "MARTIN Pierre-Yves né le...": a surname in capitals and another
        # name word, then the sentence in lower case.
        return (
            len(group) > 1
            and nxt.text.islower()
            and all(w.text[0].isupper() for w in group)
            and any(w.text.isupper() and len(w.text) > 1 for w in group)
            and any(not self._is_known(w.text) for w in group)
        )

    def _run(
        self, words: list[_Word], index: int, mode: str
    ) -> Iterator[tuple[int, int, float]]:
        group = self._group(words, index, mode=mode)
        for word in group:
            yield word.start, word.end, CUED
        after = index + len(group)
        # "Patient : CAVARLE, ANDRE": the first name after the comma.
        if group and after + 1 < len(words) and words[after].text == ",":
            for word in self._group(words, after + 1, mode=_AFTER_COMMA)[:2]:
                yield word.start, word.end, CUED

    def _group(self, words: list[_Word], index: int, *, mode: str) -> list[_Word]:
        """Up to three name words from `index`, stopping at anything else."""
        group: list[_Word] = []
        while index < len(words) and len(group) < 3:
            word = words[index]
            if not word.is_word or word.text.lower() in _STOP:
                break
            if not self._name_word(words, index, group=group, mode=mode):
                break
            group.append(word)
            index += 1
        return group

    def _name_word(
        self, words: list[_Word], index: int, *, group: list[_Word], mode: str
    ) -> bool:
        word = words[index].text
        first = not group
        if len(word) < 2:
            return False
        if mode == _HEAD:
            # "MARTIN Pierre-Yves né le...": after a surname in capitals, the
            # note goes on in lower case. Otherwise the whole group is judged
            # by _head_group_is_a_name ("Yvonne gille" is a name).
            return not (
                word.islower()
                and self._is_known(word)
                and any(w.text.isupper() and len(w.text) > 1 for w in group)
            )
        known = self._is_known(word)
        if word.isupper():
            return not (known and len(word) < 4)
        if word[0].isupper():
            # After a title anything capitalised is the name ("Mme Modeste");
            # elsewhere a dictionary word capitalised opens a sentence, unless
            # a surname in capitals follows ("Usager Troupe RAMON").
            return (
                (mode == _CUED and first)
                or not known
                or self._before_a_break(words, index)
                or self._before_capitals(words, index)
            )
        if mode == _AFTER_COMMA:
            # "meric, lorene ,": a first name in lower case closes its part;
            # "Bertinet, admise à" goes on as a sentence.
            return self._before_a_break(words, index)
        if not known:
            return True
        # "Mme krajewski patrice ,": a known word closing a cued name.
        return not first and self._before_a_break(words, index)

    def _before_capitals(self, words: list[_Word], index: int) -> bool:
        if index + 1 >= len(words):
            return False
        nxt = words[index + 1].text
        return len(nxt) > 2 and nxt.isupper() and not self._is_known(nxt)

    @staticmethod
    def _before_a_break(words: list[_Word], index: int) -> bool:
        return index + 1 >= len(words) or words[index + 1].text in {",", ";", "("}

    def _first_name(self, word: _Word) -> bool:
        text = word.text
        return (
            word.is_word
            and text[0].isupper()
            and not text.isupper()
            and not self._is_known(text)
            and text.lower() not in _STOP
        )

    def _lone_capitals(self, word: _Word) -> bool:
        text = word.text
        if (
            not word.is_word
            or len(text) < 5
            or not text.isupper()
            or self._is_known(text)
        ):
            return False
        if not _VOWELS.intersection(text) or _CONSONANT_RUN.search(text):
            return False
        return text.lower() not in _STOP
