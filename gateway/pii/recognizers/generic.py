"""Recognizers every language uses: e-mail, IBAN, card, phone, IP address.

Each is data (patterns, context words, a score) plus one check, as in Presidio's
own predefined recognizers; checksums come from python-stdnum and phone metadata
from phonenumbers. None of them touches the network: Presidio's e-mail
recognizer asks tldextract for the public-suffix list, which it downloads
unless told not to, so ours reads the snapshot shipped with tldextract.
"""

from abc import abstractmethod
from collections.abc import Sequence
from functools import cache
from itertools import product

import phonenumbers
import regex
import tldextract
from phonenumbers import Leniency
from presidio_analyzer import (
    AnalysisExplanation,
    EntityRecognizer,
    LocalRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts
from stdnum import iban, luhn
from stdnum.fr import siret

from gateway.pii.phones import FRENCH_NSN, FRENCH_VALID

# A result whose check passed but whose pattern alone is weak (any nine digits
# pass Luhn one time in ten): keep the pattern's low score, so that only a
# context word lifts it over the threshold. Presidio reads None as "no opinion".
NEEDS_CONTEXT = None

_SEPARATORS = regex.compile(r"[\s.\-/]")


def compact(text: str) -> str:
    """The value without the spaces, dots, dashes and slashes people group it by."""
    return _SEPARATORS.sub("", text)


def found(
    recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float
) -> RecognizerResult:
    """A result as Presidio's own recognizers make them (context needs both parts)."""
    return RecognizerResult(
        entity,
        start,
        end,
        score,
        analysis_explanation=AnalysisExplanation(recognizer.name, score),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )


class TextRecognizer(LocalRecognizer):
    """Entities found by code of their own rather than one pattern, no NLP.

    For recognizers whose span or check a pattern cannot say alone (an IBAN
    ends where its country says); `find` is the only code each one adds.
    """

    def __init__(
        self,
        entity: str | Sequence[str],
        name: str,
        language: str,
        context: Sequence[str] = (),
    ) -> None:
        super().__init__(
            supported_entities=[entity] if isinstance(entity, str) else list(entity),
            name=name,
            supported_language=language,
            context=list(context),
        )

    def load(self) -> None:
        """Nothing to load: patterns are compiled beforehand."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        """Presidio's entry point: `find`, kept to the entities asked for."""
        del nlp_artifacts
        return [r for r in self.find(text) if r.entity_type in entities]

    @abstractmethod
    def find(self, text: str) -> list[RecognizerResult]:
        """The entity's spans in a text."""


@cache
def _public_suffixes() -> tldextract.TLDExtract:
    # suffix_list_urls=() and no cache: the snapshot inside the package, never
    # a download (tldextract fetches the list on first use otherwise).
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class OfflineEmailRecognizer(PatternRecognizer):
    """E-mail addresses whose domain ends in a known public suffix."""

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entity="EMAIL_ADDRESS",
            name=f"EmailRecognizer_{supported_language}",
            supported_language=supported_language,
            patterns=[
                Pattern(
                    "email",
                    # RFC 5322's atext in the local part ("o'brien",
                    # "a&b"), not opening on an apostrophe; punycode TLDs.
                    r"(?<![\w.%+'’-])[\w%+!#$&*/=?^`{|}~-][\w%+'!#$&*/=?^`{|}~-]*"
                    r"(?:\.[\w%+'!#$&*/=?^`{|}~-]+)*"
                    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+"
                    r"(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})(?![\w-])",
                    0.5,
                )
            ],
            context=["email", "e-mail", "mail", "courriel", "adresse", "address"],
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Full score under a known public suffix (offline list).

        An unknown suffix (".example", a new gTLD the snapshot predates) keeps
        the pattern's score, which still reaches the threshold: missing an
        address costs more than redacting a look-alike.
        """
        domain = pattern_text.rsplit("@", 1)[1]
        return True if _public_suffixes()(domain).suffix else None

    def confirms(self, value: str, threshold: float) -> bool:
        """Whether `analyze` finds `value`, whole, at `threshold`: the same steps, bare.

        For whole-value checks (a field typed email), about 2 µs instead of
        13: Presidio's `analyze` builds an explanation and a result object
        per match and asks the public-suffix list even when the pattern's
        own score already reaches the threshold. Its first match is the one
        `search` finds (finditer's matches do not overlap), so a whole
        match is a first match spanning the value; the flags are those
        `analyze` uses when none are given. False means "ask `analyze`".
        """
        if not value:
            return False
        for pattern in self.patterns:
            compiled = _compiled(pattern.regex, self.global_regex_flags)
            match = compiled.search(value)
            if match is None or match.span() != (0, len(value)):
                continue
            if threshold <= pattern.score:
                return True
            # A passed check lifts the score to the maximum (Presidio's rule).
            if self.validate_result(value) and threshold <= EntityRecognizer.MAX_SCORE:
                return True
        return False


@cache
def _compiled(pattern: str, flags: int) -> regex.Pattern[str]:
    """A recognizer's pattern compiled as Presidio compiles it (`regex`, its flags)."""
    return regex.compile(pattern, flags=flags)


# The longest IBAN in the ISO 13616 registry.
_IBAN_MAX = 34


class CountryIbanRecognizer(TextRecognizer):
    """IBANs of any country, compact or grouped, cut at the country's length.

    Not a PatternRecognizer: where the match ends depends on the country code,
    which a pattern alone cannot say. The checksum is stdnum's.
    """

    _CANDIDATE = regex.compile(r"\b[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]){11,30}\b")
    CONTEXT = ("iban", "rib", "compte", "bancaire", "virement", "account", "bank")

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            "IBAN_CODE",
            f"IbanRecognizer_{supported_language}",
            supported_language,
            self.CONTEXT,
        )

    def find(self, text: str) -> list[RecognizerResult]:
        """Valid IBANs in a text."""
        results = []
        for match in self._CANDIDATE.finditer(text):
            end = _iban_end(match)
            if end is not None:
                results.append(
                    found(
                        self,
                        "IBAN_CODE",
                        match.start(),
                        end,
                        EntityRecognizer.MAX_SCORE,
                    )
                )
        return results


def _iban_end(match: regex.Match[str]) -> int | None:
    """Where the IBAN in a candidate match ends, or None when it is not one.

    The candidate may run on into the next word ("... 189 EUR"); stdnum knows
    each country's length and format, so the longest prefix it accepts is
    the IBAN.
    """
    candidate = match[0]
    # Offsets in the candidate just after each of its letters and digits.
    ends = [n + 1 for n, char in enumerate(candidate) if char not in " -"]
    for end in reversed(ends[:_IBAN_MAX]):
        if iban.is_valid(candidate[:end]):
            return match.start() + end
    return None


# Under the threshold: only Luhn (or a context word) lifts a card number.
WEAK_CARD = 0.3


class CardRecognizer(PatternRecognizer):
    """Card numbers (Luhn), but not a valid SIRET, which passes Luhn too."""

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entity="CREDIT_CARD",
            name=f"CreditCardRecognizer_{supported_language}",
            supported_language=supported_language,
            patterns=[
                # 4-4-4-(1-7) or Amex 4-6-5 groups, one separator kind, so a
                # following amount or date is not taken in.
                Pattern(
                    "card",
                    r"(?<![0-9])(?:[2-6][0-9]{3}([ -]?)[0-9]{4}\1[0-9]{4}\1[0-9]{1,7}"
                    r"|3[47][0-9]{2}([ -]?)[0-9]{6}\2[0-9]{5})(?![0-9])",
                    WEAK_CARD,
                )
            ],
            context=["carte", "cb", "visa", "mastercard", "amex", "card", "credit"],
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Luhn-valid, and not a SIRET (14 digits, Luhn too: a company's id).

        A short run of digits written in one piece (13-15) is as often a
        product's EAN-13 or a reference: Luhn passes one time in ten, so it
        keeps the weak score and needs a context word.
        """
        digits = compact(pattern_text)
        if not luhn.is_valid(digits):
            return False
        if len(digits) == 14 and siret.is_valid(digits):
            return False
        if len(digits) < 16 and digits == pattern_text:
            return NEEDS_CONTEXT
        return True


_IPV4 = regex.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_GROUPS = regex.compile(r"[0-9]+")


# Grouped otherwise than the country groups it ("0123 456 789"), a number
# opening on the trunk prefix is still written as a phone; without one ("order
# 748-2183294") only a context word ("tél", "call") makes it one. A number no
# operator has been given yet ("555-234-5678": a fictional, mistyped or future
# one) is still a phone when it is grouped as the country groups phones.
PHONE_SURE, PHONE_UNASSIGNED, PHONE_WEAK = 0.75, 0.6, 0.3


def _phone_score(match: phonenumbers.PhoneNumberMatch, region: str) -> float | None:
    """How surely a number was written as a phone; None for an IPv4 address.

    phonenumbers' matcher accepts "order 748-2183294" as a US number and an
    IPv4 address as another; a number written by a person is grouped as its
    national format groups it ("(748) 218-3294"), written in one piece, or
    opens on the national trunk prefix ("01 23 456 789", "0033 1 45...").
    """
    raw = match.raw_string.strip("()")
    if _IPV4.fullmatch(raw):
        return None
    if raw.startswith("+") or raw.isdigit():
        return PHONE_SURE
    national = phonenumbers.format_number(
        match.number, phonenumbers.PhoneNumberFormat.NATIONAL
    )
    if _GROUPS.findall(raw) == _GROUPS.findall(national):
        return PHONE_SURE
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    trunk = metadata.national_prefix if metadata else None
    return PHONE_SURE if trunk and raw.startswith(trunk) else PHONE_WEAK


def _unassigned_score(match: phonenumbers.PhoneNumberMatch) -> float | None:
    """A number of a valid length but unassigned: a phone if grouped as phones are.

    "555-234-5678", "+1-555-234-5678": three groups or more, exactly as the
    country's format groups them. Digits in one piece or grouped otherwise
    are as often an order or a reference: not read as a phone.
    """
    raw = match.raw_string.strip("()")
    if phonenumbers.is_valid_number(match.number) or _IPV4.fullmatch(raw):
        return None  # a valid number the strict reading left out: rightly
    style = (
        phonenumbers.PhoneNumberFormat.INTERNATIONAL
        if raw.startswith("+")
        else phonenumbers.PhoneNumberFormat.NATIONAL
    )
    groups = _GROUPS.findall(raw)
    expected = _GROUPS.findall(phonenumbers.format_number(match.number, style))
    return PHONE_UNASSIGNED if len(groups) > 2 and groups == expected else None


_EXTENSION = regex.compile(
    r"[ \u00a0]*(?:,[ \u00a0]*)?(?i:poste|p\.|ext\.?|extension|x)[ \u00a0]*[0-9]{1,6}\b"
)


def _with_extension(text: str, end: int) -> int:
    """Where a number ends once its extension ("poste 123", "ext. 42") is in."""
    extension = _EXTENSION.match(text, end)
    return extension.end() if extension else end


class RegionPhoneRecognizer(TextRecognizer):
    """Phone numbers of the given regions, as phonenumbers reads them.

    Presidio's own phone recognizer scores 0.4 (under our threshold without a
    context word) and runs the slow matcher on every text; this one runs it
    only when seven digits are close together.
    """

    # Seven digits: the shortest numbers in use (Tokelau, Niue) have seven.
    _HINT = regex.compile(r"[0-9](?:[\s.\-()/]{0,3}[0-9]){6}")
    CONTEXT = (
        *("téléphone", "telephone", "tél", "tel", "portable", "mobile", "fixe"),
        *("appeler", "appelez", "joindre", "numéro", "phone", "call", "number"),
        *("fax", "cell", "téléphoner", "contact"),
    )

    def __init__(self, supported_language: str, regions: Sequence[str]) -> None:
        self.regions = tuple(regions)
        super().__init__(
            "PHONE_NUMBER",
            f"PhoneRecognizer_{supported_language}",
            supported_language,
            self.CONTEXT,
        )

    def confirms(self, value: str, threshold: float) -> bool:
        """Whether the strict reading alone finds `value`, whole, at `threshold`.

        A shortcut for whole-value checks (a field typed phone): `find`'s
        lenient pass only adds numbers that are not valid, and keeps a
        strict result unless it scores higher, so a whole valid number found
        here is one `find` returns too. False means "ask `find`", not "no".
        """
        if not self._HINT.search(value):
            return False
        if (
            value.startswith("+33")
            and FRENCH_NSN.fullmatch(value, 3)
            and FRENCH_VALID(value[3:])
        ):
            # A French number in E.164 (the form ingestion stores): the
            # matcher reads "+33" and nine digits whole, as written with a
            # plus (PHONE_SURE, whatever the region), and keeps it when
            # phonenumbers calls it valid, which FRENCH_VALID decides from
            # the same metadata in a microsecond instead of 25.
            return threshold <= PHONE_SURE
        for region in self.regions:
            for match in phonenumbers.PhoneNumberMatcher(value, region, Leniency.VALID):
                if match.start == 0 and _with_extension(value, match.end) == len(value):
                    score = _phone_score(match, region)
                    if score is not None and score >= threshold:
                        return True
        return False

    def find(self, text: str) -> list[RecognizerResult]:
        """Phone numbers, national ones read in each region in turn."""
        if not self._HINT.search(text):
            return []
        numbers: dict[tuple[int, int], RecognizerResult] = {}
        for region, lenient in product(self.regions, (False, True)):
            leniency = Leniency.POSSIBLE if lenient else Leniency.VALID
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency):
                start = match.start
                raw = match.raw_string
                if raw.startswith("(") and raw.count("(") > raw.count(")"):
                    start += 1  # "(+1 401 231 8753)": the bracket is not the number's
                key = (start, _with_extension(text, match.end))
                if lenient:
                    score = _unassigned_score(match)
                else:
                    score = _phone_score(match, region)
                kept = numbers.get(key)
                if score is not None and (kept is None or score > kept.score):
                    numbers[key] = found(self, "PHONE_NUMBER", *key, score)
        return list(numbers.values())


# A scheme or "www." makes a URL whatever follows; a bare domain ("dupont.fr",
# "shop.example.co.uk/orders") must end in a public suffix and be written in
# lower case, so "A.CHENEVIER" or "S.A." are not read as one.
_URL = regex.compile(
    r"(?i:\b(?:https?://|www\d{0,3}\.)[^\s<>\"'()]+[^\s<>\"'().,;:!?])"
    r"|(?<![\w@.\-])(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
    r"(?:/[^\s<>\"'()]*[^\s<>\"'().,;:!?])?(?![\w@\-])"
)


class DomainUrlRecognizer(TextRecognizer):
    """URLs and bare domain names (a person's site or shop names them).

    Presidio's own URL pattern has no word boundaries: it reads "A.CH" inside
    "A.CHENEVIER" as a Swiss domain. Bare domains are checked against the
    public-suffix snapshot shipped with tldextract (offline).
    """

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            "URL",
            f"UrlRecognizer_{supported_language}",
            supported_language,
            ("url", "site", "website", "lien", "link", "web"),
        )

    def find(self, text: str) -> list[RecognizerResult]:
        """URLs with a scheme or www, and bare domains under a known suffix."""
        results = []
        for match in _URL.finditer(text):
            url = match[0]
            explicit = url.lower().startswith(("http", "www"))
            host = url.split("/", 1)[0]
            if explicit or _public_suffixes()(host).suffix:
                score = 0.6 if explicit else 0.5
                results.append(found(self, "URL", *match.span(), score))
        return results


# Identifiers a form or a note names: whatever the digits, the label says what
# they are. A social security number whose key does not check is still one
# (a typo, or a number from before a change); a hospital's patient (IPP) or
# stay (NDA) number, a medical record number, single a patient out.
_NIR_CUE = (
    r"sécu|secu|sécurité\s+sociale|securite\s+sociale|nir|insee|nss"
    r"|n°\s*ss|no\s*ss|numéro\s+ss|social\s+security(?:\s+number)?|ssn"
)
_PATIENT_CUE = (
    r"ipp|nda|nip|n°\s*(?:de\s+)?dossier|dossier\s*n°|n°\s*(?:de\s+)?patient"
    r"|numéro\s+(?:de\s+)?(?:dossier|patient|séjour|sejour)|mrn"
    r"|patient\s+(?:id|number|no\.?)|medical\s+record\s+(?:number|no\.?)"
)
# An identity document's number: letters and digits, one digit at least
# ("D1234567", "12AB34567", "X1234567-A").
_DOCUMENT_CUE = (
    r"passport|passeport|driver['’]?s?\s+licen[cs]e|driving\s+licen[cs]e"
    r"|licen[cs]e\s+(?:number|no\.?)|permis\s+(?:de\s+conduire|n°)"
    r"|carte\s+(?:nationale\s+)?d['’]identité|cni|id\s+card|identity\s+card"
    r"|national\s+id"
)
_AFTER_CUE = r"(?:\s*(?:n°|no\.?|number|numéro|:|#|=|-)\s*|\s+){1,3}"
_CUED_NIR = regex.compile(
    rf"(?i:\b(?:{_NIR_CUE}))\b{_AFTER_CUE}"
    r"(?P<id>[1-478](?:[ \u00a0.]?[0-9AB]){12}(?:[ \u00a0.]?[0-9]{2})?)(?![0-9])"
)
_CUED_DOCUMENT = regex.compile(
    rf"(?i:\b(?:{_DOCUMENT_CUE}))\b(?:\s+(?:is|was|est|:))?{_AFTER_CUE}"
    r"(?P<id>(?=[A-Z0-9\-]*[0-9])(?-i:[A-Z0-9][A-Z0-9\-]{4,18}[A-Z0-9]))(?![\w-])"
)
_CUED_PATIENT = regex.compile(
    rf"(?i:\b(?:{_PATIENT_CUE}))\b{_AFTER_CUE}"
    r"(?P<id>(?-i:[A-Z]{0,3})[0-9](?:[0-9 \-/]{3,18})[0-9])(?![0-9])"
)


class CuedIdentifierRecognizer(TextRecognizer):
    """Numbers a label names as a social security, patient or identity document number.

    Checksummed readings (FR_NIR, US_SSN) keep priority where the key checks;
    this one takes the rest, on the word of the label alone.
    """

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            ("PATIENT_ID", "FR_NIR", "ID_DOCUMENT"),
            f"CuedIdentifierRecognizer_{supported_language}",
            supported_language,
        )

    def find(self, text: str) -> list[RecognizerResult]:
        """Labelled social security, patient and identity document numbers."""
        results = [
            found(self, "FR_NIR", *m.span("id"), 0.6) for m in _CUED_NIR.finditer(text)
        ]
        results += [
            found(self, "PATIENT_ID", *m.span("id"), 0.6)
            for m in _CUED_PATIENT.finditer(text)
        ]
        results += [
            found(self, "ID_DOCUMENT", *m.span("id"), 0.6)
            for m in _CUED_DOCUMENT.finditer(text)
        ]
        return results
