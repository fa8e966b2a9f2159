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

import spacy
from presidio_analyzer.nlp_engine import (
    NerModelConfiguration,
    NlpArtifacts,
    SpacyNlpEngine,
)
from spacy.language import Language
from spacy.tokens import Doc

# The French pipelines label people PER; LOC, ORG and MISC are not personal
# data by themselves (addresses have their own recognizer).
NER_CONFIGURATION = NerModelConfiguration(
    model_to_presidio_entity_mapping={"PER": "PERSON", "PERSON": "PERSON"},
    labels_to_ignore=[
        "LOC",
        "ORG",
        "MISC",
        "GPE",
        "NORP",
        "FAC",
        "EVENT",
        "PRODUCT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
        "DATE",
        "TIME",
        "PERCENT",
        "MONEY",
        "QUANTITY",
        "ORDINAL",
        "CARDINAL",
    ],  # fmt: skip
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
    if name is None:
        return spacy.blank(language)
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
    Past `vocab_growth_limit` new strings the pipeline is loaded again.
    """

    def __init__(
        self, models: Mapping[str, str | None], vocab_growth_limit: int
    ) -> None:
        super().__init__(
            models=[{"lang_code": k, "model_name": v or ""} for k, v in models.items()],
            ner_model_configuration=NER_CONFIGURATION,
        )
        self.model_names = dict(models)
        self.vocab_growth_limit = vocab_growth_limit
        self.reloads = 0
        self._baseline: dict[str, int] = {}

    def load(self) -> None:
        """Load each language's pipeline (only its NER), never downloading one."""
        self.nlp = {}
        for language, name in self.model_names.items():
            self._load_one(language, name)

    def _load_one(self, language: str, name: str | None) -> None:
        pipeline = load_pipeline(name, language)
        assert self.nlp is not None  # noqa: S101 - load() set it
        self.nlp[language] = pipeline
        self._baseline[language] = len(pipeline.vocab.strings)

    def has_ner(self, language: str) -> bool:
        """Whether the language's pipeline finds names (it has a model)."""
        return self.model_names.get(language) is not None

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
        self._bound_vocabulary(language)

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        """One text through the pipeline (Presidio's per-text path)."""
        return next(self.process_batch([text], language))[1]

    def tokenize(self, texts: Sequence[str], language: str) -> list[NlpArtifacts]:
        """Tokens only, no NER: what the pattern path needs for context words."""
        nlp = self._pipeline(language)
        artifacts = [
            self._doc_to_nlp_artifact(nlp.make_doc(t), language) for t in texts
        ]
        self._bound_vocabulary(language)
        return artifacts

    def _pipeline(self, language: str) -> Language:
        if not self.nlp:
            self.load()
        assert self.nlp is not None  # noqa: S101 - load() set it
        return self.nlp[language]

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        entities = [
            e for e in doc.ents if e.label_ not in NER_CONFIGURATION.labels_to_ignore
        ]
        for entity in entities:
            entity.label_ = "PERSON"
        scores = [NER_CONFIGURATION.default_score] * len(entities)
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            # No lemmatizer runs: context words match the lower-cased token.
            lemmas=[token.lower_ for token in doc],
            nlp_engine=self,
            language=language,
            scores=scores,
        )

    def _bound_vocabulary(self, language: str) -> None:
        assert self.nlp is not None  # noqa: S101 - load() set it
        grown = len(self.nlp[language].vocab.strings) - self._baseline[language]
        if grown > self.vocab_growth_limit:
            self._load_one(language, self.model_names[language])
            self.reloads += 1
