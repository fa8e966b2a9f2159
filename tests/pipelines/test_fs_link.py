import functools
import random
import string
from collections.abc import Iterator
from typing import NamedTuple

import duckdb
import polars as pl
import pytest

import pipelines.fs_comparisons as fs_comparisons
import pipelines.fs_link as fs_link_module
import pipelines.fs_table as fs_table
from gateway.linkage.fields import COLUMNS, dice, encoded_frame
from pipelines.fs_household import birth_else_without_namesakes
from pipelines.fs_link import (
    EDGE_SCHEMA,
    FsConfig,
    FsModel,
    LevelParams,
    fs_edges,
    fs_link,
)

KEY = bytes(range(32))
PEOPLE = 800
NAMESAKES = 10
BIRTH_TYPO = 0.05
FIRST_TYPO, LAST_TYPO, STREET_TYPO = 0.2, 0.1, 0.3
Row = dict[str, str | None]


def _word(draw: random.Random, size: int) -> str:
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    return "".join(draw.choice(vowels if i % 2 else consonants) for i in range(size))


def _typo(draw: random.Random, value: str) -> str:
    # One substituted letter inside the longest word, away from its ends.
    word = max(value.split(), key=len)
    start = value.index(word)
    position = start + draw.randrange(1, len(word) - 1)
    letter = draw.choice([c for c in string.ascii_lowercase if c != value[position]])
    return value[:position] + letter + value[position + 1 :]


def _person(
    draw: random.Random, names: tuple[list[str], list[str]], cities: list[str]
) -> Row:
    city = draw.randrange(len(cities))
    return {
        "first_name": draw.choice(names[0]),
        "last_name": draw.choice(names[1]),
        "street": f"{draw.randint(1, 99)} {_word(draw, 8)} street",
        "city": cities[city],
        "postal_code": f"{2000 + 10 * city}",
        "birth_date": f"{draw.randint(1940, 2005)}-{draw.randint(1, 12):02d}-"
        f"{draw.randint(1, 28):02d}",
    }


def _population(
    seed: int, birth_typo: float = BIRTH_TYPO
) -> tuple[list[Row], dict[str, str]]:
    """Two records per person, the second with planted typos; the truth."""
    draw = random.Random(seed)  # noqa: S311 - test data, not secrets
    names = ([_word(draw, 7) for _ in range(60)], [_word(draw, 8) for _ in range(80)])
    cities = [_word(draw, 9) for _ in range(30)]
    rows: list[Row] = []
    truth: dict[str, str] = {}

    def add(person: str, row: Row) -> None:
        record = f"r{len(rows)}"
        rows.append({"record_id": record, **row})
        truth[record] = person

    for p in range(PEOPLE):
        person = _person(draw, names, cities)
        add(f"p{p}", person)
        copy = dict(person)
        for field, rate in (
            ("first_name", FIRST_TYPO),
            ("last_name", LAST_TYPO),
            ("street", STREET_TYPO),
        ):
            if draw.random() < rate:
                copy[field] = _typo(draw, str(copy[field]))
        if draw.random() < birth_typo:
            # One part of the date mistyped: the day, as a clerk would.
            year, month, day = str(copy["birth_date"]).split("-")
            copy["birth_date"] = f"{year}-{month}-{(int(day) % 28) + 1:02d}"
        add(f"p{p}", copy)
    return rows, truth


def _namesakes(seed: int, count: int) -> Iterator[tuple[Row, Row]]:
    """Two people of one name in one town, at two addresses, born decades apart.

    (Namesakes at one address, or with no street on file, are a harder case
    this model does not settle yet: see `pipelines.fs_link`.)
    """
    draw = random.Random(seed)  # noqa: S311 - test data, not secrets
    for _ in range(count):
        first = _person(draw, ([_word(draw, 6)], [_word(draw, 9)]), [_word(draw, 9)])
        other = dict(first)
        other["street"] = f"{draw.randint(100, 199)} {_word(draw, 8)} road"
        year = int(str(first["birth_date"])[:4])
        other["birth_date"] = f"{year + 25 if year < 1980 else year - 25}-07-15"
        yield first, other


