"""A synthetic retail population for the demo and the pipeline benchmark (pure).

People belong to behavioural archetypes (how, when and how much they buy),
so that segmentation has real structure to find. Each person is a customer
of one or more partners; a person known to two partners is written twice,
sometimes with a typo, a different e-mail or no phone, so that deduplication
has exact and fuzzy links to make. Everything derives from one seed.
"""

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

FIRST = (
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Zoé",
    "Jade",
    "Louise",
    "Emma",
    "Alice",
    "Lina",
    "Rose",
    "Anna",
    "Mila",
    "Lucas",
    "Hugo",
    "Théo",
    "Nathan",
    "Louis",
    "Gabriel",
    "Raphaël",
    "Jules",
    "Arthur",
    "Adam",
    "Paul",
    "Tom",
    "Noah",
    "Sacha",
    "Maël",
    "Anaïs",
    "Émilie",
    "Noémie",
    "Julien",
    "Nicolas",
    "Sophie",
    "Claire",
    "Pierre",
    "Marie",
)
LAST = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
)
STREETS = (
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard Victor Hugo",
    "rue Pasteur",
    "place de la Mairie",
    "chemin des Écoliers",
    "rue du Moulin",
    "allée des Tilleuls",
    "rue Nationale",
    "avenue de la Gare",
)
CITIES = (
    ("75011", "Paris"),
    ("69003", "Lyon"),
    ("13005", "Marseille"),
    ("31000", "Toulouse"),
    ("33000", "Bordeaux"),
    ("59000", "Lille"),
    ("44000", "Nantes"),
    ("67000", "Strasbourg"),
    ("35000", "Rennes"),
    ("06000", "Nice"),
    ("20000", "Ajaccio"),
    ("97400", "Saint-Denis"),
)
CATEGORIES = ("shoes", "clothing", "beauty", "home", "sports", "books", "toys")
TIERS = ("none", "bronze", "silver", "gold", "platinum")


@dataclass(frozen=True)
class Archetype:
    """How a kind of customer shops; weights are relative."""

    name: str
    weight: float
    channels: dict[str, float]
    devices: dict[str, float]
    hours: tuple[int, int]  # typical purchase hours, UTC
    weekend: float  # probability that an event falls on a weekend
    events: tuple[int, int]  # events per person, min-max
    basket: tuple[float, float]  # purchase amount, mean and spread
    recency_days: tuple[int, int]  # days since the last event, min-max
    ages: tuple[int, int]
    tiers: dict[str, float]
    refund_rate: float = 0.05


ARCHETYPES = (
    Archetype(
        "app-first frequent small baskets", 0.30,
        {"app": 0.8, "web": 0.15, "social": 0.05}, {"mobile": 0.9, "tablet": 0.1},
        (18, 23), 0.35, (12, 30), (18.0, 6.0), (0, 20), (18, 34),
        {"bronze": 0.5, "silver": 0.4, "none": 0.1},
    ),
    Archetype(
        "in-store big spenders", 0.20,
        {"store": 0.85, "web": 0.15}, {"other": 0.8, "desktop": 0.2},
        (10, 17), 0.5, (3, 8), (180.0, 50.0), (5, 90), (45, 70),
        {"gold": 0.5, "platinum": 0.4, "silver": 0.1},
    ),
    Archetype(
        "web weekend browsers", 0.25,
        {"web": 0.85, "email": 0.15}, {"desktop": 0.7, "tablet": 0.3},
        (9, 13), 0.8, (6, 15), (60.0, 20.0), (3, 60), (30, 55),
        {"silver": 0.5, "bronze": 0.3, "gold": 0.2},
    ),
    Archetype(
        "lapsed occasional buyers", 0.25,
        {"web": 0.5, "store": 0.3, "email": 0.2}, {"desktop": 0.5, "mobile": 0.5},
        (12, 20), 0.3, (1, 3), (45.0, 25.0), (200, 400), (25, 75),
        {"none": 0.8, "bronze": 0.2},
        0.25,
    ),
)  # fmt: skip


@dataclass
class Population:
    """What each partner sends: customers, events, consent events."""

    customers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    consents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    people: int = 0
    duplicated: int = 0


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _typo(rng: random.Random, text: str) -> str:
    """One keyboard slip: a swapped, dropped, doubled or replaced letter."""
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    match rng.randrange(4):
        case 0:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        case 1:
            return text[:i] + text[i + 1 :]
        case 2:
            return text[:i] + text[i] + text[i:]
        case _:
            return text[:i] + rng.choice("aeiourstln") + text[i + 1 :]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in folded if c.isalnum())


