"""k_floor: no segment under the floor leaves, and the hierarchy stays valid."""

from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import make_blobs

from pipelines.k_floor import (
    FloorReport,
    enforce_floor,
    strictest_floor,
    visible_segments,
)
from pipelines.segment import SegmentConfig, segment

# (segment_id, level, parent_id, size, centroid); parents before children.
Spec = Sequence[tuple[str, int, str | None, int, list[float] | None]]


def make_run(spec: Spec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Build memberships and segments; a child takes its parent's next members."""
    members: dict[str, list[str]] = {}
    taken: dict[str, int] = {}
    rows = []
    next_entity = 0
    for sid, _level, parent, size, _centroid in spec:
        if parent is None:
            members[sid] = [f"ent-{next_entity + i}" for i in range(size)]
            next_entity += size
        else:
            start = taken.get(parent, 0)
            members[sid] = members[parent][start : start + size]
            taken[parent] = start + size
            assert len(members[sid]) == size, "children overflow their parent"
    for sid, level, parent, _size, _centroid in spec:
        rows += [(entity, sid, level, parent) for entity in members[sid]]
    memberships = pl.DataFrame(
        rows,
        schema={
            "entity_id": pl.String,
            "segment_id": pl.String,
            "level": pl.Int64,
            "parent_id": pl.String,
        },
        orient="row",
    )
    segments = pl.DataFrame(
        {
            "segment_id": [s[0] for s in spec],
            "level": [s[1] for s in spec],
            "parent_id": [s[2] for s in spec],
            "size": [s[3] for s in spec],
            "centroid": [s[4] for s in spec],
            "stability": [0.9] * len(spec),
        },
        schema_overrides={
            "level": pl.Int64,
            "parent_id": pl.String,
            "size": pl.Int64,
            "centroid": pl.List(pl.Float64),
        },
    )
    return memberships, segments


def assert_valid(memberships: pl.DataFrame, segments: pl.DataFrame, k_min: int) -> None:
    counts = dict(memberships.group_by("segment_id").len().rows())
    sizes = dict(segments.select("segment_id", "size").rows())
    assert counts == sizes
    assert all(size >= k_min for size in sizes.values())
    ids = set(sizes)
    for sid, level, parent in segments.select(
        "segment_id", "level", "parent_id"
    ).rows():
        assert (parent is None) == (level == 1)
        if parent is not None:
            assert parent in ids
            assert sizes[sid] <= sizes[parent]
    above = memberships.select("entity_id", pl.col("segment_id").alias("parent_id"))
    inside = memberships.filter(pl.col("parent_id").is_not_null()).join(
        above, on=["entity_id", "parent_id"], how="anti"
    )
    assert inside.height == 0
    assert not memberships.select("entity_id", "level").is_duplicated().any()


def test_small_segment_merges_into_nearest_neighbour() -> None:
    memberships, segments = make_run(
        [
            ("L1-01", 1, None, 500, [0.0, 0.0]),
            ("L1-02", 1, None, 300, [6.0, 0.0]),
            ("L1-03", 1, None, 60, [4.0, 0.0]),
        ]
    )
    kept, out, report = enforce_floor(memberships, segments, k_min=100)
    assert_valid(kept, out, 100)
    assert dict(out.select("segment_id", "size").rows()) == {"L1-01": 500, "L1-02": 360}
    centroid = out.filter(pl.col("segment_id") == "L1-02")["centroid"].item().to_list()
    assert centroid == pytest.approx([(300 * 6.0 + 60 * 4.0) / 360, 0.0])
    stability = dict(out.select("segment_id", "stability").rows())
    assert stability == {"L1-01": 0.9, "L1-02": None}  # measured before the merge
    assert report == FloorReport(k_min=100, merged_segments=1, merged_members=60)


def test_smallest_goes_first_and_merging_repeats() -> None:
    memberships, segments = make_run(
        [
            ("L1-01", 1, None, 500, [0.0]),
            ("L1-02", 1, None, 40, [10.0]),
            ("L1-03", 1, None, 30, [11.0]),
        ]
    )
    kept, out, report = enforce_floor(memberships, segments, k_min=100)
    assert_valid(kept, out, 100)
    # 30 joins 40 (nearest), 70 is still short and joins the 500.
    assert out["segment_id"].to_list() == ["L1-01"]
    assert report.merged_segments == 2
    assert report.merged_members == 70


def test_lone_small_segment_is_suppressed() -> None:
    memberships, segments = make_run([("L1-01", 1, None, 50, [0.0])])
    kept, out, report = enforce_floor(memberships, segments, k_min=100)
    assert kept.height == 0
    assert out.height == 0
    assert report.suppressed_segments == 1
    assert report.suppressed_members == 50


def test_segment_without_centroid_is_suppressed_with_its_children() -> None:
    memberships, segments = make_run(
        [
            ("L1-01", 1, None, 500, [0.0]),
            ("L1-02", 1, None, 80, None),
            ("L1-02.1", 2, "L1-02", 50, None),
            ("L1-02.2", 2, "L1-02", 30, None),
        ]
    )
    kept, out, report = enforce_floor(memberships, segments, k_min=20)
    assert_valid(kept, out, 20)
    assert out["segment_id"].to_list() == ["L1-01", "L1-02", "L1-02.1", "L1-02.2"]
    kept, out, report = enforce_floor(memberships, segments, k_min=100)
    assert_valid(kept, out, 100)
    assert out["segment_id"].to_list() == ["L1-01"]
    assert report.suppressed_segments == 3
    assert report.suppressed_members == 160
    assert set(kept["entity_id"]) == {f"ent-{i}" for i in range(500)}


def test_level_two_merges_only_within_its_parent() -> None:
    memberships, segments = make_run(
        [
            ("L1-01", 1, None, 400, [0.0, 0.0]),
            ("L1-02", 1, None, 400, [9.0, 9.0]),
            ("L1-01.1", 2, "L1-01", 330, [0.0, 0.0]),
            ("L1-01.2", 2, "L1-01", 70, [9.0, 9.0]),
            ("L1-02.1", 2, "L1-02", 200, [9.0, 9.0]),
            ("L1-02.2", 2, "L1-02", 200, [8.0, 8.0]),
        ]
    )
    kept, out, _ = enforce_floor(memberships, segments, k_min=100)
    assert_valid(kept, out, 100)
    # L1-02.1 sits on L1-01.2's centroid, but lives under another parent.
    sizes = dict(out.select("segment_id", "size").rows())
    assert sizes["L1-02.1"] == 200
    assert "L1-01.1" not in sizes  # it grew to its parent's size and was dropped
    assert sizes["L1-01"] == 400


def test_children_follow_a_merged_parent() -> None:
    memberships, segments = make_run(
        [
            ("L1-01", 1, None, 600, [0.0]),
            ("L1-02", 1, None, 300, [5.0]),
            ("L1-03", 1, None, 90, [4.0]),
            ("L1-02.1", 2, "L1-02", 150, [5.0]),
            ("L1-02.2", 2, "L1-02", 150, [5.5]),
            ("L1-03.1", 2, "L1-03", 50, [4.0]),
            ("L1-03.2", 2, "L1-03", 40, [4.2]),
        ]
    )
    kept, out, report = enforce_floor(memberships, segments, k_min=100)
    assert_valid(kept, out, 100)
    # L1-03 joins L1-02; its children, re-parented there, are under the floor
    # too: 40 joins the nearer 50, and those 90 join L1-02.1 (5.0, not 5.5).
    sizes = dict(out.select("segment_id", "size").rows())
    assert sizes == {"L1-01": 600, "L1-02": 390, "L1-02.1": 240, "L1-02.2": 150}
    former = [f"ent-{i}" for i in range(900, 990)]
    moved = kept.filter(pl.col("entity_id").is_in(former))
    assert dict(moved.group_by("level").agg(pl.col("segment_id").unique()).rows()) == {
        1: ["L1-02"],
        2: ["L1-02.1"],
    }
    assert report.merged_segments == 3
    assert report.merged_members == 90 + 50 + 40


def test_remainder_under_the_floor_suppresses_the_children() -> None:
    spec: Spec = [
        ("L1-01", 1, None, 500, [0.0]),
        ("L1-01.1", 2, "L1-01", 300, [0.0]),
        ("L1-01.2", 2, "L1-01", 200, [1.0]),
        ("L1-01.1.app", 3, "L1-01.1", 250, [0.0]),
    ]
    memberships, segments = make_run(spec)
    kept, out, report = enforce_floor(memberships, segments, k_min=100)
    # 300 - 250 = 50 members would be singled out by difference.
    assert "L1-01.1.app" not in set(out["segment_id"])
    assert report.suppressed_segments == 1
    assert_valid(kept, out, 100)
    memberships, segments = make_run(
        [*spec[:3], ("L1-01.1.app", 3, "L1-01.1", 150, [0.0])]
    )
    _, out, _ = enforce_floor(memberships, segments, k_min=100)
    assert "L1-01.1.app" in set(out["segment_id"])


def test_rule_segments_are_suppressed_not_merged() -> None:
    memberships, segments = make_run(
        [
            ("L1-01", 1, None, 900, [0.0]),
            ("L1-01.1", 2, "L1-01", 500, [0.0]),
            ("L1-01.2", 2, "L1-01", 400, [1.0]),
            ("L1-01.1.app", 3, "L1-01.1", 60, [0.0]),
            ("L1-01.1.weekend", 3, "L1-01.1", 340, [0.1]),
        ]
    )
    method = ["kmeans", "kmeans", "kmeans", "rule", "rule"]
    segments = segments.with_columns(pl.Series("method", method))
    kept, out, report = enforce_floor(memberships, segments, k_min=100)
    assert_valid(kept, out, 100)
    # Merged, "app" members would be labelled weekend shoppers.
    assert dict(out.select("segment_id", "size").rows())["L1-01.1.weekend"] == 340
    assert "L1-01.1.app" not in set(out["segment_id"])
    assert report.suppressed_segments == 1
    assert report.merged_segments == 0


def test_lone_child_equal_to_parent_is_dropped() -> None:
    memberships, segments = make_run(
        [
            ("L1-01", 1, None, 300, [0.0]),
            ("L1-01.1", 2, "L1-01", 260, [0.0]),
            ("L1-01.2", 2, "L1-01", 40, [1.0]),
        ]
    )
    kept, out, report = enforce_floor(memberships, segments, k_min=100)
    assert_valid(kept, out, 100)
    assert out["segment_id"].to_list() == ["L1-01"]
    assert report.redundant_segments == 1
    assert kept.height == 300


def test_the_strictest_floor_applies() -> None:
    memberships, segments = make_run(
        [
            ("L1-01", 1, None, 900, [0.0]),
            ("L1-02", 1, None, 200, [3.0]),
        ]
    )
    floor = strictest_floor(100, None, 250)
    assert floor == 250
    kept, out, _ = enforce_floor(memberships, segments, k_min=floor)
    assert_valid(kept, out, 250)
    assert out["segment_id"].to_list() == ["L1-01"]


def test_report_holds_counts_only() -> None:
    memberships, segments = make_run(
        [("L1-01", 1, None, 500, [0.0]), ("L1-02", 1, None, 20, [1.0])]
    )
    _, _, report = enforce_floor(memberships, segments, k_min=100)
    values = report.as_dict()
    assert all(isinstance(value, int) for value in values.values())
    assert "L1-02" not in repr(report)


def test_floor_holds_on_a_real_segmentation() -> None:
    matrix, _ = make_blobs(1_500, n_features=5, centers=5, random_state=4)
    ids = [f"ent-{i}" for i in range(len(matrix))]
    config = SegmentConfig(
        sample_size=1_500,
        silhouette_size=600,
        hierarchical_size=600,
        n_bootstrap=0,
        min_size=20,
        n_threads=1,
    )
    result = segment(ids, matrix, [f"f{j}" for j in range(5)], seed=5, config=config)
    smallest = result.segments["size"].min()
    assert isinstance(smallest, int)
    k_min = smallest + 40  # forces merges and suppressions at level 2
    kept, out, report = enforce_floor(result.memberships, result.segments, k_min)
    assert_valid(kept, out, k_min)
    assert report.merged_segments + report.suppressed_segments > 0


@pytest.mark.parametrize("k_min", [0, -3, True, 2.5])
def test_rejects_a_bad_floor(k_min: int) -> None:
    memberships, segments = make_run([("L1-01", 1, None, 5, [0.0])])
    with pytest.raises(ValueError, match="floor"):
        enforce_floor(memberships, segments, k_min)


def test_rejects_a_member_outside_its_parent() -> None:
    memberships, segments = make_run(
        [("L1-01", 1, None, 5, [0.0]), ("L1-01.1", 2, "L1-01", 3, [0.0])]
    )
    stray = pl.DataFrame(
        [("ent-99", "L1-01.1", 2, "L1-01")], schema=memberships.schema, orient="row"
    )
    with pytest.raises(ValueError, match="missing from its parent"):
        enforce_floor(pl.concat([memberships, stray]), segments, 1)


def test_visible_segments_withholds_a_segment_pushed_under_the_floor() -> None:
    _, segments = make_run(
        [
            ("L1-01", 1, None, 500, [0.0]),
            ("L1-02", 1, None, 120, [1.0]),
            ("L1-01.1", 2, "L1-01", 300, [0.0]),
            ("L1-01.2", 2, "L1-01", 200, [1.0]),
        ]
    )
    now = {"L1-01": 500, "L1-02": 99, "L1-01.1": 300, "L1-01.2": 200}
    shown = visible_segments(segments, now, strictest_floor(100, 50))
    assert dict(shown.select("segment_id", "size").rows()) == {
        "L1-01": 500,
        "L1-01.1": 300,
        "L1-01.2": 200,
    }
    # A destination floor of 250 hides L1-01.2, and then L1-01.1 too: the parent
    # minus L1-01.1 would reveal L1-01.2's 200 members.
    shown = visible_segments(segments, now, strictest_floor(100, 250))
    assert shown["segment_id"].to_list() == ["L1-01"]


def test_visible_segments_hides_children_of_a_hidden_parent() -> None:
    _, segments = make_run(
        [
            ("L1-01", 1, None, 300, [0.0]),
            ("L1-01.1", 2, "L1-01", 150, [0.0]),
            ("L1-01.2", 2, "L1-01", 150, [1.0]),
        ]
    )
    now = {"L1-01": 99, "L1-01.1": 150}  # inconsistent and partial: fail closed
    assert visible_segments(segments, now, 100).height == 0
    assert np.array_equal(
        visible_segments(segments, {"L1-01": 300, "L1-01.1": 150, "L1-01.2": 150}, 100)[
            "size"
        ].to_numpy(),
        [300, 150, 150],
    )