class Linked(NamedTuple):
    rows: list[Row]
    truth: dict[str, str]
    entities: pl.DataFrame
    model: FsModel


def _planted() -> tuple[list[Row], dict[str, str]]:
    rows, truth = _population(7)
    for n, (first, other) in enumerate(_namesakes(11, NAMESAKES)):
        for side, row in (("a", first), ("b", other)):
            record = f"n{n}{side}"
            rows.append({"record_id": record, **row})
            truth[record] = record  # every namesake is their own person
    return rows, truth


@pytest.fixture(scope="module")
def linked() -> Linked:
    rows, truth = _planted()
    entities, model = fs_link(encoded_frame(rows, KEY))
    return Linked(rows, truth, entities, model)


@pytest.fixture(scope="module")
def encoded() -> pl.DataFrame:
    return encoded_frame(_planted()[0], KEY)


@pytest.fixture(scope="module")
def scored(encoded: pl.DataFrame) -> tuple[pl.DataFrame, FsModel]:
    return fs_edges(encoded)


def test_every_record_gets_one_entity(linked: Linked) -> None:
    rows, _, entities, _ = linked
    assert entities.columns == ["record_id", "entity_id"]
    assert sorted(entities["record_id"]) == sorted(r["record_id"] for r in rows)


def test_planted_typos_are_linked(linked: Linked) -> None:
    _, truth, entities, _ = linked
    entity = dict(zip(entities["record_id"], entities["entity_id"], strict=True))
    by_person: dict[str, set[str]] = {}
    for record, person in truth.items():
        if person.startswith("p"):
            by_person.setdefault(person, set()).add(entity[record])
    together = sum(len(found) == 1 for found in by_person.values())
    # Both records of nearly every person end up in one entity, typos or not.
    assert together >= 0.98 * PEOPLE


def test_namesakes_with_different_birth_dates_stay_apart(linked: Linked) -> None:
    _, _, entities, _ = linked
    entity = dict(zip(entities["record_id"], entities["entity_id"], strict=True))
    merged = [n for n in range(NAMESAKES) if entity[f"n{n}a"] == entity[f"n{n}b"]]
    assert merged == []


def test_no_two_people_are_merged(linked: Linked) -> None:
    _, truth, entities, _ = linked
    people: dict[str, set[str]] = {}
    for record, found in zip(entities["record_id"], entities["entity_id"], strict=True):
        people.setdefault(found, set()).add(truth[record])
    assert sum(len(p) > 1 for p in people.values()) <= 2


def test_em_recovers_the_planted_m_and_u(linked: Linked) -> None:
    _, _, _, model = linked
    # m of "exact": one minus the planted typo rate on that field.
    for field, rate in (("first_name", FIRST_TYPO), ("last_name", LAST_TYPO)):
        m = model.level(field, "exact").m
        assert m == pytest.approx(1 - rate, abs=0.06), field
    # Street and postcode both equal: the street was not mistyped (postcodes
    # never are here). u: two random people at one address, 1 in ~10,000.
    address = model.level("address", "street+postcode")
    assert address.m == pytest.approx(1 - STREET_TYPO, abs=0.06)
    assert address.u is not None
    assert address.u < 1e-3
    # u of "exact": names drawn uniformly from 60 and 80 values.
    assert model.level("first_name", "exact").u == pytest.approx(1 / 60, rel=0.3)
    assert model.level("last_name", "exact").u == pytest.approx(1 / 80, rel=0.3)
    assert model.level("birth_date", "exact").m == pytest.approx(
        1 - BIRTH_TYPO, abs=0.03
    )
    assert 0 < model.prior < 0.01


def test_no_encoding_or_score_leaves(linked: Linked) -> None:
    _, _, entities, model = linked
    assert not set(entities.columns) & set(COLUMNS)
    assert all(isinstance(level.m, float | None) for level in model.levels)


