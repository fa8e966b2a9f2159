"""Care places and other organisations French notes name, beyond the NER model.

Three readings, all from the grammar of the sentence rather than from a list
of names: an organisation's head noun followed by its name ("Clinique
Pervenche", "Hôpital centre cardiologique du nord", "CHU de Rouen"), a
company after the word that introduces it ("la société Garage de la Gare",
"mon employeur Optique Vision Nord"), and the place a person is sent to
("admise à l'bct", "orienté vers l'Necker", "transféré au Centre Léon
Bérard"), whose name need not be in any dictionary.
"""

import regex
from presidio_analyzer import RecognizerResult

from gateway.pii.lexicon import Dictionary
from gateway.pii.recognizers.generic import TextRecognizer, found
from gateway.pii.recognizers.names import TITLE_WORDS

_HEADS = (
    r"hôpital|hopital|clinique|polyclinique|centre\s+hospitalier|CHU|CHR|CHRU"
    r"|groupe\s+hospitalier|institut|maternité|ehpad|résidence|fondation"
    r"|école|ecole|collège|college|lycée|lycee|université|universite|mairie"
    r"|pharmacie|cabinet|laboratoire|banque|agence|magasin|boutique|restaurant"
    r"|hôtel|hotel|hospices|hôpitaux|hopitaux"
)
# Words that introduce a name without being part of it ("la société Garage de
# la Gare", "mon employeur Optique Vision Nord"): the name is the span, its
# words may be dictionary words, and a legal form closes it.
_INTRODUCERS = r"entreprise|société|societe|association|employeur|enseigne"
_LEGAL_FORM = (
    r"(?:[ \u00a0]+(?:S\.A\.S\.U?|S\.A\.R\.L\.|S\.A\.|E\.U\.R\.L\.|SAS|SASU"
    r"|SARL|EURL|SA|SCI|SCOP|et[ \u00a0]+(?:fils|associés)"
    r"|&[ \u00a0]+(?:Fils|Cie|Associés)))"
)
# A branch of a business named by its town ("votre agence de Colmar"): the
# town is the personal data, read as a place (`fr_places`).
_BRANCHES = frozenset({"agence", "magasin", "boutique", "banque"})
_LINK = r"(?:(?:[ \u00a0]+(?:(?:de|du|des|la|le|les)\b|[dl]['’])){1,2}[ \u00a0]*)"
# A name word: capitalised, in capitals, or an initial ("A.CHENEVIER").
_NAME_WORD = r"(?:(?:[A-ZÀ-Ý]\.)?[A-ZÀ-Ý][\w'’\-]*)"
_LOWER_WORD = r"(?:[a-zà-ÿ][a-zà-ÿ'’\-]{2,})"
# Head noun, then a name in capitals or capitalised, or up to four lower-case
# words ("centre cardiologique du nord") before punctuation.
_SEP = rf"(?:{_LINK}|[ \u00a0]+)"
_BY_HEAD = regex.compile(
    rf"(?P<head>(?i:\b(?:{_HEADS}))){_SEP}"
    rf"(?P<name>{_NAME_WORD}(?:{_SEP}{_NAME_WORD}){{0,3}}"
    rf"|{_LOWER_WORD}(?:{_SEP}{_LOWER_WORD}){{0,3}}(?=[ \u00a0]*[,.;:]))"
)
_INTRODUCED = regex.compile(
    rf"(?i:\b(?:{_INTRODUCERS}))[ \u00a0]*:?[ \u00a0]+"
    rf"(?P<name>{_NAME_WORD}(?:{_SEP}{_NAME_WORD}){{0,3}}{_LEGAL_FORM}?)"
    r"(?!\.?[\w'’-])"  # "S.A" is not the whole of "S.A.R.L."
)
_WORD_SPAN = regex.compile(r"\S+")
SURE = 0.9  # the grammar names an organisation: over NER's 0.85 for the words
_LINK_WORDS = frozenset({"de", "du", "des", "la", "le", "les"})
_ELIDED_LINK = regex.compile(r"[dl]['’]", regex.IGNORECASE)
# What may follow a name that closes its clause: a mark, a bracket, the end.
_CLOSES_A_NAME = regex.compile(r"[ \u00a0]*(?:[,.;:()\[\]]|$)")
_SENT = (
    r"admise?s?|orientée?s?|transférée?s?|hospitalisée?s?|adressée?s?|suivie?s?"
    r"|soignée?s?|opérée?s?"
)
# The place after a verb of care ("admise à l'bct", "orienté vers l'Necker")
# or after a hospital's department ("Service de cardiologie de l'PAUL BROUSSE").
_UNIT = r"service|unité|unite|pôle|pole|département|departement"
_SENT_TO = regex.compile(
    rf"(?i:(?:\b(?:{_SENT})[ \u00a0]+(?:à|a|au|aux|vers|dans|par)\b"
    rf"|\b(?:{_UNIT})[ \u00a0]+(?:(?:de|des)\b|d['’])[ \u00a0]*[\p{{Ll}}\-]+[ \u00a0]+"
    r"(?:(?:de|du|des)\b|d['’]))[ \u00a0]*"
    r"(?:l['’]|la[ \u00a0]+|le[ \u00a0]+)?)"
    rf"(?P<name>{_NAME_WORD}(?:[ \u00a0]+{_NAME_WORD}){{0,3}}"
    r"|[a-zà-ÿ]{2,}(?![\w'’]))"
)


