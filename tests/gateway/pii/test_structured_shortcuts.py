"""The whole-value shortcuts give the answers the recognizers' own analysis gives.

A field typed email or phone is confirmed at ingestion by its recognizer's
`confirms` shortcut (a bare pattern search for e-mail, a compiled validity
table for French numbers in E.164) before Presidio's `analyze` is asked.
Here every decision `check_structured` takes with the shortcuts is compared
with the one it takes without them, on the public eds-pseudo sample, the
values of the tests' fixtures and the benchmark's records, and numbers of
every French prefix and every country, in both languages.
"""

import json
import random
from collections.abc import Iterator

import phonenumbers
import pytest

from bench.benchdata import people
from bench.pii_sets import EDS_DIR, EDS_FILES
from gateway.fields.normalize import FieldInvalid, normalize_email, normalize_phone
from gateway.pii.analyzer import PiiAnalyzer
from tests.gateway.ingest.test_validate import TOKELAU_MOBILE, VALID_UNUSUAL_EMAILS

ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER")
EDS_LABELS = {"MAIL": "EMAIL_ADDRESS", "TEL": "PHONE_NUMBER"}


def _eds_values() -> Iterator[tuple[str, str]]:
    """(entity, text) of every e-mail and phone span of the public sample."""
    for name in EDS_FILES.values():
        for line in (EDS_DIR / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            for span in row["entities"]:
                entity = EDS_LABELS.get(span["label"])
                if entity is not None:
                    yield entity, row["note_text"][span["start"] : span["end"]]


def _normalized(entity: str, text: str) -> str | None:
    """The form ingestion stores and confirms, or None when it refuses it."""
    try:
        if entity == "EMAIL_ADDRESS":
            return normalize_email(text)
        return normalize_phone(text, "FR")
    except FieldInvalid:
        return None


def _french_numbers() -> Iterator[str]:
    """French numbers in E.164 of every two-digit prefix, valid or not, odd lengths."""
    rng = random.Random(20261204)  # noqa: S311 -- test data, not secrets
    for prefix in range(10, 100):
        for _ in range(25):
            yield f"+33{prefix}{rng.randrange(10**7):07d}"
        yield f"+33{prefix}{rng.randrange(10**6):06d}"  # one digit short
        yield f"+33{prefix}{rng.randrange(10**8):08d}"  # one digit long
        yield f"+330{prefix}{rng.randrange(10**6):06d}"  # the trunk 0 kept


def _world_numbers() -> Iterator[str]:
    """phonenumbers' example number of every region and type, in E.164."""
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.TOLL_FREE,
        ):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                yield phonenumbers.format_number(
                    number, phonenumbers.PhoneNumberFormat.E164
                )


ODD_EMAILS = [
    "Marie.Dupont@Orange.FR",
    "marie.dupont@orange.fr.",
    "marie dupont@orange.fr",
    "marie.dupont@localhost",
    "marie.dupont@exemple.zzzz",
    "'marie@orange.fr",
    "marie@orange.fr merci",
    "a@b.co",
    " padded@orange.fr ",
    "",
]
ODD_PHONES = ["06 12 34 56 78", "06 12 34", "+33 6 12 34 56 78", "+1 415 555 2671"]


def _cases() -> list[tuple[str, str]]:
    cases: list[tuple[str, str]] = []
    for entity, text in _eds_values():
        cases.append((entity, text))
        normalized = _normalized(entity, text)
        if normalized is not None:
            cases.append((entity, normalized))
    for record in people(20261204, 0, 400, tag="t"):
        for entity, key in (("EMAIL_ADDRESS", "email"), ("PHONE_NUMBER", "phone")):
            cases.append((entity, record[key]))
            normalized = _normalized(entity, record[key])
            assert normalized is not None
            cases.append((entity, normalized))
    cases += [("EMAIL_ADDRESS", e) for e in (*VALID_UNUSUAL_EMAILS, *ODD_EMAILS)]
    cases += [("PHONE_NUMBER", p) for p in (TOKELAU_MOBILE, *ODD_PHONES)]
    cases += [("PHONE_NUMBER", p) for p in _french_numbers()]
    cases += [("PHONE_NUMBER", p) for p in _world_numbers()]
    return cases


def _decisions(analyzer: PiiAnalyzer, cases: list[tuple[str, str]]) -> list[bool]:
    return [
        analyzer.check_structured(entity, value, language)
        for language in analyzer.languages
        for entity, value in cases
    ]


def test_the_public_sample_is_there() -> None:
    # The comparison below is only as good as its data: it must not pass on
    # an empty sample.
    assert EDS_DIR.is_dir(), EDS_DIR
    found = {entity for entity, _ in _eds_values()}
    assert found == set(ENTITIES)


def test_shortcuts_give_the_answers_of_the_full_analysis(
    analyzer: PiiAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = _cases()
    fired = 0
    recognizers = {
        id(r): r
        for language in analyzer.languages
        for entity in ENTITIES
        for r in analyzer._by_entity[language, entity]  # noqa: SLF001 - the test's subject
    }
    for recognizer in recognizers.values():
        shortcut = recognizer.confirms  # type: ignore[attr-defined]

        def counted(value: str, threshold: float, shortcut=shortcut) -> bool:  # type: ignore[no-untyped-def]
            nonlocal fired
            said = bool(shortcut(value, threshold))
            fired += said
            return said

        monkeypatch.setattr(recognizer, "confirms", counted)
    with_shortcuts = _decisions(analyzer, cases)
    for recognizer in recognizers.values():
        # check_structured reads a missing shortcut as None: analysis only.
        monkeypatch.setattr(recognizer, "confirms", None)
    analysis_only = _decisions(analyzer, cases)
    differ = [
        case
        for case, new, old in zip(
            cases * len(analyzer.languages), with_shortcuts, analysis_only, strict=True
        )
        if new != old
    ]
    assert differ == []
    # Not a comparison of two identical paths: the shortcuts decided most
    # confirmations, and both answers occur.
    assert fired > len(cases) // 2
    assert set(analysis_only) == {True, False}


def test_the_french_shortcut_needs_a_valid_number(analyzer: PiiAnalyzer) -> None:
    (phone,) = analyzer._by_entity["fr", "PHONE_NUMBER"]  # noqa: SLF001 - the test's subject
    threshold = analyzer.policy.score_threshold
    assert phone.confirms("+33612345678", threshold)  # type: ignore[attr-defined]
    # 00: no such French number; the shortcut does not confirm, and neither
    # does the analysis.
    assert not phone.confirms("+33012345678", threshold)  # type: ignore[attr-defined]
    assert not analyzer.check_structured("PHONE_NUMBER", "+33012345678")
    # A score threshold above the phone's: never confirmed by the shortcut.
    assert not phone.confirms("+33612345678", 0.9)  # type: ignore[attr-defined]
