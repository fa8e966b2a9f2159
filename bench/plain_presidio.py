"""Plain Presidio, the baseline both PII benchmarks measure us against.

`AnalyzerEngine` on the same spaCy packages as ours, its default recognizers
and entities, never downloading anything: a missing pipeline stops the run,
and its e-mail recognizer reads the public-suffix snapshot inside tldextract
(it would fetch the list otherwise).

Presidio finds its default recognizers by class name among every subclass of
EntityRecognizer loaded in the process (a set: which one wins varies by run),
so a gateway class with a Presidio name would stand in for Presidio's own or
break the build: the search is kept to Presidio's classes, and checked.
"""

from collections.abc import Mapping

import spacy
import spacy.cli
import tldextract
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_analyzer.recognizer_registry.recognizers_loader_utils import (
    RecognizerListLoader,
)


def require_installed(models: Mapping[str, str]) -> None:
    """Stop if a spaCy package is missing: Presidio would download it."""
    missing = [name for name in models.values() if not spacy.util.is_package(name)]
    if missing:
        raise SystemExit(
            f"spaCy package(s) not installed: {', '.join(missing)}; install them "
            "(see spacy-models.txt and pyproject.toml), never downloaded here"
        )


def stay_offline() -> None:
    """No pipeline download, and the bundled public-suffix list for e-mails."""

    def refuse(model: str, *_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"refusing to download spaCy pipeline {model}")

    spacy.cli.download = refuse  # type: ignore[assignment]
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tldextract.extract = offline  # type: ignore[assignment]


def presidio_engine(models: Mapping[str, str]) -> AnalyzerEngine:
    """Presidio out of the box for `models` ({language: spaCy package})."""
    require_installed(models)
    stay_offline()
    config = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": k, "model_name": v} for k, v in models.items()],
    }
    nlp = NlpEngineProvider(nlp_configuration=config).create_engine()
    everything = RecognizerListLoader.get_all_existing_recognizers

    def presidio_only(cls: type | None = None) -> set[type]:
        return {c for c in everything(cls) if c.__module__.startswith("presidio_")}

    RecognizerListLoader.get_all_existing_recognizers = staticmethod(presidio_only)  # type: ignore[method-assign]
    try:
        engine = AnalyzerEngine(nlp_engine=nlp, supported_languages=list(models))
    finally:
        RecognizerListLoader.get_all_existing_recognizers = staticmethod(everything)  # type: ignore[method-assign]
    foreign = [
        type(r).__qualname__
        for r in engine.registry.recognizers
        if not type(r).__module__.startswith("presidio_")
    ]
    if foreign:
        raise SystemExit(f"plain Presidio got non-Presidio recognizers: {foreign}")
    return engine
