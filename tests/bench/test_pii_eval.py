"""The PII benchmark's instruments: eds-pseudo loader, classes, merging, tokens."""

import json

import pytest

from bench.pii_metrics import (
    ANY,
    CLASS_OF,
    CLASSES,
    PRESIDIO_CLASS_OF,
    GoldSpan,
    Scores,
    coarsen,
    count_matches,
    match_pairs,
    merge_adjacent,
    score,
    token_score,
    tokens,
)
from bench.pii_sets import EDS_FILES, EDS_TYPES, PATIENT_ID, load_eds, parse_eds
from gateway.policy.pii_policy import PII_ENTITIES


def counts(s: Scores) -> tuple[int, int, int]:
    return s.tp, s.fp, s.fn


def span(kind: str, start: int, end: int) -> GoldSpan:
    return GoldSpan(kind, start, end)


def eds_line(text: str, *entities: tuple[int, int, str], note_id: str = "n1") -> str:
    return json.dumps(
        {
            "note_id": note_id,
            "note_text": text,
            "entities": [
                {"start": s, "end": e, "label": lab} for s, e, lab in entities
            ],
        },
        ensure_ascii=False,
    )


# --- eds-pseudo loader -------------------------------------------------------


def test_parse_eds_maps_labels_and_sorts_spans():
    text = "Mme Dupont Jean, née le 8/07/76, vue le 12/03/2024, IPP 8001234567"
    line = eds_line(
        text,
        (40, 50, "DATE"),
        (11, 15, "PRENOM"),
        (4, 10, "NOM"),
        (24, 31, "DATE_NAISSANCE"),
        (56, 66, "IPP"),
        note_id="synthetic_1",
    )
    [item] = parse_eds([line, "", "  \n"])
    assert (item.id, item.language, item.text) == ("synthetic_1", "fr", text)
    assert item.entities == (
        span("PERSON", 4, 10),
        span("PERSON", 11, 15),
        span("DATE_OF_BIRTH", 24, 31),
        span("DATE_TIME", 40, 50),
        span(PATIENT_ID, 56, 66),
    )
    assert [text[s.start : s.end] for s in item.entities] == [
        "Dupont",
        "Jean",
        "8/07/76",
        "12/03/2024",
        "8001234567",
    ]


def test_eds_labels_map_to_our_types_and_classes():
    # Every label eds-pseudo's README names, each to a type the policy knows:
    # surname and first name are both persons, hospital numbers patient ids.
    labels = "NOM PRENOM DATE DATE_NAISSANCE TEL MAIL ADRESSE ZIP VILLE HOPITAL"
    assert set(EDS_TYPES) == {*labels.split(), "SECU", "IPP", "NDA"}
    assert set(EDS_TYPES.values()) <= set(PII_ENTITIES)
    assert EDS_TYPES["NOM"] == EDS_TYPES["PRENOM"] == "PERSON"
    assert EDS_TYPES["IPP"] == EDS_TYPES["NDA"] == PATIENT_ID
    assert CLASS_OF[PATIENT_ID] == "ids"
    assert {CLASS_OF[t] for t in EDS_TYPES.values()} <= set(CLASSES)


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        ((0, 4, "PATIENT"), "unknown eds-pseudo label"),
        ((2, 2, "NOM"), "outside the text"),
        ((0, 99, "NOM"), "outside the text"),
        ((-1, 3, "NOM"), "outside the text"),
    ],
)
def test_parse_eds_rejects_bad_entities(entity, message):
    with pytest.raises(ValueError, match=message):
        parse_eds([eds_line("Jean Dupont", entity)])


def test_load_eds_reads_train_as_tune_and_dev_as_holdout(tmp_path):
    (tmp_path / EDS_FILES["tune"]).write_text(
        eds_line("Dr Martin", (3, 9, "NOM"), note_id="t1") + "\n", encoding="utf-8"
    )
    (tmp_path / EDS_FILES["holdout"]).write_text(
        eds_line("Nice", (0, 4, "VILLE"), note_id="d1") + "\n", encoding="utf-8"
    )
    assert EDS_FILES == {
        "tune": "public_small_train_data.jsonl",
        "holdout": "public_small_dev_data.jsonl",
    }
    [tune] = load_eds("tune", tmp_path)
    [holdout] = load_eds("holdout", tmp_path)
    assert (tune.id, tune.entities) == ("t1", (span("PERSON", 3, 9),))
    assert (holdout.id, holdout.entities) == ("d1", (span("LOCATION", 0, 4),))
    assert tune.template == "eds-pseudo-public_small_train_data"


# --- coarse classes ----------------------------------------------------------


def test_every_policy_type_has_a_class():
    assert {
        t: CLASS_OF.get(t) for t in PII_ENTITIES if CLASS_OF.get(t) not in CLASSES
    } == {}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("PERSON", "person"),
        ("STREET_ADDRESS", "place"),
        ("POSTAL_CODE", "place"),
        ("LOCATION", "place"),
        ("ORGANIZATION", "org"),
        ("DATE_OF_BIRTH", "date"),
        ("DATE_TIME", "date"),
        ("FR_SIRET", "ids"),
        ("US_SSN", "ids"),
        ("URL", "url"),
    ],
)
def test_ours_and_presidio_share_classes(kind, expected):
    assert CLASS_OF[kind] == expected
    assert PRESIDIO_CLASS_OF[kind] == expected


