"""describe: a short readable label per segment from its feature profile (pure).

A segment is described by what sets it apart from the population: the z-score
of each feature's segment mean, ``(segment mean - population mean) /
population std``. Features at least `threshold` standard deviations away are
traits; the strongest `max_traits` are kept and put in a fixed order, so that
labels read alike: who (age, gender, tier, region), where (channel, device),
then one noun phrase for how they buy, e.g. "young, web, weekend shoppers" or
"in-store, lapsed high spenders".

A segment below level 1 is also told apart from its parent and from its
siblings (the other segments of the same parent, or the other level-1
segments): the same vocabulary applied to the difference between its
centroid and the parent's, and between its centroid and its siblings'
size-weighted mean centroid. Centroids are z-scores against the population,
so these differences are in population standard deviations too: the label
says what the segment has more (or less) of than its parent or siblings.

The vocabulary is data (`_NUMERIC`, `_SHARES`, `_CATEGORIES`): a feature it
does not know is never a trait, so a new feature column changes no label until
someone decides how to say it. Words come from column names and category
values only, never from entity data, and category values are generalized
before features are built (age bands, regions), so no label can name a person.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

FALLBACK = "typical shoppers"
# (slot, word when the segment is above the population, word when below).
# Slots: "recency", "frequency" are adjectives; "basket" and "spend" compete
# for the head noun.
_NUMERIC: dict[str, tuple[str, str | None, str | None]] = {
    "recency_days": ("recency", "lapsed", "recent"),
    "frequency": ("frequency", "frequent", "occasional"),
    "monetary_mean": ("basket", "big baskets", "small baskets"),
    "monetary_total": ("spend", "high spenders", "low spenders"),
}
# Shares only count when over-represented: "less app than average" says little.
_SHARES: dict[str, tuple[str, str]] = {
    "share_channel_web": ("channel", "web"),
    "share_channel_app": ("channel", "app-first"),
    "share_channel_store": ("channel", "in-store"),
    "share_channel_email": ("channel", "email-driven"),
    "share_channel_social": ("channel", "social"),
    "share_device_desktop": ("device", "desktop"),
    "share_device_mobile": ("device", "mobile"),
    "share_device_tablet": ("device", "tablet"),
    "share_daypart_night": ("time", "night-time"),
    "share_daypart_morning": ("time", "morning"),
    "share_daypart_afternoon": ("time", "afternoon"),
    "share_daypart_evening": ("time", "evening"),
    "share_weekend": ("time", "weekend"),
}
_AGE_WORDS = {
    "<18": "under-18",
    "18-24": "young",
    "25-34": "young",
    "35-44": "mid-life",
    "45-54": "mid-life",
    "55-64": "older",
    "65+": "senior",
}
_GENDER_WORDS = {"female": "female", "male": "male"}
# Missing values were imputed to this level: being "unknown" is not a trait.
_UNKNOWN = "unknown"
# One-hot prefixes; the level after "=" becomes the word through the function.
_CATEGORIES: dict[str, tuple[str, Callable[[str], str | None]]] = {
    "age_band": ("age", _AGE_WORDS.get),
    "gender": ("gender", _GENDER_WORDS.get),
    "loyalty_tier": ("tier", lambda v: "non-member" if v == "none" else f"{v}-tier"),
    "region": ("region", lambda v: "from " + v.replace("_", " ")),
}
# Order of the comma-separated words before the noun phrase; region follows it.
_PREFIX_SLOTS = ("age", "gender", "tier", "channel", "device", "category")
# Category share columns are named after the (common, slugged) category label.
_CATEGORY_SHARE = "share_category_"
_ADJECTIVE_SLOTS = ("recency", "frequency", "time")


@dataclass(frozen=True, slots=True)
class _Trait:
    slot: str
    word: str
    strength: float


def describe_profile(
    segment_means: ArrayLike,
    population_means: ArrayLike,
    population_stds: ArrayLike,
    columns: Sequence[str],
    *,
    threshold: float = 0.5,
    max_traits: int = 4,
) -> str:
    """Describe a segment by how its feature means differ from the population.

    Args:
        segment_means: The segment's mean of each feature.
        population_means: The population's mean of each feature.
        population_stds: The population's standard deviation of each feature;
            a zero (constant feature) makes that feature neutral.
        columns: Feature names, in the order of the three arrays.
        threshold: Smallest absolute z-score that makes a trait.
        max_traits: Most traits in the label (the strongest are kept).

    Returns:
        A label such as "app-first, frequent small baskets", or `FALLBACK`
        when nothing stands out.
    """
    means = np.asarray(segment_means, dtype=np.float64)
    centre = np.asarray(population_means, dtype=np.float64)
    spread = np.asarray(population_stds, dtype=np.float64)
    z = np.divide(means - centre, spread, out=np.zeros_like(means), where=spread > 0)
    return describe_z(z, columns, threshold=threshold, max_traits=max_traits)


def describe_z(
    z_scores: ArrayLike,
    columns: Sequence[str],
    *,
    threshold: float = 0.5,
    max_traits: int = 4,
) -> str:
    """Describe a segment from the z-scores of its feature means.

    Args:
        z_scores: One z-score per column (a centroid in standard-scaled space).
        columns: Feature names, in the order of `z_scores`.
        threshold: Smallest absolute z-score that makes a trait.
        max_traits: Most traits in the label (the strongest are kept).

    Returns:
        The label, or `FALLBACK` when nothing stands out.

    Raises:
        ValueError: `z_scores` and `columns` differ in length.
    """
    values = np.asarray(z_scores, dtype=np.float64)
    if values.shape != (len(columns),):
        raise ValueError("one z-score per column is required")
    traits = [
        trait
        for name, z in zip(columns, values.tolist(), strict=True)
        if math.isfinite(z) and abs(z) >= threshold
        if (trait := _trait(name, z)) is not None
    ]
    return _phrase(_strongest(traits, max_traits))


NO_DIFFERENCE = "no marked difference"


def describe_segments(
    segments: pl.DataFrame,
    columns: Sequence[str],
    *,
    threshold: float = 0.5,
    max_traits: int = 4,
) -> pl.DataFrame:
    """Add ``description``, ``versus_parent`` and ``versus_siblings`` columns.

    The centroids must be z-scores (as `pipelines.segment` gives them) in the
    order of `columns`. Run it after the k-anonymity floor: a merge moves the
    centroid, and with it the label. A missing centroid gets no description.
    ``versus_parent`` is null at level 1 (its parent is the population, which
    ``description`` already measures against) and ``versus_siblings`` is null
    for a segment without siblings; siblings share a ``parent_id`` (and a
    ``level``, when given) and are weighted by ``size`` when given.
    """

    def label(z: ArrayLike) -> str:
        return describe_z(z, columns, threshold=threshold, max_traits=max_traits)

    centroids = [
        None if c is None else np.asarray(c, dtype=np.float64)
        for c in segments["centroid"].to_list()
    ]
    ids = segments["segment_id"].to_list()
    parents = _column(segments, "parent_id")
    levels = _column(segments, "level")
    sizes = [1 if s is None else s for s in _column(segments, "size")]
    by_id = dict(zip(ids, centroids, strict=True))
    described, versus_parent, versus_siblings = [], [], []
    for index, centroid in enumerate(centroids):
        if centroid is None:
            described.append(None)
            versus_parent.append(None)
            versus_siblings.append(None)
            continue
        described.append(label(centroid))
        parent = by_id.get(parents[index]) if parents[index] is not None else None
        versus_parent.append(
            None if parent is None else _contrast(label(centroid - parent))
        )
        siblings = [
            other
            for other, c in enumerate(centroids)
            if other != index
            and c is not None
            and parents[other] == parents[index]
            and levels[other] == levels[index]
        ]
        if siblings:
            weights = np.array([sizes[o] for o in siblings], dtype=np.float64)
            rest = np.average([centroids[o] for o in siblings], axis=0, weights=weights)
            versus_siblings.append(_contrast(label(centroid - rest)))
        else:
            versus_siblings.append(None)
    return segments.with_columns(
        pl.Series("description", described, dtype=pl.String),
        pl.Series("versus_parent", versus_parent, dtype=pl.String),
        pl.Series("versus_siblings", versus_siblings, dtype=pl.String),
    )


def _column(segments: pl.DataFrame, name: str) -> list[object]:
    if name in segments.columns:
        return segments[name].to_list()
    return [None] * segments.height


def stored_description(segments: pl.DataFrame) -> pl.Expr:
    """The description destinations read, as an expression over `segments`.

    Against the population, then the parent, then the siblings: each part
    only when the segment has one.
    """
    parts = [
        pl.col("description"),
        pl.when(pl.col("versus_parent").is_not_null()).then(
            pl.format("against its parent: {}", "versus_parent")
        ),
        pl.when(pl.col("versus_siblings").is_not_null()).then(
            pl.format("against its siblings: {}", "versus_siblings")
        ),
    ]
    present = [c for c in ("versus_parent", "versus_siblings") if c in segments.columns]
    if len(present) < 2:
        return pl.col("description")
    return pl.concat_str(parts, separator="; ", ignore_nulls=True).alias("description")


def _contrast(label: str) -> str:
    # Against a parent or siblings, "typical shoppers" means nothing stands out.
    return NO_DIFFERENCE if label == FALLBACK else label


def _trait(name: str, z: float) -> _Trait | None:
    strength = abs(z)
    if name.startswith(_CATEGORY_SHARE) and z > 0:
        label = name.removeprefix(_CATEGORY_SHARE).replace("_", " ")
        return (
            None
            if label == "other"
            else _Trait("category", f"{label}-leaning", strength)
        )
    if name in _NUMERIC:
        slot, high, low = _NUMERIC[name]
        word = high if z > 0 else low
        return None if word is None else _Trait(slot, word, strength)
    if name in _SHARES and z > 0:
        slot, word = _SHARES[name]
        return _Trait(slot, word, strength)
    prefix, sep, value = name.partition("=")
    if sep and prefix in _CATEGORIES and value != _UNKNOWN and z > 0:
        slot, to_word = _CATEGORIES[prefix]
        word = to_word(value)
        return None if word is None else _Trait(slot, word, strength)
    return None


def _strongest(traits: list[_Trait], max_traits: int) -> dict[str, _Trait]:
    """Keep the strongest trait per slot, then the strongest `max_traits`."""
    best: dict[str, _Trait] = {}
    for trait in traits:
        if trait.slot not in best or trait.strength > best[trait.slot].strength:
            best[trait.slot] = trait
    # Basket size and total spend both name the buyer; saying both is clumsy.
    if "basket" in best and "spend" in best:
        weaker = min(("basket", "spend"), key=lambda s: best[s].strength)
        del best[weaker]
    # Ties by slot name keep the label independent of column order.
    ranked = sorted(best.values(), key=lambda t: (-t.strength, t.slot))
    return {trait.slot: trait for trait in ranked[:max_traits]}


def _phrase(traits: dict[str, _Trait]) -> str:
    if not traits:
        return FALLBACK
    words = [traits[slot].word for slot in _PREFIX_SLOTS if slot in traits]
    adjectives = [traits[slot].word for slot in _ADJECTIVE_SLOTS if slot in traits]
    head = traits.get("basket") or traits.get("spend")
    noun = " ".join([*adjectives, head.word if head else "shoppers"])
    if words and not adjectives and not head:
        # "young, web shoppers" rather than "young, web, shoppers".
        words[-1] = f"{words[-1]} {noun}"
    else:
        words.append(noun)
    label = ", ".join(words)
    return f"{label} {traits['region'].word}" if "region" in traits else label