def _person(rng: random.Random, n: int, now: datetime) -> dict[str, Any]:
    archetype = rng.choices(ARCHETYPES, weights=[a.weight for a in ARCHETYPES])[0]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    postal, city = rng.choice(CITIES)
    age = rng.randint(*archetype.ages)
    born = now.date().replace(year=now.year - age, month=1, day=1) + timedelta(
        days=rng.randrange(365)
    )
    return {
        "n": n,
        "archetype": archetype,
        "first_name": first,
        "last_name": last,
        "email": f"{_ascii(first)}.{_ascii(last)}.{n}@example.org",
        "phone": f"+336{n % 100_000_000:08d}",
        "street": f"{rng.randint(1, 150)} {rng.choice(STREETS)}",
        "postal_code": postal,
        "city": city,
        "birth_date": born.isoformat(),
        "gender": rng.choice(("female", "male", "female", "male", "other", "unknown")),
        "loyalty_tier": _pick(rng, archetype.tiers),
    }


def _as_customer(
    rng: random.Random, person: dict[str, Any], partner: str, copy: int
) -> dict[str, Any]:
    """The person's record at one partner; copies after the first may differ."""
    record = {
        "source_id": f"{partner}-c-{person['n']}",
        "customer_id": f"{partner.upper()}-{person['n']:08d}",
        **{
            key: person[key]
            for key in (
                "email", "phone", "first_name", "last_name", "street",
                "birth_date", "postal_code", "city", "gender", "loyalty_tier",
            )
        },
    }  # fmt: skip
    if copy:
        change = rng.random()
        if change < 0.35:
            record["last_name"] = _typo(rng, record["last_name"])
        elif change < 0.6:
            record["first_name"] = _typo(rng, record["first_name"])
        if rng.random() < 0.4:  # another mailbox at this partner
            record["email"] = (
                f"{_ascii(person['first_name'])}{person['n']}@mail.example"
            )
        if rng.random() < 0.3:
            del record["phone"]
    return record


def _events(
    rng: random.Random, person: dict[str, Any], customer_id: str, partner: str,
    now: datetime,
) -> Iterator[dict[str, Any]]:  # fmt: skip
    kind: Archetype = person["archetype"]
    last = now - timedelta(days=rng.randint(*kind.recency_days))
    favourite = rng.choice(CATEGORIES)
    for i in range(rng.randint(*kind.events)):
        when = last - timedelta(days=rng.expovariate(1 / 20) if i else 0)
        weekend = rng.random() < kind.weekend
        shift = (5 - when.weekday()) % 7 if weekend else 0
        when = (when + timedelta(days=shift)).replace(
            hour=rng.randint(*kind.hours), minute=rng.randrange(60), second=0,
            microsecond=0,
        )  # fmt: skip
        refund = rng.random() < kind.refund_rate
        amount = max(1.0, rng.gauss(*kind.basket))
        yield {
            "source_id": f"{partner}-e-{person['n']}-{i}",
            "customer_id": customer_id,
            "event_type": "refund" if refund else "purchase",
            "amount": round(amount, 2),
            "currency": "EUR",
            "occurred_at": when.isoformat().replace("+00:00", "Z"),
            "channel": _pick(rng, kind.channels),
            "device": _pick(rng, kind.devices),
            "category": favourite if rng.random() < 0.7 else rng.choice(CATEGORIES),
        }


def population(
    people: int,
    partners: tuple[str, ...] = ("shop_a", "shop_b"),
    *,
    seed: int = 7,
    overlap: float = 0.3,
    now: datetime | None = None,
) -> Population:
    """`people` persons spread over `partners`, `overlap` of them at two partners.

    Consent: every customer grants segmentation under its customer_id, except
    about 3 % who never answer; events reuse the customer_id, so they follow
    the customer's consent.
    """
    rng = random.Random(seed)  # noqa: S311 -- synthetic data, not secrets
    now = now or datetime(2026, 11, 1, tzinfo=UTC)
    out = Population(people=people)
    for name in partners:
        out.customers[name], out.events[name], out.consents[name] = [], [], []
    for n in range(people):
        person = _person(rng, n, now)
        homes = [rng.choice(partners)]
        if len(partners) > 1 and rng.random() < overlap:
            homes.append(rng.choice([p for p in partners if p != homes[0]]))
            out.duplicated += 1
        for copy, partner in enumerate(homes):
            record = _as_customer(rng, person, partner, copy)
            out.customers[partner].append(record)
            out.events[partner].extend(
                _events(rng, person, record["customer_id"], partner, now)
            )
            if rng.random() >= 0.03:
                out.consents[partner].append(
                    {
                        "identifier_type": "customer_id",
                        "identifier": record["customer_id"],
                        "purpose": "segmentation",
                        "status": "granted",
                        "timestamp": "2026-01-15T09:00:00Z",
                        "source": "cmp:demo",
                    }
                )
    return out
