"""The words a language's dictionary knows, read from its spaCy pipeline.

A lower-case word that no dictionary holds is, in a note, most often a name
("mme krajewski", "admise à l'bct"); a capitalised word the dictionary does
hold is most often a sentence or a heading starting ("Orientation vers...").
The French pipelines ship their lemmatizer's tables: the index of every noun,
verb, adjective and adverb lemma (about 95,000) and the lookup of inflected
forms (about 217,000: "admise", "fatiguée", "urgences"). The word list comes
from the package already installed, not from a list of our own.
"""

from collections.abc import Container
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from pathlib import Path

from spacy.lookups import Lookups, Table


@dataclass(frozen=True)
class Dictionary(Container[str]):
    """Lower-case words known as lemmas or as inflected forms."""

    lemmas: frozenset[str] = frozenset()
    forms: tuple[Table, ...] = field(default=())

    def __contains__(self, word: object) -> bool:
        """Whether the lower-case `word` is a lemma or a form of one."""
        return word in self.lemmas or any(word in table for table in self.forms)

    def __bool__(self) -> bool:
        """False for a language without a dictionary (no checks then)."""
        return bool(self.lemmas)


EMPTY = Dictionary()


@cache
def dictionary(model: str | None) -> Dictionary:
    """The named pipeline's lemmatizer words; empty without a pipeline."""
    if model is None:
        return EMPTY
    package = Path(import_module(model).__file__ or "").parent
    lemmas: set[str] = set()
    forms: list[Table] = []
    for folder in package.glob("*/lemmatizer/lookups"):
        lookups = Lookups().from_disk(folder)
        if "lemma_index" in lookups.tables:
            index = lookups.get_table("lemma_index")
            for key in index:
                lemmas.update(word.lower() for word in index[key])
        if "lemma_lookup" in lookups.tables:
            forms.append(lookups.get_table("lemma_lookup"))
    return Dictionary(frozenset(lemmas), tuple(forms))
