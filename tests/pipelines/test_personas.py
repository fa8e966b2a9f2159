"""personas: free text by entity, themes per segment, aggregates only."""

import polars as pl

from gateway.policy import load_policies
from pipelines.personas import (
    free_texts,
    member_texts,
    personas,
    themes_by_segment,
)
from tests.databases import POLICIES

POLICY = load_policies(POLICIES)
AUDIENCE = POLICY.audiences["retail_default"]


def test_only_the_free_text_fields_are_read_and_blanks_dropped() -> None:
    frames = {
        "customers": pl.DataFrame(
            {
                "record_id": ["r1", "r2", "r3"],
                "subject_id": ["s1", "s2", "s3"],
                "comment": ["Livraison <PERSON> rapide", "  ", None],
                "gender": ["female", "male", "female"],
            }
        ),
        "events": pl.DataFrame({"record_id": ["e1"], "subject_id": ["s1"]}),
    }
    texts = free_texts(frames, POLICY, AUDIENCE)
    assert texts.to_dicts() == [
        {"subject_id": "s1", "text": "Livraison <PERSON> rapide"}
    ]
    entities = pl.DataFrame(
        {"record_id": ["r1", "r9"], "entity_id": ["E2", "E1"], "subject_id": ["s1"] * 2}
    )
    # A subject cut over two entities gives its texts to the smallest id.
    assert member_texts(texts, entities)["entity_id"].to_list() == ["E1"]


def test_themes_and_mean_propensity_per_segment_under_the_floor() -> None:
    ids = [f"E{i:03d}" for i in range(60)]
    texts = pl.DataFrame(
        {
            "entity_id": ids,
            "text": [
                "livraison rapide <PERSON>" if i % 2 else "remboursement attente"
                for i in range(60)
            ],
        }
    )
    memberships = pl.DataFrame(
        {"entity_id": ids, "segment_id": ["L1-01"] * 40 + ["L1-02"] * 20}
    )
    themes = themes_by_segment(texts, memberships, k_min=15)
    assert set(themes) == {"L1-01"}  # L1-02's terms have 10 users each
    terms = {t for theme in themes["L1-01"] for t in theme.terms}
    assert terms == {"livraison", "rapide", "remboursement", "attente"}
    segments = pl.DataFrame(
        {
            "segment_id": ["L1-01", "L1-02"],
            "level": [1, 1],
            "size": [40, 20],
            "description": ["a", "b"],
        }
    )
    scores = pl.DataFrame({"entity_id": ids, "propensity": [0.5] * 40 + [0.1] * 20})
    found = personas(segments, themes, memberships, scores)
    assert [p["mean_propensity"] for p in found] == [0.5, 0.1]
    assert found[1]["themes"] == []
    assert personas(segments, themes, memberships, None)[0]["mean_propensity"] is None
