"""The spaCy side of detection: which pipeline per language, loaded once, bounded.

Only the named-entity recognizer of each pipeline runs: Presidio's default
spaCy engine runs the whole pipeline (tagger, parser, lemmatizer) for the one
thing it reads, the entities, and that costs two thirds of its time. Context
words are matched against lower-cased tokens instead of lemmas. Pipelines are
pip packages, never downloaded at run time (Presidio's engine downloads a
missing model on its own). A language without a pipeline gets spaCy's blank
tokenizer: pattern recognizers and context words only.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager

import spacy
from presidio_analyzer.nlp_engine import (
    NerModelConfiguration,
    NlpArtifacts,
    SpacyNlpEngine,
)
from spacy.language import Language
from spacy.tokens import Doc

# What each pipeline's labels mean to us. French (WikiNER): PER, LOC, ORG,
# MISC. English (OntoNotes): PERSON, GPE, LOC, FAC, ORG, DATE, TIME, and
# labels that are not personal data by themselves (NORP, MONEY, CARDINAL...).
# MISC is mostly events, works and nationalities: not kept.
NER_LABELS = {
    "PER": "PERSON",
    "PERSON": "PERSON",
    "LOC": "LOCATION",
    "GPE": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
}
NER_ENTITIES = tuple(dict.fromkeys(NER_LABELS.values()))
NER_CONFIGURATION = NerModelConfiguration(
    model_to_presidio_entity_mapping=NER_LABELS,
    labels_to_ignore=[
        "MISC",
        "NORP",
        "EVENT",
        "PRODUCT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
        "PERCENT",
        "MONEY",
        "QUANTITY",
        "ORDINAL",
        "CARDINAL",
    ],
)


_NOT_NER = ("tok2vec", "transformer", "morphologizer", "tagger", "parser", "senter",
            "attribute_ruler", "lemmatizer", "entity_linker", "textcat")  # fmt: skip


class PiiModelMissing(RuntimeError):  # noqa: N818 - reads as what happened
    """A spaCy pipeline named in the policies is not installed."""


def load_pipeline(name: str | None, language: str) -> Language:
    """The named pipeline with only its NER, or a blank tokenizer for None.

    Raises:
        PiiModelMissing: The package is not installed (it is never downloaded).
    """
    nlp = spacy.blank(language) if name is None else _load_ner(name)
    # Inside a memory zone the tokenizer caches nothing, so every word is split
    # from scratch; words seen outside one stay cached. The stop words are
    # most of any text: cache them once.
    stop_words = sorted(nlp.Defaults.stop_words)
    nlp.make_doc(" ".join(stop_words + [w.capitalize() for w in stop_words]))
    return nlp


def _load_ner(name: str) -> Language:
    if not spacy.util.is_package(name):
        raise PiiModelMissing(
            f"spaCy pipeline {name} is not installed; install it as a package "
            f"(pip install {name.replace('_', '-')}); never downloaded at run time"
        )
    # NER in spaCy's news pipelines listens to its own embedding layer, so
    # every other component can stay on disk (unknown names are ignored).
    nlp = spacy.load(name, exclude=list(_NOT_NER))
    if "ner" not in nlp.pipe_names:
        raise PiiModelMissing(f"spaCy pipeline {name} has no named-entity recognizer")
    return nlp


class GatewayNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine, NER only, batched, with a bounded vocabulary.

    spaCy adds every new word it sees to the pipeline's string store and never
    forgets one, so a process reading free text for weeks grows without end.
    Callers analyse each batch inside `memory_zone`, which frees what the batch
    added (spaCy 3.8's memory zones, made for long-running services).
    """

    def __init__(self, models: Mapping[str, str | None]) -> None:
        super().__init__(
            models=[{"lang_code": k, "model_name": v or ""} for k, v in models.items()],
            ner_model_configuration=NER_CONFIGURATION,
        )
        self.model_names = dict(models)

    def load(self) -> None:
        """Load each language's pipeline (only its NER), never downloading one."""
        self.nlp = {
            language: load_pipeline(name, language)
            for language, name in self.model_names.items()
        }

    def has_ner(self, language: str) -> bool:
        """Whether the language's pipeline finds names (it has a model)."""
        return self.model_names.get(language) is not None

    def memory_zone(self, language: str) -> AbstractContextManager[object]:
        """A block whose new strings and lexemes are freed when it ends.

        Docs and artifacts made inside must not be used after it.
        """
        return self._pipeline(language).memory_zone()

    def process_batch(  # type: ignore[override]
        self,
        texts: Sequence[str],
        language: str,
        batch_size: int = 64,
        n_process: int = 1,
        as_tuples: bool = False,
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        """Run the pipeline over many texts at once (`nlp.pipe`)."""
        del n_process, as_tuples  # one process: the gateway owns its cores
        nlp = self._pipeline(language)
        for doc in nlp.pipe(texts, batch_size=batch_size):
            yield doc.text, self._doc_to_nlp_artifact(doc, language)

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        """One text through the pipeline (Presidio's per-text path)."""
        return next(self.process_batch([text], language))[1]

    def tokenize(self, texts: Sequence[str], language: str) -> list[NlpArtifacts]:
        """Tokens only, no NER: what the pattern path needs for context words."""
        nlp = self._pipeline(language)
        return [self._doc_to_nlp_artifact(nlp.make_doc(t), language) for t in texts]

    def _pipeline(self, language: str) -> Language:
        if not self.nlp:
            self.load()
        assert self.nlp is not None  # noqa: S101 - load() set it
        return self.nlp[language]

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        entities = [e for e in doc.ents if e.label_ in NER_LABELS]
        for entity in entities:
            entity.label_ = NER_LABELS[entity.label_]
        scores = [NER_CONFIGURATION.default_score] * len(entities)
        starts, lowered, keywords = [], [], []
        for token in doc:  # one pass: each Token is a new Python object
            starts.append(token.idx)
            lowered.append(token.lower_)
            if not (token.is_stop or token.is_punct):
                keywords.append(token.lower_)
        artifacts = NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=starts,
            # No lemmatizer runs: context words match the lower-cased token.
            lemmas=lowered,
            nlp_engine=None,  # keywords below, from the tokens' own flags
            language=language,
            scores=scores,
        )
        # Presidio looks every lemma up in the vocabulary again to drop stop
        # words and punctuation; the tokens already carry both flags.
        artifacts.keywords = keywords
        artifacts.nlp_engine = self
        return artifacts
