"""Linking customer records: full relinks, incremental runs, and their figures."""

import random
from dataclasses import replace

import polars as pl
import pytest

from gateway.linkage.fields import encoded_frame
from pipelines.fs_link import FsConfig, FsModel, LevelParams
from pipelines.linking import (
    LinkConfig,
    Linked,
    PreviousLinkage,
    link_records,
    record_versions,
)

KEY = bytes(range(32))
PEOPLE = 400
CONFIG = LinkConfig()


def _word(draw: random.Random, size: int) -> str:
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    return "".join(draw.choice(vowels if i % 2 else consonants) for i in range(size))


def _drop_letter(draw: random.Random, value: str) -> str:
    position = draw.randrange(1, len(value) - 1)
    return value[:position] + value[position + 1 :]


def _person(draw: random.Random, n: int) -> dict[str, str]:
    return {
        "first_name": _word(draw, 6),
        "last_name": _word(draw, 8),
        "street": f"{draw.randint(1, 99)} {_word(draw, 8)} street",
        "city": _word(draw, 7),
        "postal_code": f"{draw.randint(10000, 99999)}",
        "birth_date": f"{draw.randint(1940, 2005)}-{draw.randint(1, 12):02d}-"
        f"{draw.randint(1, 28):02d}",
        "person": f"p{n}",
    }


def _people(seed: int, start: int, count: int) -> list[dict[str, str]]:
    """Two records per person (different partners), most seconds with a typo."""
    draw = random.Random(seed)  # noqa: S311 - test data, not secrets
    rows: list[dict[str, str]] = []
    for n in range(start, start + count):
        person = _person(draw, n)
        rows.append({**person, "record_id": f"a{n:04d}"})
        copy = {**person, "record_id": f"b{n:04d}"}
        if n % 2:
            copy["last_name"] = _drop_letter(draw, copy["last_name"])
        if n % 3 == 0:
            copy["street"] = _drop_letter(draw, copy["street"])
        rows.append(copy)
    return rows


def _frame(
    rows: list[dict[str, str]], versions: dict[str, int] | None = None
) -> pl.DataFrame:
    """The profile frame as extraction makes it: ids, version, encodings."""
    encoded = encoded_frame(rows, KEY)
    meta = pl.DataFrame(
        {
            "record_id": [r["record_id"] for r in rows],
            # A partner's customer number is per record here: only the model
            # links the two records of a person.
            "subject_id": [f"s-{r['record_id']}" for r in rows],
            "email_key": [None] * len(rows),
            "version": [(versions or {}).get(r["record_id"], 1) for r in rows],
        },
        schema={
            "record_id": pl.String,
            "subject_id": pl.String,
            "email_key": pl.String,
            "version": pl.Int64,
        },
    )
    return meta.join(encoded, on="record_id", maintain_order="left")


def _truth(linked: Linked, rows: list[dict[str, str]]) -> tuple[int, int]:
    """(people split over two entities, entities holding two people)."""
    person = {r["record_id"]: r["person"] for r in rows}
    frame = linked.entities.with_columns(
        pl.col("record_id").replace_strict(person).alias("person")
    )
    split = frame.group_by("person").agg(pl.col("entity_id").n_unique())
    merged = frame.group_by("entity_id").agg(pl.col("person").n_unique())
    return (
        split.filter(pl.col("entity_id") > 1).height,
        merged.filter(pl.col("person") > 1).height,
    )


def _previous(linked: Linked, frames: dict[str, pl.DataFrame]) -> PreviousLinkage:
    return PreviousLinkage(
        records=record_versions(frames, linked.entities),
        model=FsModel.from_json(linked.model.to_json()),
        linkage_kid="k1",
        incremental_runs=linked.incremental_runs,
    )


@pytest.fixture(scope="module")
def first_run() -> tuple[list[dict[str, str]], dict[str, pl.DataFrame], Linked]:
    rows = _people(1, 0, PEOPLE)
    frames = {"profile": _frame(rows)}
    return rows, frames, link_records(frames, CONFIG, linkage_kid="k1")


def test_a_first_run_links_everything_afresh(
    first_run: tuple[list[dict[str, str]], dict[str, pl.DataFrame], Linked],
) -> None:
    rows, _, linked = first_run
    assert linked.figures["mode"] == "full: no previous linkage"
    assert linked.incremental_runs == 0
    split, merged = _truth(linked, rows)
    assert split <= PEOPLE // 100
    assert merged == 0
    assert linked.figures["records"] == 2 * PEOPLE
    assert linked.figures["records_without_encoding"] == 0
    assert linked.figures["scored_links"] >= PEOPLE - split