class FrenchOrganizationRecognizer(TextRecognizer):
    """Organisations by head noun or introducing word; where a person is sent."""

    def __init__(self, dictionary: Dictionary) -> None:
        self._known = dictionary
        super().__init__("ORGANIZATION", "FrenchOrganizationRecognizer", "fr")

    def find(self, text: str) -> list[RecognizerResult]:
        """Every reading; a lower-case place must be unknown to the dictionary."""
        results = []
        for match in _INTRODUCED.finditer(text):
            start, end = match.span("name")
            results.append(found(self, "ORGANIZATION", start, end, SURE))
        for match in _BY_HEAD.finditer(text):
            if self._a_branch(match):
                continue
            end = self._name_end(match)
            if end is not None:
                # "hôpital Bichat": its head noun says what it is, surer than
                # NER calling the same words a place.
                results.append(found(self, "ORGANIZATION", match.start(), end, SURE))
        for match in _SENT_TO.finditer(text):
            name = match["name"]
            if name.islower() and name in self._known:
                continue  # "admis aux urgences", "orientée vers domicile"
            if name.split()[0].lower().rstrip(".") in TITLE_WORDS:
                continue  # "suivi par le Dr DUDT": a person, found as one
            if name.isupper() and len(name) < 5 and " " not in name:
                continue  # "adressé par le SAMU": an institution, no one's data
            # "l'PAUL BROUSSE Saturation en O2": the name ends before the sentence.
            end = self._before_the_sentence(match)
            # The sentence says it is a place: surer than NER reading "Léopold
            # Bellan" as a person.
            results.append(found(self, "ORGANIZATION", match.start("name"), end, SURE))
        return results

    @staticmethod
    def _a_branch(match: regex.Match[str]) -> bool:
        """A business's branch by its town: "agence de Colmar", "magasin d'AMIENS"."""
        if match["head"].lower() not in _BRANCHES:
            return False
        between = match.string[match.end("head") : match.start("name")]
        return between.strip().lower() in {"de", "d'", "d’"}

    def _name_end(self, match: regex.Match[str]) -> int | None:
        """Where the organisation's name ends, or None when it names none.

        After a capitalised head ("Clinique Pervenche") the first word is the
        name; capitalised dictionary words after it start the next sentence
        ("... Pervenche Saturation en O2"). After a head in lower case ("à la
        pharmacie Besoin d'un suivi"), the name must be no dictionary word,
        or close a clause ("de l'hôpital Tenon (Paris)", "... Cochin.").
        """
        name = match["name"]
        if name.islower():
            return match.end()
        if (
            match["head"].islower()
            and all(self._sentence_word(word) for word in name.split())
            and not _CLOSES_A_NAME.match(match.string, match.end())
        ):
            return None  # "l'hôpital Tenon (Paris)" is one; see the docstring
        return self._before_the_sentence(match)

    def _before_the_sentence(self, match: regex.Match[str]) -> int:
        """The name's end, without the capitalised dictionary words after it.

        A word after a link word is the name's ("collège Jean Moulin de
        Rennes"), whatever the dictionary says.
        """
        words = list(_WORD_SPAN.finditer(match["name"]))
        while (
            len(words) > 1
            and self._sentence_word(words[-1][0])
            and words[-2][0].lower() not in _LINK_WORDS
            and not _ELIDED_LINK.match(words[-1][0])
        ):
            words.pop()
        return match.start("name") + words[-1].end()

    def _sentence_word(self, word: str) -> bool:
        return not word.isupper() and word.lower() in self._known