def test_inputs_are_checked() -> None:
    frame = encoded_frame([{"record_id": "a", "first_name": "x"}], KEY)
    with pytest.raises(ValueError, match="street_bf"):
        fs_link(frame.drop("street_bf"))
    with pytest.raises(ValueError, match="unique"):
        fs_link(pl.concat([frame, frame]))
    with pytest.raises(ValueError, match="match_threshold"):
        fs_link(frame, FsConfig(match_threshold=1.0))
    empty, model = fs_link(frame.clear())
    assert empty.height == 0
    assert model.levels == ()


def test_a_population_without_birth_date_typos_or_households_links() -> None:
    # No birth-date typo at all: the levels between "exact" and "else" are
    # reached by strangers only, and EM drives their m towards 0 (Splink 5
    # refuses an underflowed m: `_em_session` retries). The run must go on,
    # with a usable model.
    rows, _ = _population(5, birth_typo=0.0)
    for row in rows[1::2][:40]:
        row["street"] = None  # less evidence: the namesake-like pairs of EM
    # Without household levels too (FsConfig.households): none in the model.
    entities, model = fs_link(encoded_frame(rows, KEY), FsConfig(households=False))
    assert not [p for p in model.levels if "same address" in p.level]
    assert model.level("birth_date", "exact").m > 0.9
    entity = dict(zip(entities["record_id"], entities["entity_id"], strict=True))
    together = sum(
        entity[f"r{2 * p}"] == entity[f"r{2 * p + 1}"] for p in range(PEOPLE)
    )
    assert together >= 0.98 * PEOPLE


def test_edges_are_ordered_pairs_above_the_threshold(
    scored: tuple[pl.DataFrame, FsModel], linked: Linked
) -> None:
    edges, model = scored
    assert edges.schema == EDGE_SCHEMA
    assert (edges["record_id_l"] < edges["record_id_r"]).all()
    assert edges.select("record_id_l", "record_id_r").is_unique().all()
    assert edges["match_probability"].min() >= FsConfig().match_threshold
    # fs_link is the connected components of these very edges.
    entity = dict(
        zip(linked.entities["record_id"], linked.entities["entity_id"], strict=True)
    )
    assert all(
        entity[a] == entity[b]
        for a, b in zip(edges["record_id_l"], edges["record_id_r"], strict=True)
    )
    # Training again gives the same model, up to the order DuckDB sums in.
    assert [(p.comparison, p.level) for p in model.levels] == [
        (p.comparison, p.level) for p in linked.model.levels
    ]
    assert model.prior == pytest.approx(linked.model.prior, rel=1e-6)


def test_a_saved_model_scores_exactly_as_the_original(
    encoded: pl.DataFrame, scored: tuple[pl.DataFrame, FsModel]
) -> None:
    edges, model = scored
    loaded = FsModel.from_json(model.to_json())
    assert loaded == model
    again, used = fs_edges(encoded, model=loaded)
    assert used is loaded
    assert again.equals(edges)
    # A model is parameters only: no record id, no encoding in it.
    assert encoded["record_id"][0] not in model.to_json()
    assert str(encoded["last_name_h"][0]) not in model.to_json()


def test_new_restricts_pairs_to_those_with_a_new_record(
    encoded: pl.DataFrame, scored: tuple[pl.DataFrame, FsModel]
) -> None:
    edges, model = scored
    fresh = set(encoded["record_id"].sample(300, seed=3))
    flagged = encoded.with_columns(is_new=pl.col("record_id").is_in(fresh))
    incremental, _ = fs_edges(flagged, model=model, new="is_new")
    expected = edges.filter(
        pl.col("record_id_l").is_in(fresh) | pl.col("record_id_r").is_in(fresh)
    )
    assert incremental.height > 0
    assert incremental.equals(expected)
    with pytest.raises(ValueError, match="Boolean"):
        fs_edges(flagged, model=model, new="record_id")


