"""English recognizers: street addresses, postal codes, US social security numbers.

Persons, places, organisations and dates come from the English NER pipeline
and `gateway.pii.recognizers.dates`; names after a cue from `names`.
"""

from presidio_analyzer import Pattern, PatternRecognizer
from stdnum.us import ssn

from gateway.pii.recognizers.fr import STRONG, WEAK

# Street suffixes: the USPS's standard ones (Publication 28, appendix C1, in
# full and plural) and the UK's. Abbreviations without their dot: "at 150
# Park St." ends a sentence.
_USPS_SUFFIXES = """
Alley Annex Arcade Avenue Bayou Beach Bend Bluff Bluffs Bottom Boulevard Branch
Bridge Brook Brooks Burg Burgs Bypass Camp Canyon Cape Causeway Center Centers
Circle Circles Cliff Cliffs Club Common Commons Corner Corners Course Court
Courts Cove Coves Creek Crescent Crest Crossing Crossroad Crossroads Curve Dale
Dam Divide Drive Drives Estate Estates Expressway Extension Extensions Falls
Ferry Field Fields Flat Flats Ford Fords Forest Forge Forges Fork Forks Fort
Freeway Garden Gardens Gateway Glen Glens Green Greens Grove Groves Harbor
Harbors Haven Heights Highway Hill Hills Hollow Inlet Island Islands Isle
Junction Junctions Key Keys Knoll Knolls Lake Lakes Landing Lane Light Lights
Loaf Lock Locks Lodge Loop Mall Manor Manors Meadow Meadows Mews Mill Mills
Mission Motorway Mount Mountain Mountains Neck Orchard Oval Overpass Park Parks
Parkway Parkways Pass Passage Path Pike Pine Pines Place Plain Plains Plaza Point
Points Port Ports Prairie Radial Ramp Ranch Rapid Rapids Rest Ridge Ridges River
Road Roads Route Row Run Shoal Shoals Shore Shores Skyway Spring Springs Spur
Spurs Square Squares Station Stravenue Stream Street Streets Summit Terrace
Throughway Trace Track Trafficway Trail Trailer Tunnel Turnpike Underpass Union
Unions Valley Valleys Via Viaduct View Views Village Villages Ville Vista Walk
Walks Wall Way Ways Well Wells
Close Row Wynd
"""
_ABBREVIATIONS = "St Ave Rd Blvd Ln Dr Ct Pl Sq Pkwy Hwy Cir Ter Trl Cres"
_STREET_TYPES_EN = "|".join(sorted({*_USPS_SUFFIXES.split(), *_ABBREVIATIONS.split()}))
# "Apt 4", "Suite 200", "Unit 7B", "#12": the dwelling within the building.
_UNIT = (
    r"(?:,?[ \u00a0]+(?-i:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm|Floor|Fl)"
    r"\.?[ \u00a0]*#?[0-9A-Z][0-9A-Z\-]{0,5}\b|[ \u00a0]+#[0-9A-Z]{1,6}\b)"
)
_STREET_EN = (
    r"(?<![\w,])[0-9]{1,5}[A-Za-z]?(?:-[0-9]{1,5})?[ \u00a0]+"
    r"(?:(?-i:[A-Z0-9])[\w'’.\-]*[ \u00a0]+){1,4}"
    rf"(?-i:{_STREET_TYPES_EN})(?![\w]){_UNIT}?"
)
# Typed in lower case ("9 stokes street"): one or two words before a street
# type written in full, so that "3 more days" is never one.
_STREET_EN_LOWER = (
    r"(?<![\w,])[0-9]{1,5}[a-z]?[ \u00a0]+(?:(?-i:[a-z][a-z'’\-]+)[ \u00a0]+){1,2}"
    r"(?-i:street|road|avenue|lane|drive|close|crescent|terrace|square|gardens"
    r"|grove|boulevard|way|court|place)(?![\w])"
)


