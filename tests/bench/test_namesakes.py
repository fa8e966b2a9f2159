import functools
import random

import pytest

import pipelines.fs_comparisons as fs_comparisons
import pipelines.fs_link as fs_link_module
from bench.namesakes import (
    Population,
    Spec,
    pairs_of,
    population,
    scored,
    transposed,
    typo,
)
from gateway.linkage.fields import encoded_frame
from pipelines.fs_link import fs_link

SMALL = Spec(households=1000, cities=3, common_strangers=200)


@pytest.fixture(scope="module")
def pop() -> Population:
    return population(3, SMALL)


def test_the_same_seed_gives_the_same_rows() -> None:
    assert population(5, SMALL).rows == population(5, SMALL).rows
    assert population(5, SMALL).rows != population(6, SMALL).rows


def test_the_population_holds_the_hard_cases(pop: Population) -> None:
    people = list(pop.people.values())
    by_home: dict[str, list[str]] = {}
    for p in people:
        by_home.setdefault(p.household, []).append(p.person)
    pairs = [
        (pop.people[a], pop.people[b])
        for members in by_home.values()
        for a, b in zip(members, members[1:], strict=False)
    ]
    assert any(a.birth_date == b.birth_date for a, b in pairs)  # twins
    assert any(a.first_name == b.first_name for a, b in pairs)  # juniors
    assert pop.movers
    names = [(p.first_name, p.last_name, p.city) for p in people]
    assert len(names) - len(set(names)) > 50  # namesakes in one city
    assert len(pairs_of(pop.person_of.items())) > 0.3 * len(people)


def test_typos_are_small_and_dates_stay_valid() -> None:
    draw = random.Random(1)  # noqa: S311 - test data
    for _ in range(200):
        wrong = typo(draw, "jennifer")
        assert abs(len(wrong) - len("jennifer")) <= 1
        date = transposed(draw, "1987-05-12")
        year, month, day = (int(x) for x in date.split("-"))
        assert 1 <= month <= 12
        assert 1 <= day <= 28
        assert 1900 <= year <= 2020


def test_namesakes_families_and_twins_are_mostly_kept_apart(pop: Population) -> None:
    entities, model = fs_link(encoded_frame(pop.rows, bytes(range(32))))
    score = scored(
        pop, dict(zip(entities["record_id"], entities["entity_id"], strict=True))
    )
    truth = len(pairs_of(pop.person_of.items()))
    # The model before issue 13 merged whole households here (P about 0.57).
    assert score.precision >= 0.95
    assert score.recall >= 0.93
    assert score.false_pairs["family"] <= 0.01 * truth
    assert score.false_pairs["namesakes at one address"] <= 0.01 * truth
    # At one address, a shared surname is the rule, not evidence; a shared
    # birth date is rarer (twins) but far commoner than between strangers.
    assert model.level("last_name", "exact (same address)").u > 0.8
    assert model.level("last_name", "exact").u < 0.05
    home_birth = model.level("birth_date", "exact (same address)").u
    assert home_birth > 10 * model.level("birth_date", "exact").u


def _street_typos(pop: Population) -> list[tuple[str, str]]:
    """One person's record pairs whose street name differs at one house number."""
    rows = {str(r["record_id"]): r for r in pop.rows}

    def number(street: str | None) -> str | None:
        head = (street or "").split(" ", 1)[0]
        return head if head.isdigit() else None

    pairs = []
    for a, b in pairs_of(pop.person_of.items()):
        x, y = rows[a], rows[b]
        if (
            x["street"] != y["street"]
            and number(x["street"]) is not None
            and number(x["street"]) == number(y["street"])
            and x["postal_code"] == y["postal_code"]
            and x["city"] == y["city"]
        ):
            pairs.append((a, b))
    return pairs


def test_a_street_mistyped_at_its_house_number_is_linked(
    pop: Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    # By the street's filter alone, "225 smiht shoals" is as close to "225
    # smith shoals" as a neighbour's "87 smith shoals" is: the house number
    # tells a typo from a neighbour.
    frame = encoded_frame(pop.rows, bytes(range(32)))
    typos = _street_typos(pop)
    assert len(typos) >= 30

    def linked() -> tuple[float, float]:
        entities, _ = fs_link(frame)
        entity = dict(zip(entities["record_id"], entities["entity_id"], strict=True))
        share = sum(entity[a] == entity[b] for a, b in typos) / len(typos)
        return share, scored(pop, entity).precision

    with_number, precision = linked()
    monkeypatch.setattr(
        fs_link_module,
        "splink_settings",
        functools.partial(fs_comparisons.splink_settings, number=False),
    )
    without_number, _ = linked()
    assert with_number >= 0.98
    assert without_number <= with_number - 0.05
    assert precision >= 0.95
