"""Deterministic synthetic "customers" records and consent events for the benches.

Every person is unique (customer_id, email, phone all derive from a running
index), values are drawn from a seeded `random.Random`, so two runs with the
same seed send the same bytes. No `comment` (free text) and no special-category
field: the bench measures the structured path.
"""

import random
from typing import Any

FIRST = [
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Zoé",
    "Jade",
    "Louise",
    "Lucas",
    "Hugo",
    "Théo",
    "Nathan",
    "Louis",
    "Gabriel",
    "Raphaël",
    "Jules",
    "Émilie",
    "Noémie",
    "Maël",
    "Anaïs",
]
LAST = [
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
]
STREETS = [
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard Victor Hugo",
    "rue Pasteur",
    "place de la Mairie",
    "chemin des Écoliers",
    "rue du Moulin",
]
CITIES = [
    ("75011", "Paris"),
    ("69003", "Lyon"),
    ("13005", "Marseille"),
    ("31000", "Toulouse"),
    ("33000", "Bordeaux"),
    ("59000", "Lille"),
    ("44000", "Nantes"),
    ("67000", "Strasbourg"),
    ("35000", "Rennes"),
]
GENDERS = ["female", "male", "other", "unknown"]
TIERS = ["none", "bronze", "silver", "gold", "platinum"]


def _strip(text: str) -> str:
    table = str.maketrans("éèëêàâäîïôöûüç", "eeeeaaaiioouuc")
    return text.lower().translate(table)


def person(rng: random.Random, n: int, tag: str) -> dict[str, Any]:
    """Record number `n` of a run tagged `tag`: unique identifiers, seeded values."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    postal, city = rng.choice(CITIES)
    digits = f"{n:08d}"
    # Half E.164, half national French writing, so the phone parser does real work.
    phone = (
        f"+336{digits}"
        if n % 2
        else f"06 {digits[0:2]} {digits[2:4]} {digits[4:6]} {digits[6:8]}"
    )
    return {
        "source_id": f"src-{tag}-{n:08d}",
        "customer_id": f"CUST-{tag}-{n:08d}",
        "email": f"{_strip(first)}.{_strip(last)}.{tag}{n}@example.com",
        "phone": phone,
        "first_name": first,
        "last_name": last,
        "street": f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
        "birth_date": f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-"
        f"{rng.randint(1, 28):02d}",
        "postal_code": postal,
        "city": city,
        "gender": rng.choice(GENDERS),
        "loyalty_tier": rng.choice(TIERS),
    }


def people(seed: int, start: int, count: int, tag: str = "b") -> list[dict[str, Any]]:
    """`count` records numbered from `start`; the seed fixes every drawn value."""
    rng = random.Random(seed * 1_000_003 + start)
    return [person(rng, n, tag) for n in range(start, start + count)]


def consent_event(record: dict[str, Any]) -> dict[str, Any]:
    """A segmentation grant under the record's customer_id."""
    return {
        "identifier_type": "customer_id",
        "identifier": record["customer_id"],
        "purpose": "segmentation",
        "status": "granted",
        "timestamp": "2026-01-01T10:00:00Z",
        "source": "cmp:bench",
    }


def batches(items: list[Any], size: int) -> list[list[Any]]:
    """Split into lists of at most `size`."""
    return [items[i : i + size] for i in range(0, len(items), size)]
