"""The linkage attacks of bench/linkage_attack.py are real: they find what leaks.

A small population (3,000 people) under one linkage key: frequency alignment
re-identifies many surnames on the plain hash column, nothing on unique
ciphertexts or with a frequency list that does not match the population.
"""

import random
from collections import Counter

import pytest

from bench.linkage_attack import (
    BigramAttack,
    bigram_attack,
    bit_matrix,
    blip,
    frequency_alignment,
    population,
    sample_list,
    score,
    stored_form,
    true_lists,
)
from gateway.linkage.fields import FieldEncoder, FieldSpec
from gateway.linkage.text import fold_text

PEOPLE = 3000
SEED = 11


@pytest.fixture(scope="module")
def people() -> list[dict[str, str]]:
    return population(PEOPLE, SEED)


@pytest.fixture(scope="module")
def key() -> bytes:
    return random.Random(SEED).randbytes(32)  # noqa: S311 -- a test key, fixed


@pytest.fixture(scope="module")
def encodings(people: list[dict[str, str]], key: bytes) -> list[dict[str, object]]:
    encode = FieldEncoder(key)
    return [encode(p) for p in people]


@pytest.fixture(scope="module")
def plain(people: list[dict[str, str]], key: bytes) -> list[bytes]:
    """Surname filters without the diffusion layer (the keyed permutation only)."""
    encode = FieldEncoder(key, FieldSpec(diffusion=1))
    return [encode.bloom("last_name", p["last_name"]) or b"" for p in people]


@pytest.fixture(scope="module")
def surnames(people: list[dict[str, str]]) -> list[str]:
    return [fold_text(p["last_name"]) for p in people]


def test_population_is_seeded_and_drawn_by_census_weight(people):
    assert population(50, SEED) == population(50, SEED)
    assert population(50, SEED) != population(50, SEED + 1)
    counts = Counter(p["last_name"] for p in people)
    _, public = true_lists()
    top = [name for name, _ in sorted(public, key=lambda p: -p[1])[:5]]
    # Smith is 2.2% of the census list: it must be among the commonest here.
    assert fold_text(counts.most_common(1)[0][0]) in top
    assert len({p["record_id"] for p in people}) == PEOPLE


def test_alignment_reidentifies_surnames_on_the_hash_column(encodings, surnames):
    column = [e["last_name_h"] for e in encodings]
    exact = sample_list(surnames)
    guesses = frequency_alignment(column, exact)
    known = score(column, guesses, surnames)
    # Knowing the exact counts, every surname whose count no other shares falls.
    counts = Counter(surnames)
    alone = {n for n, c in counts.items() if list(counts.values()).count(c) == 1}
    assert len(alone) >= 10
    assert all(g == t for g, t in zip(guesses, surnames, strict=True) if t in alone)
    # Far above chance (the sum of squared shares, about 0.4% here).
    chance = sum((c / PEOPLE) ** 2 for c in counts.values())
    assert known.records > 0.15 > 20 * chance
    _, census = true_lists()
    worst = score(column, frequency_alignment(column, census), surnames)
    assert worst.records > 0.05
    # The filter column gives the same groups as the hash column.
    filters = [e["last_name_bf"] for e in encodings]
    same = score(filters, frequency_alignment(filters, exact), surnames)
    assert same.n_distinct == known.n_distinct
    assert same.records == pytest.approx(known.records, abs=0.08)


def test_alignment_finds_nothing_with_a_list_that_does_not_match(encodings, surnames):
    column = [e["last_name_h"] for e in encodings]
    names = [name for name, _ in sample_list(surnames)]
    frequencies = [freq for _, freq in sample_list(surnames)]
    random.Random(1).shuffle(frequencies)  # noqa: S311 -- test data, not secrets
    shuffled = list(zip(names, frequencies, strict=True))
    result = score(column, frequency_alignment(column, shuffled), surnames)
    assert result.records < 0.02


def test_alignment_finds_nothing_on_unique_ciphertexts(surnames):
    draw = random.Random(2)  # noqa: S311 -- test data, not secrets
    unique = [draw.randbytes(28) for _ in surnames]
    result = score(unique, frequency_alignment(unique, sample_list(surnames)), surnames)
    assert result.records < 0.01


def test_sealed_stored_form_is_all_unique(encodings, people, key, surnames):
    sealed = stored_form(encodings, [p["record_id"] for p in people], key)
    assert len(set(sealed)) == len(sealed)
    result = score(sealed, frequency_alignment(sealed, sample_list(surnames)), surnames)
    assert result.records < 0.01


def test_bigram_attack_decodes_more_than_frequency_alignment(plain, surnames):
    filters = plain
    exact = sample_list(surnames)
    guesses, mined = bigram_attack(filters, exact, BigramAttack())
    decoded = score(filters, guesses, surnames)
    aligned = score(filters, frequency_alignment(filters, exact), surnames)
    assert mined > 100
    # Bigram by bigram, rare names fall too, not only those with a count of their own.
    assert decoded.records > 0.5 > 2 * aligned.records
    assert decoded.distinct > 0.5


def test_blip_flips_about_f_of_the_bits(encodings):
    filters = [e["last_name_bf"] for e in encodings[:500]]
    noisy = blip(filters, 0.05, seed=3)
    flipped = (bit_matrix(filters) ^ bit_matrix(noisy)).mean()
    assert flipped == pytest.approx(0.05, abs=0.005)
    assert len(set(noisy)) == len(noisy)


def test_the_stored_diffusion_defeats_the_bigram_attack(plain, encodings, surnames):
    # The attack that decodes most plain filters (the test above) decodes
    # few of the filters as ingestion makes them.
    exact = sample_list(surnames)
    stored = [e["last_name_bf"] for e in encodings]
    guesses, _ = bigram_attack(stored, exact, BigramAttack())
    diffused = score(stored, guesses, surnames)
    guesses, _ = bigram_attack(plain, exact, BigramAttack())
    undiffused = score(plain, guesses, surnames)
    assert diffused.records < 0.5 * undiffused.records
    # Equal names still give equal filters: equality alignment is unchanged.
    assert len(set(stored)) == len(set(plain))
