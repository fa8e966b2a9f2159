"""English recognizers: street addresses.

Persons, places, organisations and dates come from the English NER pipeline
and `gateway.pii.recognizers.dates`; names after a cue from `names`.
"""

from presidio_analyzer import Pattern, PatternRecognizer

from gateway.pii.recognizers.fr import STRONG

# Abbreviations without their dot: "at 150 Park St." ends a sentence.
_STREET_TYPES_EN = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|"
    "Pl|Terrace|Way|Close|Crescent|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|"
    "Row|Walk|Gardens|Grove|Mews|Hill"
)
_STREET_EN = (
    r"(?<![\w,])[0-9]{1,5}[A-Za-z]?(?:-[0-9]{1,5})?[ \u00a0]+"
    r"(?:(?-i:[A-Z0-9])[\w'’.\-]*[ \u00a0]+){1,4}"
    rf"(?-i:{_STREET_TYPES_EN})(?![\w])"
)
# Typed in lower case ("9 stokes street"): one or two words before a street
# type written in full, so that "3 more days" is never one.
_STREET_EN_LOWER = (
    r"(?<![\w,])[0-9]{1,5}[a-z]?[ \u00a0]+(?:(?-i:[a-z][a-z'’\-]+)[ \u00a0]+){1,2}"
    r"(?-i:street|road|avenue|lane|drive|close|crescent|terrace|square|gardens"
    r"|grove|boulevard|way|court|place)(?![\w])"
)


class EnStreetAddressRecognizer(PatternRecognizer):
    """Street addresses: a number, capitalised words, a street type.

    "221B Baker Street", "1600 Pennsylvania Ave".
    """

    def __init__(self) -> None:
        super().__init__(
            supported_entity="STREET_ADDRESS",
            name="EnStreetAddressRecognizer",
            supported_language="en",
            patterns=[
                Pattern("street_en", _STREET_EN, STRONG),
                Pattern("street_en_lower", _STREET_EN_LOWER, STRONG),
            ],
            context=["address", "live", "living", "lives", "ship", "deliver"],
        )


def english_only() -> list[PatternRecognizer]:
    """The recognizers of this module, one instance each."""
    return [EnStreetAddressRecognizer()]
