"""French recognizers Presidio lacks: NIR, SIREN, SIRET, VAT, postal code...

Also street addresses, with their postal code and town when they follow.

Each is data plus one check (CONVENTIONS R7). Checksums are python-stdnum's.
Where the shape alone is weak (nine digits pass Luhn one time in ten, any five
digits look like a postal code) the check keeps the pattern's low score and
only a context word before the match lifts it over the threshold.
"""

from presidio_analyzer import Pattern, PatternRecognizer
from stdnum.fr import nir, siren, siret, tva

from gateway.pii.recognizers.generic import NEEDS_CONTEXT, compact

# Scores: under the policy threshold (0.5) unless a context word adds 0.35.
WEAK = 0.3
# A shape that is rarely anything else (a street type after a number).
STRONG = 0.6

_SPACE = r"[ \u00a0]?"


class FrNirRecognizer(PatternRecognizer):
    """French social security number (NIR): 15 characters, key checked.

    Sex, birth year and month, département (2A/2B for Corsica), commune,
    order number, then the key 97 - (the first 13 digits mod 97).
    """

    def __init__(self) -> None:
        s = _SPACE
        super().__init__(
            supported_entity="FR_NIR",
            name="FrNirRecognizer",
            supported_language="fr",
            patterns=[
                Pattern(
                    "nir",
                    rf"(?<![0-9A-Za-z])[1-478]{s}[0-9]{{2}}{s}(?:0[1-9]|1[0-2]|[2-9][0-9])"
                    rf"{s}(?:[0-9]{{2}}|2[ABab]){s}[0-9]{{3}}{s}[0-9]{{3}}{s}[0-9]{{2}}"
                    r"(?![0-9A-Za-z])",
                    0.5,
                )
            ],
            context=[
                "sécurité",
                "securite",
                "sociale",
                "nir",
                "insee",
                "ss",
                "sécu",
                "secu",
                "vitale",
            ],
        )

    def validate_result(self, pattern_text: str) -> bool:
        """The key: 97 - (13 digits mod 97), Corsica counted as INSEE says."""
        return nir.is_valid(compact(pattern_text).upper())


class FrSirenRecognizer(PatternRecognizer):
    """SIREN (company number, 9 digits, Luhn): only next to a context word."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="FR_SIREN",
            name="FrSirenRecognizer",
            supported_language="fr",
            patterns=[
                Pattern(
                    "siren",
                    r"(?<![0-9])[0-9]{3}[ \u00a0.]?[0-9]{3}[ \u00a0.]?[0-9]{3}"
                    r"(?![0-9])",
                    WEAK,
                )
            ],
            context=[
                "siren",
                "rcs",
                "entreprise",
                "société",
                "societe",
                "immatriculée",
                "immatriculation",
            ],
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Luhn-valid keeps the weak score; a context word must still say SIREN."""
        return NEEDS_CONTEXT if siren.is_valid(compact(pattern_text)) else False


