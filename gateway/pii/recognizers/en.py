"""English recognizers: street addresses and dates of birth.

Names are found after a cue (`gateway.pii.recognizers.names`): no English
spaCy pipeline installs from the package registry, so English has no NER.
"""

from presidio_analyzer import Pattern, PatternRecognizer

from gateway.pii.recognizers.fr import STRONG, WEAK

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


_MONTHS_EN = (
    "January|February|March|April|May|June|July|August|September|October|November|"
    "December|Jan\\.?|Feb\\.?|Mar\\.?|Apr\\.?|Jun\\.?|Jul\\.?|Aug\\.?|Sept?\\.?|"
    "Oct\\.?|Nov\\.?|Dec\\.?"
)
_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])(?:st|nd|rd|th)?"
DATE_PATTERNS_EN = [
    Pattern("date_numeric", r"(?<![0-9])(?:0?[1-9]|[12][0-9]|3[01])([/.\-])"
            r"(?:0?[1-9]|[12][0-9]|3[01])\1(?:19|20)?[0-9]{2}(?![0-9])", WEAK),
    Pattern("date_iso", r"(?<![0-9])(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])"
            r"-(?:0[1-9]|[12][0-9]|3[01])(?![0-9])", WEAK),
    Pattern("date_month_first", rf"\b(?:{_MONTHS_EN})[ \u00a0]+{_DAY},?[ \u00a0]+"
            r"(?:19|20)[0-9]{2}\b", WEAK),
    Pattern("date_day_first", rf"\b{_DAY}(?:[ \u00a0]+of)?[ \u00a0]+(?:{_MONTHS_EN}),?"
            r"[ \u00a0]+(?:19|20)[0-9]{2}\b", WEAK),
]  # fmt: skip


class EnBirthDateRecognizer(PatternRecognizer):
    """Dates written the English ways, a birth date only after "born", "DOB"..."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="DATE_OF_BIRTH",
            name="EnBirthDateRecognizer",
            supported_language="en",
            patterns=DATE_PATTERNS_EN,
            context=["born", "birth", "dob", "birthday", "d.o.b", "birthdate"],
        )


def english_only() -> list[PatternRecognizer]:
    """The recognizers of this module, one instance each."""
    return [EnStreetAddressRecognizer(), EnBirthDateRecognizer()]
