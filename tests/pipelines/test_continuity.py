"""Segment ids across runs: matched by membership overlap, movement counted."""

import polars as pl
import pytest

from pipelines.continuity import MATCH_MIN_JACCARD, continuity
from pipelines.holdout import HOLDOUT_LEVEL, HOLDOUT_SEGMENT

K = 10


def previous(*segments: tuple[str, int, range]) -> pl.DataFrame:
    """(public id, level, entity numbers) -> the previous run's memberships."""
    return pl.DataFrame(
        [(pid, level, f"e{n}") for pid, level, people in segments for n in people],
        schema={"public_id": pl.String, "level": pl.Int64, "entity_id": pl.String},
        orient="row",
    )


def current(*segments: tuple[str, int, range]) -> pl.DataFrame:
    """(label, level, entity numbers) -> this run's memberships."""
    return pl.DataFrame(
        [(label, level, f"e{n}") for label, level, people in segments for n in people],
        schema={"segment_id": pl.String, "level": pl.Int64, "entity_id": pl.String},
        orient="row",
    )


def new_ids(frame: pl.DataFrame) -> dict[str, str]:
    return {label: f"new-{label}" for label in frame["segment_id"].unique()}


def test_identical_memberships_keep_every_id() -> None:
    before = previous(
        ("P1", 1, range(0, 40)),
        ("P2", 1, range(40, 100)),
        ("P1.1", 2, range(0, 20)),
        ("P1.2", 2, range(20, 40)),
    )
    after = current(
        ("L1-01", 1, range(0, 40)),
        ("L1-02", 1, range(40, 100)),
        ("L1-01.1", 2, range(0, 20)),
        ("L1-01.2", 2, range(20, 40)),
    )
    found = continuity(before, after, new_ids(after))
    assert found.public_ids == {
        "L1-01": "P1",
        "L1-02": "P2",
        "L1-01.1": "P1.1",
        "L1-01.2": "P1.2",
    }
    figures = found.as_dict(K)
    assert figures["segments_kept"] == 4
    assert figures["segments_new"] == figures["segments_retired"] == 0
    assert figures["moved"] == 0
    assert figures["moves"] == []
    assert (figures["entered"], figures["left"]) == (0, 0)


def test_swapped_labels_keep_ids_by_content() -> None:
    before = previous(("A", 1, range(0, 50)), ("B", 1, range(50, 80)))
    after = current(("L1-01", 1, range(50, 80)), ("L1-02", 1, range(0, 50)))
    found = continuity(before, after, new_ids(after))
    assert found.public_ids == {"L1-01": "B", "L1-02": "A"}


@pytest.mark.parametrize(
    ("larger", "kept"),
    [
        (60, True),  # Jaccard 0.6 with the old segment: the same segment
        (50, False),  # 0.5: dissolved (Hennig), both halves are new
    ],
)
def test_a_split_segment_keeps_its_id_only_in_a_half_over_the_threshold(
    larger: int, kept: bool
) -> None:
    before = previous(("A", 1, range(100)))
    after = current(("big", 1, range(larger)), ("small", 1, range(larger, 100)))
    found = continuity(before, after, new_ids(after))
    assert (larger / 100 > MATCH_MIN_JACCARD) is kept
    assert found.public_ids["big"] == ("A" if kept else "new-big")
    assert found.public_ids["small"] == "new-small"
    figures = found.as_dict(K)
    assert figures["segments_kept"] == int(kept)
    assert figures["segments_new"] == 2 - int(kept)
    assert figures["segments_retired"] == 1 - int(kept)
    moves = {(m["from"], m["to"]): m["entities"] for m in figures["moves"]}
    if kept:
        assert moves == {("A", "new-small"): 100 - larger}
    else:
        assert moves == {("A", "new-big"): 50, ("A", "new-small"): 50}
    assert figures["moved"] == sum(moves.values())