def test_a_model_that_does_not_fit_is_refused(
    encoded: pl.DataFrame, scored: tuple[pl.DataFrame, FsModel]
) -> None:
    _, model = scored
    text = model.to_json().replace('"level": "exact"', '"level": "renamed"', 1)
    with pytest.raises(ValueError, match="no level"):
        fs_edges(encoded, model=FsModel.from_json(text))
    with pytest.raises(ValueError, match="not a"):
        FsModel.from_json('{"prior": 0.1}')


def test_an_empty_frame_gives_no_edges(encoded: pl.DataFrame) -> None:
    edges, model = fs_edges(encoded.clear())
    assert edges.schema == EDGE_SCHEMA
    assert edges.height == 0
    assert model.levels == ()


def test_a_population_without_duplicates_trains_and_links_nobody() -> None:
    # No pair agrees exactly on names and birth date, none shares a street:
    # the prior estimate and some EM blocks find no pairs at all.
    draw = random.Random(3)  # noqa: S311 - test data, not secrets
    rows = [
        {
            "record_id": f"u{n}",
            "first_name": _word(draw, 7),
            "last_name": _word(draw, 9),
            "street": f"{n} {_word(draw, 8)} street",
            "city": _word(draw, 8),
            "postal_code": f"{10000 + n}",
            "birth_date": f"{1940 + n % 60}-{1 + n % 12:02d}-{1 + n % 28:02d}",
        }
        for n in range(300)
    ]
    entities, model = fs_link(encoded_frame(rows, KEY))
    assert entities["entity_id"].n_unique() == len(rows)
    assert 0.0 < model.prior < 1e-3


def _recall(rows: list[Row], truth: dict[str, str], entities: pl.DataFrame) -> float:
    """Share of people whose records all end up in one entity."""
    entity = dict(zip(entities["record_id"], entities["entity_id"], strict=True))
    by_person: dict[str, set[str]] = {}
    for row in rows:
        record = str(row["record_id"])
        by_person.setdefault(truth[record], set()).add(entity[record])
    return sum(len(found) == 1 for found in by_person.values()) / len(by_person)


def test_households_add_nothing_where_nobody_shares_a_home() -> None:
    # FEBRL-like: everybody at their own address, and duplicates with the
    # errors the model fits worst (first and last names swapped, a date
    # wholly wrong). A household model whose housemates are fitted freely
    # takes those duplicates for housemates sharing a surname and a
    # birthday, and then discounts every duplicate at one address.
    rows, truth = _population(13)
    draw = random.Random(13)  # noqa: S311 - test data, not secrets
    for row in rows[1::2]:
        if draw.random() < 0.2:
            row["first_name"], row["last_name"] = row["last_name"], row["first_name"]
        elif draw.random() < 0.1:
            row["birth_date"] = (
                f"{draw.randint(1940, 2005)}-{draw.randint(1, 12):02d}-11"
            )
    frame = encoded_frame(rows, KEY)
    with_homes, model = fs_link(frame)
    without, _ = fs_link(frame, FsConfig(households=False))
    assert _recall(rows, truth, with_homes) >= _recall(rows, truth, without) - 0.005
    for comparison in ("last_name", "birth_date"):
        home = model.level(comparison, "exact (same address)").u
        population = model.level(comparison, "exact").u
        assert home is not None
        assert population is not None
        assert home < 3 * population + 0.01, comparison


def _families(seed: int, twins: float = 0.0) -> tuple[list[Row], dict[str, str]]:
    """Households of two to four people of one surname at one address, some twice.

    A share `twins` of the households have twins: their first two people
    share a birth date.
    """
    draw = random.Random(seed)  # noqa: S311 - test data, not secrets
    firsts = [_word(draw, 7) for _ in range(120)]
    cities = [_word(draw, 9) for _ in range(10)]
    rows: list[Row] = []
    truth: dict[str, str] = {}
    for h in range(500):
        last = _word(draw, 8)
        home = _person(draw, ([""], [last]), cities)
        has_twins = draw.random() < twins
        born = ""
        for k, first in enumerate(draw.sample(firsts, draw.randint(2, 4))):
            year = draw.randint(1940, 2005)
            if not (has_twins and k == 1):
                born = f"{year}-{draw.randint(1, 12):02d}-{k + 1:02d}"
            person = {**home, "first_name": first, "birth_date": born}
            copies = 2 if draw.random() < 0.3 else 1
            for c in range(copies):
                row = dict(person)
                if c and draw.random() < 0.3:
                    row["street"] = _typo(draw, str(row["street"]))
                record = f"r{len(rows)}"
                rows.append({"record_id": record, **row})
                truth[record] = f"h{h}p{k}"
    return rows, truth


