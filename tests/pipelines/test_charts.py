"""charts: pure SVG builders; empty input draws nothing, output is well-formed."""

import math
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from pipelines.charts import (
    PALETTE,
    Bar,
    assign_colours,
    bar_chart,
    diverging,
    format_number,
    heatmap_chart,
    scatter_chart,
    silhouette_chart,
    sizes_chart,
    tick_label,
    ticks,
)

COLOURS = assign_colours(["A", "B"])


def make_tree() -> list[tuple[int, str | None, dict[str, Any]]]:
    return [
        (0, "A", {"segment_id": "A", "silhouette": 0.4}),
        (1, "A", {"segment_id": "A.1", "silhouette": -0.1}),
        (0, "B", {"segment_id": "B", "silhouette": None}),
    ]


def make_points() -> list[dict[str, Any]]:
    return [
        {"x": 0.0, "y": 1.0, "segment_id": "A"},
        {"x": 2.5, "y": -1.0, "segment_id": "B"},
        {"x": 1.0, "y": 0.0, "segment_id": None},
    ]


def make_profiles() -> list[dict[str, Any]]:
    return [
        {"segment_id": "A", "feature": "age", "z": 3.5},
        {"segment_id": "B", "feature": "age", "z": -0.4},
        {"segment_id": "A", "feature": "a & <b>", "z": None},
    ]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted XML


def every_chart() -> dict[str, str]:
    bars = [Bar("A", 0, 12.0, PALETTE[0], "12"), Bar("A.1", 1, None, "#999", "—")]
    return {
        "sizes": sizes_chart(bars),
        "silhouette": silhouette_chart(make_tree(), COLOURS, 0.3),
        "pca": scatter_chart(make_points(), COLOURS),
        "profiles": heatmap_chart(make_profiles()),
    }


@pytest.mark.parametrize("name", ["sizes", "silhouette", "pca", "profiles"])
def test_every_chart_is_well_formed_titled_svg(name: str) -> None:
    root = parse(every_chart()[name])
    assert root.tag == "svg"
    title = root.find("title")
    assert title is not None
    assert title.get("id") == f"{name}-t"
    assert root.find("desc") is not None


def test_charts_with_nothing_to_draw_return_nothing() -> None:
    nan = float("nan")
    assert scatter_chart([], COLOURS) == ""
    assert scatter_chart([{"x": nan, "y": 0.0, "segment_id": "A"}], COLOURS) == ""
    assert heatmap_chart([]) == ""
    assert heatmap_chart([{"segment_id": None, "feature": "age", "z": 1.0}]) == ""
    assert silhouette_chart([], COLOURS, 0.3) == ""
    assert (
        silhouette_chart([(0, "A", {"segment_id": "A", "silhouette": None})], {}, 1)
        == ""
    )


def test_bar_chart_without_bars_still_parses() -> None:
    parse(bar_chart("none", "Nothing", "No bars.", [], "members"))


def test_escapes_labels_from_data() -> None:
    hostile = "<script>&"
    points = [{"x": 0.0, "y": 0.0, "segment_id": hostile}]
    svgs = [
        scatter_chart(points, assign_colours([hostile])),
        heatmap_chart([{"segment_id": hostile, "feature": hostile, "z": 1.0}]),
        sizes_chart([Bar(hostile, 0, 1.0, PALETTE[0], "1")]),
    ]
    for svg in svgs:
        parse(svg)
        assert "<script" not in svg


def test_draws_a_reference_line_only_for_a_finite_overall_score() -> None:
    assert "stroke-dasharray" in silhouette_chart(make_tree(), COLOURS, 0.3)
    for overall in (None, float("inf"), "0.3"):
        assert "stroke-dasharray" not in silhouette_chart(make_tree(), COLOURS, overall)


def test_scatter_groups_points_without_a_colour_as_unassigned() -> None:
    svg = scatter_chart(make_points(), COLOURS)
    assert "unassigned: 1 points" in svg
    assert svg.count("h0") == 3 + 3  # three dots plus three legend markers


def test_assigns_colours_in_id_order_then_switches_marker() -> None:
    ids = [f"S{i:02d}" for i in range(len(PALETTE) + 1)]
    colours = assign_colours([None, *reversed(ids)])
    assert list(colours) == ids
    assert colours["S00"] == (PALETTE[0], False)
    assert colours[ids[-1]] == (PALETTE[0], True)


@pytest.mark.parametrize(
    ("lo", "hi"), [(0.0, 1.0), (-0.05, 0.45), (0.0, 5_000.0), (3.0, 3.0), (-7.2, -1.1)]
)
def test_ticks_cover_the_range_in_round_steps(lo: float, hi: float) -> None:
    found = ticks(lo, hi)
    assert found[0] <= lo
    assert found[-1] >= hi
    step = found[1] - found[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5, 10))


def test_tick_labels_use_the_typographic_minus() -> None:
    axis = ticks(-1.0, 1.0)
    assert tick_label(-0.5, axis) == "−0.5"
    assert tick_label(0.25, [0.0, 0.25]) == "0.25"
    assert tick_label(2000.0, [0.0, 1000.0]) == "2,000"


def test_diverging_runs_blue_white_red_and_clips() -> None:
    assert diverging(-3.0) == "#2166ac"
    assert diverging(0.0) == "#f7f7f7"
    assert diverging(3.0) == diverging(99.0) == "#b2182b"


def test_formats_numbers_to_three_digits_or_cents() -> None:
    assert format_number(0.41234) == "0.412"
    assert format_number(1234.5) == "1,234.5"
    assert format_number(250_000.0) == "250,000"
    assert format_number(float("nan")) == "—"
