"""The recognizers of each language the policies allow, built fresh per analyzer.

French recognizers that read names and places from the sentence need the
French dictionary (`gateway.pii.lexicon`); each builder takes the words the
language's pipeline knows (empty for a tokenizer-only language).
"""

from collections.abc import Callable

from presidio_analyzer import EntityRecognizer
from presidio_analyzer.predefined_recognizers import IpRecognizer

from gateway.pii.lexicon import Dictionary
from gateway.pii.recognizers.dates import date_recognizers
from gateway.pii.recognizers.en import UsSocialSecurityRecognizer, english_only
from gateway.pii.recognizers.fr import french_only
from gateway.pii.recognizers.fr_names import FrenchNameRecognizer
from gateway.pii.recognizers.fr_orgs import FrenchOrganizationRecognizer
from gateway.pii.recognizers.fr_places import FrenchPlaceRecognizer
from gateway.pii.recognizers.generic import (
    CardRecognizer,
    CountryIbanRecognizer,
    CuedIdentifierRecognizer,
    DomainUrlRecognizer,
    OfflineEmailRecognizer,
    RegionPhoneRecognizer,
)
from gateway.pii.recognizers.names import CuedPersonRecognizer

# National numbers are read as French first in French text; English text gets
# the United States and the United Kingdom. "+"-prefixed numbers are found
# whatever the region.
PHONE_REGIONS = {"fr": ("FR",), "en": ("US", "GB")}


def shared(language: str) -> list[EntityRecognizer]:
    """Recognizers of entities written the same way in every language."""
    return [
        OfflineEmailRecognizer(language),
        CountryIbanRecognizer(language),
        CardRecognizer(language),
        RegionPhoneRecognizer(language, PHONE_REGIONS[language]),
        IpRecognizer(supported_language=language),
        DomainUrlRecognizer(language),
        # A US social security number can turn up in either language's text.
        UsSocialSecurityRecognizer(language),
        CuedIdentifierRecognizer(language),
        *date_recognizers(language),
    ]


def french_recognizers(dictionary: Dictionary) -> list[EntityRecognizer]:
    """Every pattern recognizer for French text."""
    return [
        *shared("fr"),
        CuedPersonRecognizer("fr", dictionary),
        *french_only(),
        FrenchNameRecognizer(dictionary),
        FrenchOrganizationRecognizer(dictionary),
        FrenchPlaceRecognizer(dictionary),
    ]


def english_recognizers(dictionary: Dictionary) -> list[EntityRecognizer]:
    """Every pattern recognizer for English text."""
    del dictionary  # English names are capitalised: NER and cues find them
    return [*shared("en"), CuedPersonRecognizer("en"), *english_only()]


RECOGNIZERS: dict[str, Callable[[Dictionary], list[EntityRecognizer]]] = {
    "fr": french_recognizers,
    "en": english_recognizers,
}
