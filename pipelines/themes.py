"""themes: what each segment's members write about, from redacted text (pure).

Free text arrives already redacted: every PII span is a typed placeholder
such as ``<PERSON>`` or ``<EMAIL_ADDRESS>``. Placeholders are removed before
anything is counted, so they never become terms (nor do their words:
"email_address" says nothing about a customer's taste).

Per segment, each member's texts make one document; TF-IDF (sublinear term
frequency, French and English stop words, words of two letters or more and
no digits, so order or client numbers never become terms; words in over 90 %
of the documents dropped as saying nothing) feeds an NMF with
a seeded NNDSVDA start. A member's theme is the one with the largest weight
in their row. What is shown follows the audience's floor `k_min`:

- a term must occur in at least `k_min` of the segment's members to enter
  the vocabulary, and in at least `k_min` of a theme's members to be shown
  for that theme;
- a theme must be the main theme of at least `k_min` members;
- a segment with fewer than `k_min` members with text has no themes.

So a rare word, which may be someone's name the redaction missed, is never
printed in a persona.

Stop words: scikit-learn's English list and spaCy's French list
(`spacy.lang.fr.stop_words`), split by the same tokenizer as the text so
elided forms such as "qu'" match what the tokenizer produces.
"""

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from spacy.lang.fr.stop_words import STOP_WORDS as FRENCH_STOP_WORDS
from threadpoolctl import threadpool_limits

# Typed placeholders of the redaction (policies/pii.yaml: `<ENTITY_TYPE>`);
# any case, so a hand-written "<person>" goes too.
PLACEHOLDER = re.compile(r"<[A-Za-z][A-Za-z0-9_]*>")
# Letters only, two or more: no digits, no underscores, no punctuation.
TOKEN = re.compile(r"(?u)\b[^\W\d_]{2,}\b")
_COMMON_SHARE = 0.9


@dataclass(frozen=True)
class ThemeConfig:
    """Parameters of theme extraction.

    Attributes:
        n_themes: Themes per segment at most.
        top_terms: Terms shown per theme at most.
        max_terms: Vocabulary size per segment at most (most frequent first).
        max_documents: Members per segment read at most (a seeded draw):
            themes need thousands of comments, not millions. Counts are then
            of the members drawn, never more than the segment holds, so the
            floor still holds for the whole segment.
        seed: Seed of the NMF and of the draw.
        n_threads: BLAS threads.
    """

    n_themes: int = 5
    top_terms: int = 8
    max_terms: int = 5000
    max_documents: int = 20_000
    seed: int = 20261123
    n_threads: int = 2


@dataclass(frozen=True)
class Theme:
    """One theme of a segment: its top terms and how many members it leads."""

    segment_id: str
    theme: int
    terms: tuple[str, ...]
    members: int

    def as_dict(self) -> dict[str, Any]:
        """Return the theme as JSON values."""
        return asdict(self)


def strip_placeholders(text: str) -> str:
    """Return `text` with every redaction placeholder replaced by a space."""
    return PLACEHOLDER.sub(" ", text)


@cache
def stop_words() -> frozenset[str]:
    """Return the French and English stop words, as the tokenizer splits them."""
    words = (*ENGLISH_STOP_WORDS, *FRENCH_STOP_WORDS)
    return frozenset(token for word in words for token in TOKEN.findall(word.lower()))


def segment_themes(
    texts: pl.DataFrame, k_min: int, config: ThemeConfig | None = None
) -> list[Theme]:
    """Find the themes of each segment's redacted texts, under the floor.

    Args:
        texts: ``segment_id``, ``entity_id``, ``text`` (redacted; nulls
            ignored); several rows per member are joined into one document.
        k_min: The audience's floor: fewest members behind any term or theme
            shown.
        config: The parameters; defaults when None.

    Returns:
        The themes, by segment id, then by members (most first).

    Raises:
        ValueError: `k_min` is under 1.
    """
    cfg = config or ThemeConfig()
    if k_min < 1:
        raise ValueError("k_min must be at least 1")
    documents = (
        texts.drop_nulls("text")
        .with_columns(pl.col("text").str.replace_all(PLACEHOLDER.pattern, " "))
        .group_by("segment_id", "entity_id")
        .agg(pl.col("text").str.join(" "))
        .sort("segment_id", "entity_id")
    )
    themes: list[Theme] = []
    with threadpool_limits(limits=cfg.n_threads):
        for (segment_id,), group in documents.group_by(
            "segment_id", maintain_order=True
        ):
            drawn = group
            if group.height > cfg.max_documents:
                drawn = group.sample(cfg.max_documents, seed=cfg.seed)
            themes += _themes_of(str(segment_id), drawn["text"].to_list(), k_min, cfg)
    return themes


def _themes_of(
    segment_id: str, documents: Sequence[str], k_min: int, cfg: ThemeConfig
) -> list[Theme]:
    if len(documents) < k_min:
        return []
    vectorizer = TfidfVectorizer(
        lowercase=True,
        token_pattern=TOKEN.pattern,
        stop_words=sorted(stop_words()),
        min_df=k_min,
        # A word nearly everyone writes ("commande") names no theme; as a
        # count, so it never falls under min_df on a small segment.
        max_df=max(k_min, int(_COMMON_SHARE * len(documents))),
        max_features=cfg.max_terms,
        sublinear_tf=True,
    )
    try:
        weights = vectorizer.fit_transform(documents)
    except ValueError:
        # scikit-learn's way to say no term is used by k_min members.
        return []
    terms = vectorizer.get_feature_names_out()
    n_themes = min(cfg.n_themes, len(terms), len(documents))
    nmf = NMF(n_themes, init="nndsvda", random_state=cfg.seed, max_iter=500)
    member_weights = nmf.fit_transform(weights)
    leads = np.where(member_weights.max(axis=1) > 0, member_weights.argmax(axis=1), -1)
    used = (weights > 0).tocsr()
    found = []
    for theme in range(n_themes):
        members = np.flatnonzero(leads == theme)
        if len(members) < k_min:
            continue
        shown = _shown_terms(nmf.components_[theme], used[members], k_min, cfg)
        if shown:
            found.append((len(members), tuple(terms[shown])))
    found.sort(key=lambda item: (-item[0], item[1]))
    return [
        Theme(segment_id, number, tuple(str(t) for t in words), count)
        for number, (count, words) in enumerate(found, start=1)
    ]


def _shown_terms(
    loadings: NDArray[np.float64], used: Any, k_min: int, cfg: ThemeConfig
) -> list[int]:
    """The theme's heaviest terms that at least `k_min` of its members use."""
    users = np.asarray(used.sum(axis=0)).ravel()
    ranked = np.argsort(-loadings, kind="stable")
    eligible = [int(t) for t in ranked if loadings[t] > 0 and users[t] >= k_min]
    return eligible[: cfg.top_terms]