def test_coarsen_drops_none_and_keeps_unknown_types():
    spans = [
        span("DATE_TIME", 0, 5),
        span("NRP", 6, 12),
        span("US_DRIVER_LICENSE", 13, 20),
        span("SOMETHING_NEW", 21, 25),
    ]
    assert coarsen(spans, PRESIDIO_CLASS_OF) == [
        span("date", 0, 5),
        span("ids", 13, 20),
        span("SOMETHING_NEW", 21, 25),
    ]
    # Our mapping knows no NRP: it is kept, so it would count as a false positive.
    assert coarsen([span("NRP", 6, 12)]) == [span("NRP", 6, 12)]


# --- merging adjacent spans of one class --------------------------------------


def test_merge_joins_name_parts_split_by_spaces_or_commas():
    text = "Mme Dupont Jean, vue par Aubrun,  Jean-Luc"
    spans = [
        span("person", 4, 10),
        span("person", 11, 15),
        span("person", 25, 31),
        span("person", 34, 42),
    ]
    assert merge_adjacent(text, spans) == [
        span("person", 4, 15),
        span("person", 25, 42),
    ]


def test_merge_keeps_apart_other_words_other_classes_and_other_punctuation():
    text = "Jean et Paul Martin 0612345678 Lyon - Nice"
    spans = [
        span("person", 0, 4),
        span("person", 8, 19),
        span("phone", 20, 30),
        span("place", 31, 35),
        span("place", 38, 42),
    ]
    assert merge_adjacent(text, spans) == spans


def test_merge_joins_address_parts_and_overlaps_and_sorts():
    text = "12 rue de la Paix, 75002 Paris"
    spans = [span("place", 25, 30), span("place", 0, 17), span("place", 19, 24)]
    assert merge_adjacent(text, spans) == [span("place", 0, 30)]
    overlapping = [span("date", 3, 9), span("person", 0, 2), span("date", 0, 5)]
    assert merge_adjacent("ab cdefghi", overlapping) == [
        span("date", 0, 9),
        span("person", 0, 2),
    ]


def test_merged_name_is_one_hit_where_split_gold_misses_one():
    text = "Dupont Jean"
    gold = [span("person", 0, 6), span("person", 7, 11)]
    predicted = [span("person", 0, 11)]
    assert counts(score([gold], [predicted])["person"]) == (1, 0, 1)
    merged = score([merge_adjacent(text, gold)], [predicted])
    assert counts(merged["person"]) == (1, 0, 0)


def test_match_pairs_returns_the_greedy_pairs():
    gold = [span("x", 0, 10), span("x", 20, 30)]
    predicted = [span("y", 21, 30), span("y", 50, 60), span("y", 0, 9)]
    assert match_pairs(gold, predicted) == [(0, 2), (1, 0)]
    assert count_matches(gold, predicted) == 2


# --- token level -------------------------------------------------------------


def test_tokens_are_runs_of_letters_and_digits():
    text = "Jean-Luc, né_le 06.12 à l'Hôpital"
    assert [text[a:b] for a, b in tokens(text)] == [
        "Jean",
        "Luc",
        "né",
        "le",
        "06",
        "12",
        "à",
        "l",
        "Hôpital",
    ]
    assert tokens(" ,.- ") == []


def test_token_score_counts_tokens_not_spans():
    text = "Appelez Jean Dupont au 06 12 34 56 78."
    gold = [span("PERSON", 8, 19), span("PHONE_NUMBER", 23, 37)]
    # "Jean" only, and a phone span that swallows "au".
    predicted = [span("PERSON", 8, 12), span("PHONE_NUMBER", 20, 37)]
    assert counts(token_score([text], [gold], [predicted])) == (6, 1, 1)
    # At span level the name is a miss (IoU 4/11) and the phone a hit.
    assert counts(score([gold], [predicted])[ANY]) == (1, 1, 1)


def test_token_score_ignores_types_and_counts_one_shared_character():
    text = "IBAN FR7630006000011234567890189 ok"
    gold = [span("IBAN_CODE", 5, 32)]
    assert counts(token_score([text], [gold], [[span("PHONE_NUMBER", 30, 31)]])) == (
        1,
        0,
        0,
    )
    assert counts(token_score([text], [gold], [[span("X", 32, 33)]])) == (0, 0, 1)
    assert counts(token_score([text], [[]], [[span("X", 0, 35)]])) == (0, 3, 0)


def test_token_score_sums_over_texts_and_checks_lengths():
    texts = ["Jean Dupont", "rien"]
    gold = [[span("PERSON", 0, 11)], []]
    predicted = [[span("PERSON", 0, 4)], [span("PERSON", 0, 4)]]
    result = token_score(texts, gold, predicted)
    assert counts(result) == (1, 1, 1)
    assert result.precision == result.recall == result.f1 == 0.5
    with pytest.raises(ValueError, match="2 texts, 1 gold"):
        token_score(texts, gold[:1], predicted)
