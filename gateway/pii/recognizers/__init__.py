"""The recognizers of each language the policies allow, built fresh per analyzer."""

from presidio_analyzer import EntityRecognizer
from presidio_analyzer.predefined_recognizers import IpRecognizer

from gateway.pii.recognizers.en import english_only
from gateway.pii.recognizers.fr import french_only
from gateway.pii.recognizers.generic import (
    CardRecognizer,
    CountryIbanRecognizer,
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
        CuedPersonRecognizer(language),
    ]


def french_recognizers() -> list[EntityRecognizer]:
    """Every pattern recognizer for French text."""
    return [*shared("fr"), *french_only()]


def english_recognizers() -> list[EntityRecognizer]:
    """Every pattern recognizer for English text."""
    return [*shared("en"), *english_only()]


RECOGNIZERS = {"fr": french_recognizers, "en": english_recognizers}