def test_households_are_learned_where_families_share_a_home() -> None:
    rows, truth = _families(17)
    entities, model = fs_link(encoded_frame(rows, KEY))
    # Housemates share a surname: at home, an equal surname says little.
    home = model.level("last_name", "exact (same address)").u
    assert home is not None
    assert home > 0.5
    people: dict[str, set[str]] = {}
    for record, found in zip(entities["record_id"], entities["entity_id"], strict=True):
        people.setdefault(found, set()).add(truth[record])
    assert sum(len(p) > 1 for p in people.values()) <= 2
    assert _recall(rows, truth, entities) >= 0.98


def test_namesakes_share_comes_out_of_the_birth_dates_else() -> None:
    m = {
        "exact": 0.9,
        "year+month": 0.01,
        "month+day": 0.02,
        "year": 0.01,
        "decade": 0.01,
        "else": 0.05,
    }
    model = FsModel(
        prior=0.001,
        levels=tuple(LevelParams("birth_date", lv, v, 0.1) for lv, v in m.items()),
    )
    assert birth_else_without_namesakes(model, 0.0) == model

    def fitted(share: float) -> dict[str, float]:
        levels = birth_else_without_namesakes(model, share).levels
        return {p.level: p.m or 0.0 for p in levels}

    some = fitted(0.04)
    assert sum(some.values()) == pytest.approx(1.0)
    assert some["else"] == pytest.approx(
        (0.05 - 0.04) / 0.96 / (0.95 + 0.0104), rel=0.01
    )
    # Never below what two independent clerical errors give.
    assert 0.0 < fitted(0.9)["else"] < some["else"]
    # A level no duplicate reached in EM has no m: it counts as 0, and the
    # share still comes out (it was left in, merging fathers and sons).
    unseen = FsModel(
        prior=0.001,
        levels=tuple(
            LevelParams("birth_date", lv, None if lv == "year" else v, 0.1)
            for lv, v in m.items()
        ),
    )
    corrected = birth_else_without_namesakes(unseen, 0.04).levels
    assert next(p.m for p in corrected if p.level == "else") < 0.05


