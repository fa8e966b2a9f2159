"""personas: what each exported segment is, in one record per segment (pure).

A persona is the segment's description (`pipelines.describe`), the themes
of what its members write (`pipelines.themes`, from free-text fields the
policies mark ``free_text``, redacted at ingestion) and, when the run fitted
a propensity model, its members' mean calibrated propensity: aggregates of
at least `k_min` people each, never one person's text or score.
"""

from collections.abc import Mapping
from typing import Any

import polars as pl

from gateway.policy.audiences import Audience
from gateway.policy.models import PolicySet
from pipelines.themes import Theme, ThemeConfig, segment_themes

# Themes need a few thousand comments per segment, not millions: every
# level's segments are themed (fifty or more at a million people), and at
# 2,000 documents and 2,000 terms a segment costs about half a second.
RUN_THEMES = ThemeConfig(max_documents=2_000, max_terms=2_000)
_TEXTS = {"subject_id": pl.String, "text": pl.String}


def free_texts(
    frames: Mapping[str, pl.DataFrame], policies: PolicySet, audience: Audience
) -> pl.DataFrame:
    """Every non-empty free-text value of the audience's datasets, by subject.

    Read from the extracted frames (keyed by dataset name) before the role
    frames drop the fields no segmentation feature reads.

    Returns:
        ``subject_id``, ``text``: one row per value (already redacted).
    """
    parts = [
        frame.select("subject_id", pl.col(field).alias("text"))
        for name in audience.datasets
        if (frame := frames.get(name)) is not None
        for field in policies.datasets[name].fields_of("free_text")
        if field in frame.columns
    ]
    if not parts:
        return pl.DataFrame(schema=_TEXTS)
    texts = pl.concat(parts).cast(_TEXTS)
    return texts.filter(pl.col("text").str.strip_chars() != "")


def member_texts(texts: pl.DataFrame, entities: pl.DataFrame) -> pl.DataFrame:
    """``entity_id``, ``text``: each text under its subject's entity."""
    # A subject is one entity unless the giant-chain guard cut it; then its
    # texts go with the smallest, as its events do.
    by_subject = entities.group_by("subject_id").agg(pl.col("entity_id").min())
    return texts.join(by_subject, on="subject_id").select("entity_id", "text")


def themes_by_segment(
    texts: pl.DataFrame,
    memberships: pl.DataFrame,
    k_min: int,
    config: ThemeConfig = RUN_THEMES,
) -> dict[str, list[Theme]]:
    """The themes of every segment's members' texts, under the floor."""
    if texts.height == 0 or memberships.height == 0:
        return {}
    documents = memberships.select("entity_id", "segment_id").join(
        texts, on="entity_id"
    )
    found: dict[str, list[Theme]] = {}
    for theme in segment_themes(documents, k_min, config):
        found.setdefault(theme.segment_id, []).append(theme)
    return found


def personas(
    segments: pl.DataFrame,
    themes: Mapping[str, list[Theme]],
    memberships: pl.DataFrame,
    scores: pl.DataFrame | None,
) -> list[dict[str, Any]]:
    """One persona per exported segment, in the segment table's order.

    Args:
        segments: ``segment_id``, ``level``, ``size`` and ``description``
            (stored form) of the exported segments.
        themes: `themes_by_segment`.
        memberships: ``entity_id``, ``segment_id`` of the exported segments.
        scores: ``entity_id``, ``propensity`` or None.
    """
    means: dict[str, float] = {}
    if scores is not None and memberships.height:
        means = dict(
            memberships.join(scores, on="entity_id")
            .group_by("segment_id")
            .agg(pl.col("propensity").mean())
            .rows()
        )
    return [
        {
            "segment_id": sid,
            "level": level,
            "size": size,
            "description": description,
            "themes": [
                {"theme": t.theme, "terms": list(t.terms), "members": t.members}
                for t in themes.get(sid, [])
            ],
            "mean_propensity": means.get(sid),
        }
        for sid, level, size, description in segments.select(
            "segment_id", "level", "size", "description"
        ).iter_rows()
    ]
