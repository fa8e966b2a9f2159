"""Span metrics on hand-made cases, and the soundness of the shipped PII corpus."""

import re
from collections import Counter
from pathlib import Path

import pytest
from stdnum import iban, luhn
from stdnum.fr import nir, siren, siret, tva

from bench.pii_metrics import (
    ANY,
    GoldSpan,
    LabelledText,
    Scores,
    format_table,
    iou,
    load_corpus,
    score,
)

DATA = Path(__file__).resolve().parents[2] / "bench" / "pii_data"
FILES = sorted(DATA.glob("*.jsonl"))


def counts(s: Scores) -> tuple[int, int, int]:
    return s.tp, s.fp, s.fn


def span(kind: str, start: int, end: int) -> GoldSpan:
    return GoldSpan(kind, start, end)


# --- iou ---------------------------------------------------------------------


def test_iou_identical_disjoint_and_partial():
    assert iou(0, 10, 0, 10) == 1.0
    assert iou(0, 5, 5, 10) == 0.0
    assert iou(0, 10, 5, 15) == pytest.approx(5 / 15)
    assert iou(0, 10, 2, 6) == pytest.approx(0.4)
    assert iou(3, 3, 3, 3) == 0.0


# --- score -------------------------------------------------------------------


def test_exact_match():
    result = score([[span("EMAIL_ADDRESS", 4, 20)]], [[span("EMAIL_ADDRESS", 4, 20)]])
    assert counts(result["EMAIL_ADDRESS"]) == (1, 0, 0)
    assert counts(result[ANY]) == (1, 0, 0)
    assert result[ANY].precision == result[ANY].recall == result[ANY].f1 == 1.0


def test_iou_threshold_0_4_misses_and_0_6_matches():
    gold = [[span("PERSON", 0, 10)]]
    low = score(gold, [[span("PERSON", 0, 4)]])  # IoU 0.4
    high = score(gold, [[span("PERSON", 0, 6)]])  # IoU 0.6
    assert counts(low["PERSON"]) == (0, 1, 1)
    assert counts(low[ANY]) == (0, 1, 1)
    assert counts(high["PERSON"]) == (1, 0, 0)
    assert counts(high[ANY]) == (1, 0, 0)


def test_wrong_type_counts_in_any_only():
    result = score([[span("FR_SIREN", 5, 16)]], [[span("PHONE_NUMBER", 5, 16)]])
    assert counts(result["FR_SIREN"]) == (0, 0, 1)
    assert counts(result["PHONE_NUMBER"]) == (0, 1, 0)
    assert counts(result[ANY]) == (1, 0, 0)


def test_one_to_one_two_predictions_over_one_gold():
    gold = [[span("PERSON", 0, 10)]]
    predicted = [[span("PERSON", 0, 10), span("PERSON", 1, 10)]]
    result = score(gold, predicted)
    assert counts(result["PERSON"]) == (1, 1, 0)
    assert counts(result[ANY]) == (1, 1, 0)


def test_greedy_takes_the_highest_iou_pair_first():
    # Overlapping gold spans (nested annotations): p1 fits g1 exactly (IoU 1.0)
    # and g0 well (0.83); p0 fits only g0 (0.5). Taking (g1, p1) first leaves
    # (g0, p0): two true positives. Matching g0 to its best prediction first
    # would strand g1 and give one.
    gold = [[span("X", 0, 10), span("X", 0, 12)]]
    predicted = [[span("X", 3, 8), span("X", 0, 12)]]
    assert iou(0, 10, 3, 8) == 0.5
    assert iou(0, 12, 3, 8) < 0.5
    assert iou(0, 10, 0, 12) > iou(0, 10, 3, 8)
    assert counts(score(gold, predicted)["X"]) == (2, 0, 0)


def test_matching_is_per_text():
    gold = [[span("IP_ADDRESS", 0, 11)], []]
    predicted = [[], [span("IP_ADDRESS", 0, 11)]]
    assert counts(score(gold, predicted)["IP_ADDRESS"]) == (0, 1, 1)


def test_empty_texts_and_undefined_ratios():
    result = score([[], []], [[], []])
    assert list(result) == [ANY]
    assert counts(result[ANY]) == (0, 0, 0)
    assert (result[ANY].precision, result[ANY].recall, result[ANY].f1) == (0, 0, 0)
    assert score([], [])[ANY].f1 == 0.0


