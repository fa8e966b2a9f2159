"""Towns French notes name by the grammar around them, beyond the NER model.

The news-trained model misses a town written in capitals ("Né à LYON"), one
named like a common word ("originaire de Lille" aside, "habite Tours"), and
the town that dates a letter ("Nantes, le 12/03/2020"). Four readings, from the
sentence rather than from a gazetteer:

- after a verb of birth or residence and its preposition ("né à", "domiciliée
  à", "originaire de", "habite"): one to four capitalised or upper-case words;
- after a form's label ("Ville :"), a registry or a branch ("RCS de",
  "agence de"), or a postal code ("29100 Quimper");
- at the head of a line, right before ", le" and a date: the letter's town.
"""

import regex
from presidio_analyzer import RecognizerResult

from gateway.pii.lexicon import Dictionary
from gateway.pii.recognizers.generic import TextRecognizer, found

_LIVES = (
    r"née?s?|domiciliée?s?|résid(?:e|ait|ant|ente?)|vit|vivait|vivant"
    r"|demeur(?:e|ant)|originaire|installée?s?|déménagée?s?"
    r"|travaille|travaillait"
)
# "habite Montreuil": the one verb whose town may come without a preposition
# ("née BERTRAND" is a maiden name).
_DWELLS = r"habite|habitait|habitant"
# "scolarisé à PARIS", but "scolarisé en SEGPA" names a class.
_SCHOOLED = r"scolarisée?s?[ \u00a0]+(?:à|a)"
_TO = r"(?:à|a|au|aux|en|de|du|d['’]|sur)"
# A town's word: capitalised or in capitals, hyphenated parts and the small
# words of town names in between ("Boulogne-sur-Mer", "Saint-Étienne").
_TOWN_WORD = r"(?:[A-ZÀ-Ý][\p{L}'’]*(?:-(?:[\p{Ll}']+-)*[A-ZÀ-Ý][\p{L}'’]*)*)"
# "Paris 20e", "Lyon 3ème": the arrondissement is part of the place.
_DISTRICT = r"(?:[ \u00a0][0-9]{1,2}(?:e|er|ème|eme)\b)"
_TOWN = rf"(?P<town>{_TOWN_WORD}(?:[ \u00a0]{_TOWN_WORD}){{0,3}}{_DISTRICT}?)"
_AFTER_A_VERB = regex.compile(
    rf"(?i:\b(?:(?:{_LIVES})[ \u00a0]+{_TO}|(?:{_DWELLS})(?:[ \u00a0]+{_TO})?"
    rf"|{_SCHOOLED})\b)"
    rf"[ \u00a0]*(?<=[\s'’]){_TOWN}"
    r"(?![\w'’-])"
)
# A form's field ("Ville : Nantes", "Lieu de naissance : ORLÉANS"), the town a
# company is registered or a branch stands in ("RCS de Tours", "agence de
# Colmar", "établissement de CHERBOURG").
_LABELLED = regex.compile(
    r"(?i:\b(?:(?:ville|commune|localité|localisation"
    r"|lieu[ \u00a0]+de[ \u00a0]+naissance)[ \u00a0]*:"
    r"|(?:RCS|agence|magasin|boutique|succursale|établissement|etablissement)"
    rf"[ \u00a0]+(?:de[ \u00a0]+|d['’])))[ \u00a0]*{_TOWN}(?![\w'’-])"
)
# The town after a postal code ("29100, Quimper", "13000 AIX-EN-PROVENCE").
_AFTER_A_POSTAL_CODE = regex.compile(
    r"(?<![0-9])(?:0[1-9]|[1-8][0-9]|9[0-5]|97[1-6])[0-9]{3}(?![0-9]),?[ \u00a0]+"
    rf"{_TOWN}(?![\w'’-])"
)
_WEEKDAYS = r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
_DATING_A_LETTER = regex.compile(
    rf"(?m)^[ \t]*{_TOWN},[ \u00a0]+le[ \u00a0]+(?:[0-9]|1er\b|(?i:{_WEEKDAYS})\b)"
)
_READINGS = (_AFTER_A_VERB, _LABELLED, _AFTER_A_POSTAL_CODE, _DATING_A_LETTER)
_WORD_SPAN = regex.compile(r"\S+")
SCORE = 0.85  # the sentence says it is a place: as sure as NER's own


class FrenchPlaceRecognizer(TextRecognizer):
    """Towns after a verb, a label or a postal code, or dating a letter."""

    def __init__(self, dictionary: Dictionary) -> None:
        self._known = dictionary
        super().__init__("LOCATION", "FrenchPlaceRecognizer", "fr")

    def find(self, text: str) -> list[RecognizerResult]:
        """Every reading, each town without the sentence that follows it."""
        results = []
        for pattern in _READINGS:
            for match in pattern.finditer(text):
                if match["town"].isupper() and len(match["town"]) < 3:
                    continue  # "scolarisé en CP": a school year
                end = self._town_end(match)
                results.append(found(self, "LOCATION", match.start("town"), end, SCORE))
        return results

    def _town_end(self, match: regex.Match[str]) -> int:
        """Where the town ends: "né à Lyon Suivi de grossesse" ends at Lyon.

        Notes join sentences without a full stop; a capitalised dictionary
        word after the first opens the next one.
        """
        words = list(_WORD_SPAN.finditer(match["town"]))
        for index, word in enumerate(words[1:], start=1):
            if self._opens_a_sentence(word[0]):
                return match.start("town") + words[index - 1].end()
        return match.end("town")

    def _opens_a_sentence(self, word: str) -> bool:
        return not word.isupper() and "-" not in word and word.lower() in self._known