def test_new_records_join_stored_entities_without_relinking(
    first_run: tuple[list[dict[str, str]], dict[str, pl.DataFrame], Linked],
) -> None:
    rows, frames, linked = first_run
    # A third record of 20 known people, and 30 new people.
    draw = random.Random(5)  # noqa: S311 - test data, not secrets
    # (A kind of typo the first run's model has seen: an incremental run
    # scores with that model, it does not learn new kinds of error.)
    known = [
        {**row, "record_id": f"c{n:04d}", "street": _drop_letter(draw, row["street"])}
        for n, row in enumerate(rows[:40:2])
    ]
    fresh = _people(2, PEOPLE, 30)
    more = rows + known + fresh
    now = link_records(
        {"profile": _frame(more)},
        CONFIG,
        previous=_previous(linked, frames),
        linkage_kid="k1",
    )
    assert now.figures["mode"] == "incremental"
    assert now.figures["records_new_or_changed"] == len(known) + len(fresh)
    assert now.incremental_runs == 1
    entity = dict(now.entities.select("record_id", "entity_id").iter_rows())
    before = dict(linked.entities.select("record_id", "entity_id").iter_rows())
    # Each third record lands with its person's two earlier records...
    for row in known:
        person = row["person"]
        first = next(r["record_id"] for r in rows if r["person"] == person)
        assert entity[row["record_id"]] == entity[first]
    # ...the old records keep their grouping, and nobody is merged.
    for record_id, old in before.items():
        partners = {r for r, e in before.items() if e == old}
        assert {r for r in partners if entity[r] == entity[record_id]} == partners
    _, merged = _truth(now, more)
    assert merged == 0
    assert now.figures["carried_links"] > 0


def test_a_changed_record_is_linked_again(
    first_run: tuple[list[dict[str, str]], dict[str, pl.DataFrame], Linked],
) -> None:
    rows, frames, linked = first_run
    # Record a0000 is updated to someone else entirely (a new version).
    draw = random.Random(9)  # noqa: S311 - test data, not secrets
    changed = [dict(r) for r in rows]
    changed[0] = {**_person(draw, 9999), "record_id": "a0000"}
    now = link_records(
        {"profile": _frame(changed, {"a0000": 2})},
        CONFIG,
        previous=_previous(linked, frames),
        linkage_kid="k1",
    )
    assert now.figures["mode"] == "incremental"
    assert now.figures["records_new_or_changed"] == 1
    entity = dict(now.entities.select("record_id", "entity_id").iter_rows())
    assert entity["a0000"] != entity["b0000"]


@pytest.mark.parametrize(
    ("kid", "runs", "share", "reason"),
    [
        ("k2", 0, 0.0, "full: the linkage key changed"),
        ("k1", 10, 0.0, "full: 10 incremental runs since the last"),
        ("k1", 0, 0.5, "full: 50% of records new or changed"),
    ],
)
def test_a_full_relink_when_incremental_would_mislead(
    first_run: tuple[list[dict[str, str]], dict[str, pl.DataFrame], Linked],
    kid: str,
    runs: int,
    share: float,
    reason: str,
) -> None:
    rows, frames, linked = first_run
    previous = _previous(linked, frames)
    previous = PreviousLinkage(
        previous.records, previous.model, previous.linkage_kid, runs
    )
    bumped = {r["record_id"]: 2 for r in rows[: int(share * len(rows))]}
    now = link_records(
        {"profile": _frame(rows, bumped)},
        CONFIG,
        previous=previous,
        linkage_kid=kid,
    )
    assert now.figures["mode"] == reason
    assert now.incremental_runs == 0


def test_a_stored_model_of_another_version_means_a_full_relink(
    first_run: tuple[list[dict[str, str]], dict[str, pl.DataFrame], Linked],
) -> None:
    rows, frames, linked = first_run
    previous = _previous(linked, frames)
    alien = LevelParams("first_name", "a level no version has", 0.5, 0.5)
    model = FsModel(previous.model.prior, (*previous.model.levels, alien))
    now = link_records(
        {"profile": _frame(rows, {})},
        CONFIG,
        previous=replace(previous, model=model),
        linkage_kid=previous.linkage_kid,
    )
    assert now.figures["mode"] == "full: the stored model does not fit this version"
    assert now.incremental_runs == 0


def test_without_encodings_records_link_only_exactly() -> None:
    frame = pl.DataFrame(
        {
            "record_id": ["r1", "r2", "r3"],
            "subject_id": ["s1", "s1", "s3"],
            "email_key": [None, None, None],
            "version": [1, 1, 1],
        },
        schema={
            "record_id": pl.String,
            "subject_id": pl.String,
            "email_key": pl.String,
            "version": pl.Int64,
        },
    )
    linked = link_records({"profile": frame}, CONFIG)
    assert linked.figures["records_without_encoding"] == 3
    assert linked.entities["entity_id"].n_unique() == 2
    assert linked.figures["exact_links"] == 1


def test_the_model_settings_come_through(
    first_run: tuple[list[dict[str, str]], dict[str, pl.DataFrame], Linked],
) -> None:
    _, frames, linked = first_run
    plain = link_records(
        frames, CONFIG, linkage_kid="k1", fs_config=FsConfig(households=False)
    )
    assert any(p.level.endswith("(same address)") for p in linked.model.levels)
    assert not any(p.level.endswith("(same address)") for p in plain.model.levels)
