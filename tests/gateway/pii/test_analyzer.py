"""The analyzer: offline, two paths by cost, bounded memory, policy operators."""

import socket
from typing import Any

import pytest
import spacy.cli

from gateway.pii.analyzer import PiiAnalyzer
from gateway.pii.nlp import PiiModelMissing
from gateway.policy.pii_policy import PiiPolicy
from tests.pii_values import group, make_iban

IBAN = make_iban("FR", "30006000011234567890189")


def _refuse(*args: Any, **kwargs: Any) -> None:
    del args, kwargs
    raise AssertionError("must not run on this path")


def test_detection_works_with_the_network_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        del args, kwargs
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(spacy.cli, "download", _refuse)
    analyzer = PiiAnalyzer(PiiPolicy())  # built here: nothing cached from before
    texts = [
        "Écrivez à marie.dupont@orange.fr ou appelez Marie Dupont au 06 12 34 56 78.",
        "Hello, my name is John Smith, mail john.smith@example.co.uk.",
        # No cue word here: only the English NER model finds these.
        "Sarah Connor moved to Denver last May and now works for Acme Corp.",
    ]
    assert analyzer.nlp.has_ner("fr")
    assert analyzer.nlp.has_ner("en")
    found = analyzer.analyze_batch(texts)
    types = [{s.entity_type for s in spans} for spans in found]
    assert types == [
        {"EMAIL_ADDRESS", "PERSON", "PHONE_NUMBER"},
        {"EMAIL_ADDRESS", "PERSON"},
        {"PERSON", "LOCATION", "DATE_TIME", "ORGANIZATION"},
    ]