def test_levels_are_matched_separately() -> None:
    # The same people at two levels: each level keeps its own id.
    before = previous(("A", 1, range(30)), ("A.1", 2, range(30)))
    after = current(("x", 2, range(30)), ("y", 1, range(30)))
    found = continuity(before, after, new_ids(after))
    assert found.public_ids == {"x": "A.1", "y": "A"}
    # A level the previous run did not have matches nothing.
    found = continuity(before, current(("z", 3, range(30))), {"z": "new-z"})
    assert found.public_ids == {"z": "new-z"}
    assert found.as_dict(K)["segments_retired"] == 2


def test_the_holdout_is_matched_like_any_segment() -> None:
    before = previous(("H", HOLDOUT_LEVEL, range(20)), ("A", 1, range(20, 60)))
    after = current(
        (HOLDOUT_SEGMENT, HOLDOUT_LEVEL, range(1, 21)), ("L1-01", 1, range(21, 61))
    )
    found = continuity(before, after, new_ids(after))
    assert found.public_ids == {HOLDOUT_SEGMENT: "H", "L1-01": "A"}


def test_entered_and_left_count_the_audience() -> None:
    before = previous(("A", 1, range(0, 100)))
    after = current(("L", 1, range(30, 130)))
    figures = continuity(before, after, new_ids(after)).as_dict(K)
    assert figures["public_ids"] == {"L": "A"}
    assert (figures["entered"], figures["left"]) == (30, 30)
    assert figures["moved"] == 0


def test_counts_under_the_floor_are_suppressed() -> None:
    before = previous(
        ("A", 1, range(0, 100)), ("B", 1, range(100, 200)), ("C", 1, range(200, 300))
    )
    # 3 of A move to B, 40 of B to C; 3 people enter, 12 leave.
    after = current(
        ("a", 1, range(3, 100)),
        ("b", 1, [*range(0, 3), *range(100, 160)]),
        ("c", 1, [*range(160, 288), 300, 301, 302]),
    )
    found = continuity(before, after, new_ids(after))
    assert found.public_ids == {"a": "A", "b": "B", "c": "C"}
    figures = found.as_dict(K)
    # Exact total 43: with the 3 hidden, 43 - 40 would give them away, so
    # the 40 is hidden too and only the total remains.
    assert figures["moved"] == 43
    assert {(m["from"], m["to"]): m["entities"] for m in figures["moves"]} == {
        ("A", "B"): None,
        ("B", "C"): None,
    }
    # 3 entered is under the floor; 12 left would give it away (the change
    # in audience size is public), so both are held back.
    assert (figures["entered"], figures["left"]) == (None, None)
    assert found.entered == 3
    assert found.left == 12


def test_a_small_cell_beside_a_large_remainder_keeps_the_others_shown() -> None:
    before = previous(("A", 1, range(0, 100)), ("B", 1, range(100, 200)))
    after = current(
        ("a", 1, [*range(3, 75), *range(100, 125)]),
        ("b", 1, [*range(0, 3), *range(125, 200)]),
        ("c", 1, range(75, 100)),
    )
    figures = continuity(before, after, new_ids(after)).as_dict(K)
    moves = {(m["from"], m["to"]): m["entities"] for m in figures["moves"]}
    # 3 hidden (A->B), then the smallest shown cell (25) hidden with it.
    assert figures["moved"] == 53
    assert sorted(moves.values(), key=str) == [25, None, None]
    assert sum(v for v in moves.values() if v is not None) <= 53 - K


def test_a_first_run_has_only_new_segments() -> None:
    after = current(("L", 1, range(50)))
    empty = previous()
    figures = continuity(empty, after, new_ids(after)).as_dict(K)
    assert figures["public_ids"] == {"L": "new-L"}
    assert (figures["segments_kept"], figures["segments_new"]) == (0, 1)
    assert (figures["entered"], figures["left"], figures["moved"]) == (50, 0, 0)