def test_types_are_listed_first_and_unknown_predictions_still_count():
    gold = [[span("PERSON", 0, 5)]]
    predicted = [[span("PERSON", 0, 5), span("FR_NIR", 10, 25)]]
    result = score(gold, predicted, types=["PERSON", "EMAIL_ADDRESS"])
    assert list(result) == ["PERSON", "EMAIL_ADDRESS", "FR_NIR", ANY]
    assert counts(result["EMAIL_ADDRESS"]) == (0, 0, 0)
    assert counts(result["FR_NIR"]) == (0, 1, 0)
    assert counts(result[ANY]) == (1, 1, 0)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="1 gold texts but 0 predicted"):
        score([[]], [])


def test_scores_ratios_and_table():
    s = Scores(tp=3, fp=1, fn=2)
    assert s.precision == pytest.approx(0.75)
    assert s.recall == pytest.approx(0.6)
    assert s.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    table = format_table({"PERSON": s, ANY: s})
    assert table.splitlines()[1].split() == [
        "PERSON",
        "3",
        "1",
        "2",
        "0.750",
        "0.600",
        "0.667",
    ]


def test_load_corpus(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"id": "fr-tune-0001", "language": "fr", "template": "t", "text": "Mme Roux", '
        '"entities": [{"type": "PERSON", "start": 4, "end": 8}]}\n\n',
        encoding="utf-8",
    )
    assert load_corpus(path) == [
        LabelledText("fr-tune-0001", "fr", "t", "Mme Roux", (GoldSpan("PERSON", 4, 8),))
    ]


# --- the corpus files --------------------------------------------------------

FR_TYPES = {
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "STREET_ADDRESS", "DATE_OF_BIRTH",
    "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "FR_POSTAL_CODE", "FR_NIR",
    "FR_SIREN", "FR_SIRET", "FR_VAT",
}  # fmt: skip
EN_TYPES = FR_TYPES - {"FR_POSTAL_CODE", "FR_NIR", "FR_SIREN", "FR_SIRET", "FR_VAT"}


def card_ok(value: str) -> bool:
    number = re.sub(r"[ -]", "", value)
    return len(number) in (15, 16) and luhn.is_valid(number)


VALIDATORS = {
    "FR_NIR": nir.is_valid,
    "FR_SIREN": siren.is_valid,
    "FR_SIRET": siret.is_valid,
    "FR_VAT": tva.is_valid,
    "IBAN_CODE": iban.is_valid,
    "CREDIT_CARD": card_ok,
    "FR_POSTAL_CODE": lambda v: re.fullmatch(
        r"(0[1-9]|[1-8]\d|9[0-5])\d{3}|97\d{3}", v
    ),
}


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[LabelledText]]:
    return {path.stem: load_corpus(path) for path in FILES}


def test_all_four_files_exist():
    assert [p.name for p in FILES] == [
        "en_holdout.jsonl", "en_tune.jsonl", "fr_holdout.jsonl", "fr_tune.jsonl",
    ]  # fmt: skip


def test_offsets_valid_sorted_and_non_overlapping(corpus):
    for texts in corpus.values():
        for t in texts:
            end = 0
            for e in t.entities:
                assert end <= e.start < e.end <= len(t.text), t.id
                value = t.text[e.start : e.end]
                assert value == value.strip(), t.id
                end = e.end


def test_ids_unique_sizes_and_languages(corpus):
    ids = [t.id for texts in corpus.values() for t in texts]
    assert len(ids) == len(set(ids))
    for name, texts in corpus.items():
        lang, split = name.split("_")
        assert len(texts) >= 700, name
        assert {t.language for t in texts} == {lang}
        assert all(t.id.startswith(f"{lang}-{split}-") for t in texts)
        no_pii = sum(1 for t in texts if not t.entities)
        assert 0.2 <= no_pii / len(texts) <= 0.3, name


def test_types_and_coverage(corpus):
    for name, texts in corpus.items():
        expected = FR_TYPES if name.startswith("fr") else EN_TYPES
        found = Counter(e.type for t in texts for e in t.entities)
        assert set(found) == expected, name
        assert min(found.values()) >= 60, (name, found)


def test_tune_and_holdout_templates_disjoint(corpus):
    for lang in ("fr", "en"):
        tune = {t.template for t in corpus[f"{lang}_tune"]}
        holdout = {t.template for t in corpus[f"{lang}_holdout"]}
        assert not tune & holdout
        assert len(tune) >= 300
        assert len(holdout) >= 300


def test_identifier_values_pass_their_checksums(corpus):
    checked = Counter()
    for texts in corpus.values():
        for t in texts:
            for e in t.entities:
                check = VALIDATORS.get(e.type)
                if check is not None:
                    assert check(t.text[e.start : e.end]), (t.id, e)
                    checked[e.type] += 1
    assert set(checked) == set(VALIDATORS)