def test_free_text_runs_ner_once_per_batch(
    analyzer: PiiAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = analyzer.nlp.process_batch

    def counted(texts: list[str], language: str, batch_size: int = 64) -> Any:
        calls.append(len(texts))
        return original(texts, language, batch_size)

    monkeypatch.setattr(analyzer.nlp, "process_batch", counted)
    texts = [f"Bonjour, ici Marie Dupont, commande {n}." for n in range(10)]
    found = analyzer.analyze_batch(texts, "fr")
    assert calls == [10]
    assert all(s.entity_type == "PERSON" for spans in found for s in spans)


def test_pattern_path_never_runs_ner(
    analyzer: PiiAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analyzer.nlp, "process_batch", _refuse)
    text = "mail jeanne@doe.fr, tél 06 12 34 56 78"
    (redacted,) = analyzer.redact_batch([text], with_ner=False)
    assert redacted.text == "mail <EMAIL_ADDRESS>, tél <PHONE_NUMBER>"
    assert redacted.entity_types == ("EMAIL_ADDRESS", "PHONE_NUMBER")


@pytest.mark.parametrize(
    ("entity", "value", "expected"),
    [
        ("IBAN_CODE", IBAN, True),
        ("IBAN_CODE", group(IBAN), True),
        ("IBAN_CODE", IBAN[:-1] + "0", False),
        ("IBAN_CODE", f"{IBAN} merci", False),
        ("EMAIL_ADDRESS", "marie.dupont@orange.fr", True),
        ("EMAIL_ADDRESS", "marie.dupont@", False),
        ("PHONE_NUMBER", "06 12 34 56 78", True),
        ("PHONE_NUMBER", "06 12 34", False),
    ],
)
def test_structured_values_are_checked_without_spacy(
    analyzer: PiiAnalyzer,
    monkeypatch: pytest.MonkeyPatch,
    entity: str,
    value: str,
    expected: bool,
) -> None:
    monkeypatch.setattr(analyzer.nlp, "process_batch", _refuse)
    monkeypatch.setattr(analyzer.nlp, "tokenize", _refuse)
    assert analyzer.check_structured(entity, value) is expected


def test_structured_check_of_an_unknown_entity_is_an_error(
    analyzer: PiiAnalyzer,
) -> None:
    with pytest.raises(ValueError, match="no recognizer for FR_SIRET in language en"):
        analyzer.check_structured("FR_SIRET", "x", "en")


@pytest.mark.parametrize("with_ner", [True, False])
def test_the_vocabulary_does_not_grow_with_new_words(
    analyzer: PiiAnalyzer, with_ner: bool
) -> None:
    analyzer.redact_batch(["Zorglub0 a écrit à Marie Dupont."], "fr", with_ner=with_ner)
    nlp = analyzer.nlp.get_nlp("fr")
    before = len(nlp.vocab.strings)
    texts = [f"Client{n} Zorglub{n} a écrit à Marie Dupont." for n in range(300)]
    done = analyzer.redact_batch(texts, "fr", with_ner=with_ner)
    assert len(nlp.vocab.strings) == before
    # What came out of the zone is plain text, still whole.
    assert done[7].text.startswith("Client7 Zorglub7 a écrit à ")


def test_operators_come_from_the_policy() -> None:
    policy = PiiPolicy.model_validate(
        {
            "operators": {
                "DEFAULT": {"type": "replace"},
                "PHONE_NUMBER": {"type": "replace", "new_value": "[tél]"},
                "EMAIL_ADDRESS": {"type": "redact"},
            }
        }
    )
    analyzer = PiiAnalyzer(policy)
    text = "IBAN " + IBAN + ", tél 06 12 34 56 78, mail a.b@orange.fr"
    assert analyzer.redact_batch([text], "fr")[0].text == (
        "IBAN <IBAN_CODE>, tél [tél], mail "
    )


def test_a_missing_pipeline_is_an_error_not_a_download(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spacy.cli, "download", _refuse)
    policy = PiiPolicy(models={"fr": "fr_core_news_lg", "en": None})
    with pytest.raises(PiiModelMissing, match="pip install fr-core-news-lg"):
        PiiAnalyzer(policy)


def test_entities_off_in_the_policy_are_not_reported() -> None:
    analyzer = PiiAnalyzer(PiiPolicy(entities=("EMAIL_ADDRESS",)))
    text = "Marie Dupont, 06 12 34 56 78, marie@orange.fr"
    found = analyzer.analyze_batch([text], "fr")[0]
    assert [s.entity_type for s in found] == ["EMAIL_ADDRESS"]


def test_auto_detects_each_texts_language(analyzer: PiiAnalyzer) -> None:
    assert analyzer.language_of("Bonjour, je voudrais changer mon adresse.") == "fr"
    assert analyzer.language_of("Hello, I would like to change my address.") == "en"
    assert analyzer.language_of("06 12 34 56 78") == "fr"  # no clue: the default
    found = analyzer.analyze_batch(
        ["My DOB is 03/12/1985, thanks.", "née le 03/12/1985, merci."], "auto"
    )
    assert [[s.entity_type for s in spans] for spans in found] == [
        ["DATE_OF_BIRTH"],
        ["DATE_OF_BIRTH"],
    ]


def test_a_language_off_in_the_policy_is_refused(analyzer: PiiAnalyzer) -> None:
    with pytest.raises(ValueError, match="language: de is not one of fr, en, auto"):
        analyzer.analyze_batch(["Hallo"], "de")


def test_nothing_in_nothing_out(analyzer: PiiAnalyzer) -> None:
    assert analyzer.analyze_batch([]) == []
    assert analyzer.redact_batch(["", "rien à signaler"]) == [
        analyzer.redact_batch([""])[0],
        analyzer.redact_batch(["rien à signaler"])[0],
    ]
    assert analyzer.redact_batch(["rien à signaler"])[0].entity_types == ()


def _ner_found(analyzer: PiiAnalyzer, text: str, language: str) -> set[tuple[str, str]]:
    spans = analyzer.analyze_batch([text], language)[0]
    return {(s.entity_type, text[s.start : s.end]) for s in spans}


def test_english_ner_places_organisations_and_dates(analyzer: PiiAnalyzer) -> None:
    found = _ner_found(
        analyzer,
        "I work at Acme Corp in Denver since March 2019. Order 8062965 is late.",
        "en",
    )
    assert {
        ("ORGANIZATION", "Acme Corp"),
        ("LOCATION", "Denver"),
        ("DATE_TIME", "March 2019"),
    } <= found
    # An order number is no year, a duration no date, a code no organisation.
    codes = (
        "Dear Customer Services, Invoice INV-571564 and SKU-47768-K: see BIC ADCMGBM1."
    )
    assert _ner_found(analyzer, codes, "en") == set()
    assert ("ORGANIZATION", "Social Security") not in _ner_found(
        analyzer, "Social Security number 536-90-4399 is on the W-9.", "en"
    )
    assert not any("8062965" in value for _, value in found)
    assert not any(
        kind == "DATE_TIME"
        for kind, _ in _ner_found(analyzer, "It took two weeks.", "en")
    )


def test_english_names_typed_in_lower_case(analyzer: PiiAnalyzer) -> None:
    text = "My name is john smith and I moved to London"
    assert ("PERSON", "john smith") in _ner_found(analyzer, text, "en")


def test_french_ner_keeps_places_and_drops_headings(analyzer: PiiAnalyzer) -> None:
    found = _ner_found(
        analyzer, "Mme Durand travaille chez Renault à Boulogne-Billancourt.", "fr"
    )
    assert {
        ("PERSON", "Durand"),
        ("ORGANIZATION", "Renault"),
        ("LOCATION", "Boulogne-Billancourt"),
    } <= found
    heading = "Situation financière Ictère résolutif Orientation vers un bilan"
    assert _ner_found(analyzer, heading, "fr") == set()


def test_french_towns_named_like_words_and_headings_in_capitals(
    analyzer: PiiAnalyzer,
) -> None:
    found = _ner_found(analyzer, "Née à Tours, elle vit à Orange.", "fr")
    assert {("LOCATION", "Tours"), ("LOCATION", "Orange")} <= found
    assert _ner_found(analyzer, "HISTOIRE DE LA MALADIE :", "fr") == set()


def test_ner_spans_stop_at_field_breaks(analyzer: PiiAnalyzer) -> None:
    # The model reads the address, the dash and the e-mail as one place; the
    # longer span would then hide the e-mail from redaction.
    text = "Adresse : 3 rue de la Paix 75002 Paris - contact@clinique-paix.fr"
    found = _ner_found(analyzer, text, "fr")
    assert ("EMAIL_ADDRESS", "contact@clinique-paix.fr") in found
    assert not any("@" in value for kind, value in found if kind != "EMAIL_ADDRESS")


def test_a_narrowed_policy_finds_only_its_entities() -> None:
    # One recognizer may find several types (labelled NIR and patient numbers):
    # a deployment that keeps one of them gets that one only.
    narrowed = PiiAnalyzer(PiiPolicy(entities=("PATIENT_ID",)))
    text = "IPP : 8001234567, n° sécu 1 84 12 76 451 089 46, Marie Dupont"
    spans = narrowed.analyze_batch([text], "fr")[0]
    assert [(s.entity_type, text[s.start : s.end]) for s in spans] == [
        ("PATIENT_ID", "8001234567")
    ]