class FrSiretRecognizer(PatternRecognizer):
    """SIRET (establishment number: SIREN + 5 digits), La Poste's rule included.

    stdnum's check covers La Poste, whose establishments share SIREN 356000000
    and whose SIRETs sum their digits to a multiple of 5 instead of Luhn.
    """

    def __init__(self) -> None:
        g = r"[ \u00a0.]?"
        super().__init__(
            supported_entity="FR_SIRET",
            name="FrSiretRecognizer",
            supported_language="fr",
            patterns=[
                Pattern(
                    "siret",
                    rf"(?<![0-9])[0-9]{{3}}{g}[0-9]{{3}}{g}[0-9]{{3}}{g}[0-9]{{5}}(?![0-9])",
                    0.45,
                )
            ],
            context=[
                "siret",
                "établissement",
                "etablissement",
                "entreprise",
                "société",
                "societe",
            ],
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Valid SIRETs keep a score just under the threshold: context decides."""
        return NEEDS_CONTEXT if siret.is_valid(compact(pattern_text)) else False


class FrVatRecognizer(PatternRecognizer):
    """French VAT number: FR, a 2-character key, then the SIREN."""

    def __init__(self) -> None:
        s = _SPACE
        super().__init__(
            supported_entity="FR_VAT",
            name="FrVatRecognizer",
            supported_language="fr",
            patterns=[
                Pattern(
                    "fr_vat",
                    rf"\b(?-i:FR){s}[0-9A-HJ-NP-Z]{{2}}{s}[0-9]{{3}}{s}[0-9]{{3}}{s}[0-9]{{3}}\b",
                    0.5,
                )
            ],
            context=["tva", "intracommunautaire", "vat"],
        )

    def validate_result(self, pattern_text: str) -> bool:
        """The key over the SIREN (stdnum's French TVA check)."""
        return tva.is_valid(compact(pattern_text))


# Départements 01-95 (Corsica's 2A/2B are written 20xxx), overseas 971xx-976xx,
# 98xxx.
_POSTAL = (
    r"(?<![0-9])(?:(?:0[1-9]|[1-8][0-9]|9[0-5])[0-9]{3}|97[1-6][0-9]{2}|98[0-9]{3})"
    r"(?![0-9])"
)
# The words of an address (abbreviations with and without their dot, as the
# tokenizer keeps "av." whole) or of a form asking for the code.
_POSTAL_CONTEXT = """
code postal cp cedex rue avenue av av. boulevard bd bd. allée allee place pl.
chemin impasse imp. quai route rte cours adresse domicile habite habitant ville
commune livraison résidence
"""


class FrPostalCodeRecognizer(PatternRecognizer):
    """French postal codes: five digits, only with an address or "code postal" near.

    A second pattern takes five digits between a comma and a capitalised word
    ("..., 75002 Paris"), the usual way an address line ends.
    """

    def __init__(self) -> None:
        super().__init__(
            supported_entity="POSTAL_CODE",
            name="FrPostalCodeRecognizer",
            supported_language="fr",
            patterns=[
                Pattern("postal_code", _POSTAL, WEAK),
                Pattern(
                    "postal_code_city",
                    _POSTAL[: -len("(?![0-9])")]
                    + r"(?=[ \u00a0]+(?-i:[A-ZÀ-Ý])[\w'’-]+)"
                    + r"(?<=,[ \u00a0]?[0-9]{5})",
                    STRONG,
                ),
            ],
            context=_POSTAL_CONTEXT.split(),
        )


_STREET_TYPES_FR = (
    "rue|avenue|av\\.?|ave\\.?|boulevard|bd\\.?|bld\\.?|blvd\\.?|allée|allee|place|pl\\.|"
    "chemin|ch\\.|impasse|imp\\.|quai|route|rte\\.?|cours|square|passage|faubourg|"
    "fg\\.?|villa|résidence|residence|lotissement|hameau|lieu-dit|cité|cite|"
    "rond-point|esplanade|promenade|voie|sentier|parvis|mail|traverse|montée|"
    "montee|corniche|ruelle|sente|venelle|domaine"
)
# The name after the type: French particles and capitalised words, or at most
# three lower-case words (people type "12 rue de la paix") before punctuation.
# No "à": "rue du Port à Tours" ends before the city.
_PARTICLE = r"(?:de|du|des|la|le|les|l['’]|d['’]|en|sur|sous|saint|ste?)"
# A letter first, so a postal code after the street is not taken in; dots only
# inside a word ("St.Germain"), so a sentence's full stop stays out.
_CAP_WORD = r"(?-i:[A-ZÀ-Ý])[\w'’\-]*(?:\.[\w'’\-]+)*"
_LOW_WORD = r"(?-i:[a-zà-ÿ][\w'’\-]{2,})"  # three letters at least: not "a", "à"
_STREET_FR = (
    r"(?<![\w,])[0-9]{1,4}(?:[ \u00a0]?(?:bis|ter|quater|[a-d])\b)?,?[ \u00a0]+"
    rf"(?:{_STREET_TYPES_FR})[ \u00a0]+"
    rf"(?:(?:{_PARTICLE}[ \u00a0]*)*{_CAP_WORD}"
    rf"(?:[ \u00a0]+(?:{_PARTICLE}[ \u00a0]*)*{_CAP_WORD})*"
    rf"|(?:{_PARTICLE}[ \u00a0]+)*{_LOW_WORD}(?:[ \u00a0]+{_LOW_WORD})?)"
)
# An address line goes on with its postal code and town: ", 63570 Saint-Rémy",
# "75002 PARIS CEDEX". Town words are capitalised, upper-case or typed in
# lower case, joined by hyphens or particles, never a stop word at the end.
_TOWN_WORD = r"(?:(?-i:[A-ZÀ-Ýa-zà-ÿ])[\w'’]*(?:-[\w'’]+)*)"
_TOWN_PARTICLE = r"(?:(?i:sur|sous|de|du|des|la|le|les|en|lès|lez|d['’]|l['’]))"
# Words that end a town typed in lower case ("63570 sainte édouard pour le").
_NOT_TOWN = r"(?:pour|par|et|ou|à|a|au|aux|le|la|les|du|des|de|dans|avec|chez|qui|que)"
_POSTAL_TOWN = (
    r"(?:,?[ \u00a0]+(?:0[1-9]|[1-8][0-9]|9[0-8])[0-9]{3}[ \u00a0]+"
    rf"(?!(?:{_TOWN_PARTICLE})\b){_TOWN_WORD}"
    rf"(?:[ \u00a0]+(?:{_TOWN_PARTICLE}[ \u00a0]*)?(?-i:[A-ZÀ-Ý])[\w'’]*(?:-[\w'’]+)*"
    rf"|[ \u00a0]+(?!{_NOT_TOWN}\b)(?-i:[a-zà-ÿ])[\w'’]*(?:-[\w'’]+)*){{0,3}}"
    rf"(?:[ \u00a0]+(?i:cedex)(?:[ \u00a0]+[0-9]{{1,2}})?)?)"
)


class FrStreetAddressRecognizer(PatternRecognizer):
    """Street addresses: a number, a street type ("rue", "bd", "av."...), a name.

    The postal code and town that follow belong to the span: one address line,
    one placeholder. A postal code alone has its own recognizer.
    """

    def __init__(self) -> None:
        super().__init__(
            supported_entity="STREET_ADDRESS",
            name="FrStreetAddressRecognizer",
            supported_language="fr",
            patterns=[Pattern("street_fr", _STREET_FR + f"{_POSTAL_TOWN}?", STRONG)],
            context=["adresse", "domicile", "habite", "livraison", "demeurant"],
        )


def french_only() -> list[PatternRecognizer]:
    """The recognizers of this module, one instance each."""
    return [
        FrNirRecognizer(),
        FrSirenRecognizer(),
        FrSiretRecognizer(),
        FrVatRecognizer(),
        FrPostalCodeRecognizer(),
        FrStreetAddressRecognizer(),
    ]