# UK postcodes (the Royal Mail's format: outward code, space, inward code) and
# US ZIP codes, five digits or ZIP+4.
UK_POSTCODE = (
    r"(?-i:(?:[A-Z]{1,2}[0-9][0-9A-Z]?|GIR)[ \u00a0]?[0-9][ABD-HJLNP-UW-Z]{2})"
)
_ZIP = r"[0-9]{5}(?:-[0-9]{4})?"
# A US state or Canadian province written as its two capitals.
_STATE = r"(?-i:[A-Z]{2})"
_TOWN = r"(?-i:[A-Z][\w'’\-]*)(?:[ \u00a0]+(?-i:[A-Z][\w'’\-]*)){0,2}"
# An address line goes on with its town, state and code: "..., San Diego, CA
# 92136", "..., York YO1 8WH".
_ADDRESS_TAIL = (
    rf"(?:,[ \u00a0]*{_TOWN}(?:,?[ \u00a0]+{_STATE})?,?[ \u00a0]+{_ZIP}(?![0-9])"
    rf"|,[ \u00a0]*{_TOWN},?[ \u00a0]+{UK_POSTCODE}\b)"
)


_PO_BOX = (
    r"\b(?i:P\.?[ \u00a0]?O\.?[ \u00a0]?Box|Post[ \u00a0]+Office[ \u00a0]+Box)"
    r"[ \u00a0]+[0-9]{1,6}\b"
)
# A town, its state and its ZIP code, wherever the street went: "Austin, TX 78701".
_TOWN_STATE_ZIP = rf"\b{_TOWN},[ \u00a0]*{_STATE}[ \u00a0]+{_ZIP}(?![0-9])"


class EnStreetAddressRecognizer(PatternRecognizer):
    """Street addresses: a number, capitalised words, a street type.

    "221B Baker Street", "1600 Pennsylvania Ave", "P.O. Box 1234, Austin, TX
    78701", and a town line with its state and ZIP code.
    """

    def __init__(self) -> None:
        super().__init__(
            supported_entity="STREET_ADDRESS",
            name="EnStreetAddressRecognizer",
            supported_language="en",
            patterns=[
                Pattern("street_en", _STREET_EN + f"{_ADDRESS_TAIL}?", STRONG),
                Pattern("street_en_lower", _STREET_EN_LOWER, STRONG),
                Pattern("po_box", _PO_BOX + f"{_ADDRESS_TAIL}?", STRONG),
                Pattern("town_state_zip", _TOWN_STATE_ZIP, STRONG),
            ],
            context=["address", "live", "living", "lives", "ship", "deliver"],
        )


class EnPostalCodeRecognizer(PatternRecognizer):
    """UK postcodes by their shape; US ZIP codes after a state or a context word.

    Five digits alone are as often an order number: they stay under the
    threshold unless "zip", "postcode"... comes before them.
    """

    def __init__(self) -> None:
        super().__init__(
            supported_entity="POSTAL_CODE",
            name="EnPostalCodeRecognizer",
            supported_language="en",
            patterns=[
                Pattern("uk_postcode", rf"\b{UK_POSTCODE}\b", STRONG),
                Pattern(
                    "us_zip_after_state", rf"(?<=\b{_STATE},?[ \u00a0]){_ZIP}\b", STRONG
                ),
                Pattern("us_zip", rf"(?<![0-9\-]){_ZIP}(?![0-9\-])", WEAK),
            ],
            context=["zip", "zipcode", "postcode", "postal", "code"],
        )


class UsSocialSecurityRecognizer(PatternRecognizer):
    """US social security numbers, checked by python-stdnum (area, group, serial).

    Grouped 3-2-4 they are rarely anything else; nine digits in one piece need
    "SSN" or "social security" before them.
    """

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="US_SSN",
            name=f"UsSocialSecurityRecognizer_{supported_language}",
            supported_language=supported_language,
            patterns=[
                Pattern(
                    "ssn_grouped",
                    r"(?<![0-9])[0-9]{3}([- .])[0-9]{2}\1[0-9]{4}(?![0-9])",
                    STRONG,
                ),
                Pattern("ssn_compact", r"(?<![0-9])[0-9]{9}(?![0-9])", WEAK),
            ],
            context=["ssn", "social", "security", "ss#", "ssn#", "taxpayer", "tin"],
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Stdnum's rules: no 000, 666 or 9xx area, no 00 group, no 0000 serial."""
        digits = "".join(c for c in pattern_text if c.isdigit())
        return None if ssn.is_valid(digits) else False


def english_only() -> list[PatternRecognizer]:
    """The recognizers of this module, one instance each."""
    return [EnStreetAddressRecognizer(), EnPostalCodeRecognizer()]