def test_a_model_without_the_rarity_levels_still_scores(
    encoded: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(fs_comparisons, "RARER_FIELDS", ())
        before, old = fs_edges(encoded)
    assert not [p for p in old.levels if "rarer" in p.level]
    after, _ = fs_edges(encoded, model=old)
    assert after.equals(before)


def test_dice_in_sql_on_integer_words_equals_dice_on_the_filters() -> None:
    """The SQL Dice over 128-bit words is the filters' Dice, sign bits included."""
    import duckdb  # noqa: PLC0415 - only this test talks to DuckDB directly

    rng = random.Random(11)  # noqa: S311 - test data, not secrets

    def bloom() -> bytes:
        bits = bytearray(64)
        for _ in range(rng.randint(1, 300)):
            position = rng.randrange(512)
            bits[position // 8] |= 1 << (position % 8)
        return bytes(bits)

    filters: list[bytes | None] = [bloom() for _ in range(60)]
    # Every word's top bit set (negative halves), a single top bit, no filter.
    filters += [b"\xff" * 64, (b"\x80" + b"\x00" * 7) * 8, None]
    frame = pl.DataFrame(
        {
            "record_id": [str(i) for i in range(len(filters))],
            **{
                column: pl.Series(filters, dtype=pl.Binary)
                for column in fs_table.FILTER_COLUMNS
            },
        }
    )
    con = duckdb.connect()
    halves = frame.select("record_id", *fs_table.filter_halves(frame))
    con.register("raw", halves.to_arrow())
    con.execute(
        "CREATE TABLE t AS SELECT record_id, "  # noqa: S608 - fixed names, no data
        + ", ".join(fs_table.filter_sql())
        + " FROM raw"
    )
    both = ", ".join(
        f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in fs_table.filter_columns()
    )
    rows = con.sql(
        f"SELECT a, b, {fs_table.dice_sql('street_bf')} FROM ("  # noqa: S608 - fixed names
        f"SELECT l.record_id AS a, r.record_id AS b, {both} "
        "FROM t l JOIN t r ON l.record_id < r.record_id)"
    ).fetchall()
    con.close()
    assert len(rows) == len(filters) * (len(filters) - 1) // 2
    for a, b, got in rows:
        left, right = filters[int(a)], filters[int(b)]
        if left is None or right is None:
            assert got is None
        else:
            assert got == pytest.approx(dice(left, right), abs=1e-12)


def test_filters_of_another_size_are_refused() -> None:
    frame = pl.DataFrame(
        {
            "record_id": ["a"],
            **{
                column: pl.Series([b"\x01" * 32], dtype=pl.Binary)
                for column in fs_table.FILTER_COLUMNS
            },
        }
    )
    with pytest.raises(ValueError, match="64-byte filters"):
        fs_table.filter_halves(frame)


def test_twins_stay_apart_when_a_record_has_a_mistyped_street() -> None:
    # One substituted letter in "12 bakobima street" leaves a street Dice
    # of about 0.89: still one household. Scored as strangers instead, two
    # twins share a rare surname and a birth date, and were merged.
    rows, truth = _families(23, twins=0.3)
    entities, _ = fs_link(encoded_frame(rows, KEY))
    entity = dict(zip(entities["record_id"], entities["entity_id"], strict=True))
    people: dict[str, set[str]] = {}
    for record, person in truth.items():
        people.setdefault(entity[record], set()).add(person)
    merged = [p for p in people.values() if len(p) > 1]
    assert merged == []
    assert _recall(rows, truth, entities) >= 0.98


@pytest.mark.parametrize(
    ("flag", "label"),
    [
        ("loose", fs_comparisons.LOOSE),
        ("swapped", fs_comparisons.SWAPPED),
        ("number", fs_comparisons.SAME_NUMBER),
    ],
)
def test_a_model_without_a_later_name_level_still_scores(
    encoded: pl.DataFrame, monkeypatch: pytest.MonkeyPatch, flag: str, label: str
) -> None:
    # A model saved before a level was added scores as it did.
    with monkeypatch.context() as patch:
        patch.setattr(
            fs_link_module,
            "splink_settings",
            functools.partial(fs_comparisons.splink_settings, **{flag: False}),
        )
        before, old = fs_edges(encoded)
    assert not [p for p in old.levels if p.level.startswith(label)]
    after, _ = fs_edges(encoded, model=old)
    assert after.equals(before)


@pytest.mark.parametrize(
    ("counts", "rarer"),
    [
        ((1, 5), True),  # a one-off against an established value
        ((3, 40), True),  # ten times rarer
        ((4, 30), False),
        ((2, 5), False),  # both established: two real names
        ((1, 1), False),  # both one-offs: nothing says which is the typo
    ],
)
def test_a_value_looks_misspelt_when_far_rarer_or_unique(
    counts: tuple[int, int], rarer: bool
) -> None:
    split, _ = fs_comparisons._split_by_rarity(
        "first_name", {"sql_condition": "ELSE", "label_for_charts": "else"}
    )
    row = duckdb.sql(
        f"SELECT {split['sql_condition']} FROM (SELECT {counts[0]} AS "  # noqa: S608 - test literals
        f"first_name_n_l, {counts[1]} AS first_name_n_r)"
    ).fetchall()
    assert row == [(rarer,)]


def test_swapped_first_and_last_names_are_linked() -> None:
    # A clerk's classic: the first name typed as the surname and back. Each
    # name has its own key, so only the pair of names (either way round)
    # says the two records agree on both.
    rows, truth = _population(13)
    first = {truth[r["record_id"]]: r for r in rows[::2]}
    # Second records whose names were not also mistyped (a swap with a typo
    # is a known miss: the pair of names then differs).
    clean = [
        r
        for r in rows[1::2]
        if (r["first_name"], r["last_name"])
        == (
            first[truth[r["record_id"]]]["first_name"],
            first[truth[r["record_id"]]]["last_name"],
        )
    ]
    swapped = clean[:40]
    for row in swapped:
        row["first_name"], row["last_name"] = row["last_name"], row["first_name"]
    # And two different people whose names are each other's swapped, who
    # live apart and were born apart: not one person.
    draw = random.Random(17)  # noqa: S311 - test data, not secrets
    one = _person(draw, (["mason"], ["blake"]), ["seymour"])
    two = {**_person(draw, (["blake"], ["mason"]), ["preston"])}
    two["birth_date"] = f"{int(str(one['birth_date'])[:4]) - 30}-02-11"
    rows += [{"record_id": "x1", **one}, {"record_id": "x2", **two}]
    truth |= {"x1": "x1", "x2": "x2"}
    entities, model = fs_link(encoded_frame(rows, KEY))
    entity = dict(zip(entities["record_id"], entities["entity_id"], strict=True))
    person_of = {r["record_id"]: truth[r["record_id"]] for r in swapped}
    twins = {
        record: next(o for o, p in truth.items() if p == person and o != record)
        for record, person in person_of.items()
    }
    together = sum(entity[a] == entity[b] for a, b in twins.items())
    assert together >= 0.95 * len(twins)
    assert entity["x1"] != entity["x2"]
    swap = model.level("first_name", fs_comparisons.SWAPPED)
    assert swap.m is not None
    assert swap.u is not None
    assert swap.m > 100 * swap.u


@pytest.mark.parametrize(("loose", "at_home"), [(True, True), (False, False)])
def test_the_birth_date_at_home_takes_every_surname_level_but_else(
    loose: bool, at_home: bool
) -> None:
    # Twins "elijah young" and "matthew yfung" (one letter mistyped in a
    # short surname: the "dice>=0.5" level) at one address: the household
    # fit counts them as sharing a surname, so the scoring must too, or
    # their shared birth date weighs as between strangers and the twins
    # merge. A model saved without that level keeps its "dice>=0.7" family.
    home = {
        "street": "12 rue des lilas",
        "city": "lyon",
        "postal_code": "69003",
        "birth_date": "2000-05-20",
    }
    rows = [
        {"record_id": "a", "first_name": "elijah", "last_name": "young", **home},
        {"record_id": "b", "first_name": "matthew", "last_name": "yfung", **home},
    ]
    frame = encoded_frame(rows, KEY)
    surnames = frame["last_name_bf"].to_list()
    assert 0.5 <= dice(surnames[0], surnames[1]) < 0.7  # the premise
    settings = fs_comparisons.splink_settings(
        (), homes=frozenset({"last_name", "birth_date"}), loose=loose
    )
    birth = next(
        c for c in settings["comparisons"] if c["output_column_name"] == "birth_date"
    )
    con = duckdb.connect()
    fs_table.load_input(con, frame, (), None)
    columns = [
        *fs_table.filter_columns(),
        *fs_table.HASH_COLUMNS,
        fs_table.count_column("first_name"),
    ]
    both = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in columns)
    [(index,)] = con.sql(
        f"SELECT {fs_comparisons.level_case(birth)} FROM ("  # noqa: S608 - fixed names
        f"SELECT {both} FROM {fs_table.INPUT_TABLE} l "
        f"JOIN {fs_table.INPUT_TABLE} r ON l.unique_id < r.unique_id)"
    ).fetchall()
    con.close()
    levels = [lv for lv in birth["comparison_levels"] if not lv.get("is_null_level")]
    label = levels[index]["label_for_charts"]
    assert label.startswith("exact")
    assert label.endswith(fs_comparisons.AT_HOME) is at_home
