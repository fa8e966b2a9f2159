"""report: a self-contained, escaped, deterministic HTML page of aggregates only."""

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import numpy as np
import polars as pl
import pytest

from pipelines.report import render_report

SECTIONS = (
    "run",
    "quality",
    "dedupe",
    "levels",
    "model",
    "segments",
    "pca",
    "silhouette",
    "profiles",
    "k-anonymity",
)
VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "wbr"}
# SVG shapes written self-closing; the HTML parser reports them as start tags.
SVG_LEAVES = {"line", "rect", "path", "circle"}


def make_summary(**over: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "run_id": "run-2026-03-01-a",
        "audience": "newsletter_fr",
        "generated_at": "2026-03-01T18:30:00Z",
        "policy_version": "3",
        "seed": 42,
        "counts": {
            "records_read": 12_000,
            "excluded_consent": 800,
            "excluded_erasure": 12,
            "entities": 9_500,
        },
        "quality": {
            "missing": {
                "age": {"count": 30, "rate": 0.0025},
                "income": {"count": 4, "rate": 0.0003},
            },
            "winsorized": {"income": 17},
            "imputation": {"age": "median", "channel": "mode"},
            "fences": {"income": {"low": 0.0, "high": 250_000.0}},
        },
        "dedupe": {
            "records": 11_188,
            "entities": 9_500,
            "exact_links": 1_400,
            "fuzzy_links": 288,
            "components_split": 2,
            "largest_entity": 9,
        },
        "segmentation": {
            "model": "kmeans",
            "k": 3,
            "silhouette": 0.41,
            "davies_bouldin": 0.93,
            "n_components": 4,
            "explained_variance": 0.83,
            "ari": 0.88,
            "candidates": [
                {"model": "kmeans", "k": 3, "silhouette": 0.41, "davies_bouldin": 0.93},
                {"model": "kmeans", "k": 4, "silhouette": 0.37, "davies_bouldin": 1.02},
                {"model": "ward", "k": 3, "silhouette": 0.39, "davies_bouldin": 0.97},
            ],
        },
        "k_anonymity": {
            "k_min": 100,
            "merged_segments": 1,
            "merged_members": 40,
            "suppressed_segments": 0,
            "suppressed_members": 0,
        },
    }
    return summary | over


def make_segments(**over: list[Any]) -> pl.DataFrame:
    columns: dict[str, list[Any]] = {
        "segment_id": ["L1-01", "L1-02", "L1-03", "L1-01.1", "L1-01.2"],
        "level": [1, 1, 1, 2, 2],
        "parent_id": [None, None, None, "L1-01", "L1-01"],
        "size": [5_000, 3_000, 1_500, 2_600, 2_400],
        "description": ["Young urban", "Loyal families", "Occasional", "a", "b"],
        "stability": [0.9, 0.85, 0.7, None, 0.6],
        "silhouette": [0.45, 0.38, -0.05, 0.3, None],
    }
    return pl.DataFrame(columns | over)


def make_points(n: int = 300) -> pl.DataFrame:
    rng = np.random.default_rng(7)
    ids = ["L1-01", "L1-02", "L1-03"]
    return pl.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "segment_id": [ids[i % 3] for i in range(n)],
        }
    )


def make_profiles(
    features: tuple[str, ...] = ("age", "recency", "monetary"),
) -> pl.DataFrame:
    rows = [
        (sid, f, (i - j) * 1.7)
        for i, sid in enumerate(["L1-01", "L1-02", "L1-03"])
        for j, f in enumerate(features)
    ]
    return pl.DataFrame(rows, schema=["segment_id", "feature", "z"], orient="row")


def full_report(**summary_over: Any) -> str:
    return render_report(
        make_summary(**summary_over), make_segments(), make_points(), make_profiles()
    )


def minimal_report() -> str:
    return render_report({}, pl.DataFrame(), pl.DataFrame(), pl.DataFrame())


def typed_empty_report() -> str:
    segments = make_segments().clear()
    return render_report(
        {"k_anonymity": {"k_min": 100}},
        segments,
        make_points().clear(),
        make_profiles().clear(),
    )


class TagBalance(HTMLParser):
    """Record tags that close out of order or never close."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID | SVG_LEAVES:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        return

    def handle_endtag(self, tag: str) -> None:
        if tag in SVG_LEAVES:
            return
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


@pytest.mark.parametrize("render", [full_report, minimal_report, typed_empty_report])
def test_renders_every_section_as_balanced_html(render: Any) -> None:
    page = render()
    assert page.startswith("<!DOCTYPE html>")
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    checker = TagBalance()
    checker.feed(page)
    assert checker.errors == []
    assert checker.stack == []


@pytest.mark.parametrize("render", [full_report, minimal_report, typed_empty_report])
def test_references_no_external_resource(render: Any) -> None:
    page = render().lower()
    for needle in (
        "http://",
        "https://",
        "src=",
        "<script",
        "@import",
        "url(",
        "<link",
        "<img",
        "<iframe",
    ):
        assert needle not in page
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page))


def test_full_report_draws_every_plot_with_a_title() -> None:
    page = full_report()
    for name in ("sizes", "pca", "silhouette", "profiles"):
        assert f'<title id="{name}-t">' in page
    assert page.count("<svg") == 4
    assert "Young urban" in page
    assert 'class="chosen"' in page  # the chosen candidate is highlighted
    assert "median" in page  # imputation strategies
    assert "Every segment in this report has at least 100 members" in page


def test_every_plot_is_well_formed_svg() -> None:
    page = render_report(
        make_summary(), make_segments(), make_points(), make_profiles(("a-b", "c"))
    )
    plots = re.findall(r"<svg.*?</svg>", page, flags=re.DOTALL)
    assert len(plots) == 4
    for svg in plots:
        root = ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted XML
        assert root.find("title") is not None
        assert "text-anchor" in svg
        assert "text−anchor" not in svg


def test_minimal_report_says_what_is_missing() -> None:
    page = minimal_report()
    assert "<svg" not in page
    assert "No segments recorded" in page
    assert "No PCA sample recorded" in page
    assert "No feature profiles recorded" in page


def test_escapes_strings_from_data() -> None:
    hostile = '<script>alert("x")</script>'
    page = render_report(
        make_summary(
            audience=hostile,
            counts={hostile: 1},
            quality={"imputation": {hostile: hostile}},
        ),
        make_segments(description=[hostile] * 5),
        make_points(),
        make_profiles(features=(hostile, "age & <b>")),
    )
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "age &amp; &lt;b&gt;" in page


def test_refuses_a_segment_under_k_min() -> None:
    segments = make_segments(size=[5_000, 3_000, 99, 2_600, 2_400])
    with pytest.raises(ValueError, match="1 segment"):
        render_report(make_summary(), segments, make_points(), make_profiles())


def test_refuses_a_segment_of_unknown_size_under_a_floor() -> None:
    segments = make_segments(size=[5_000, 3_000, None, 2_600, 2_400])
    with pytest.raises(ValueError, match="k_min"):
        render_report(make_summary(), segments, make_points(), make_profiles())


@pytest.mark.parametrize("k_min", ["100", float("nan")])
def test_refuses_a_floor_that_is_not_a_number(k_min: object) -> None:
    with pytest.raises(ValueError, match="k_min"):
        full_report(k_anonymity={"k_min": k_min})


def test_shows_small_segments_when_no_floor_is_given() -> None:
    segments = make_segments(size=[5, 3, 1, 2, 2])
    page = render_report({}, segments, pl.DataFrame(), pl.DataFrame())
    assert "L1-03" in page


def test_output_is_deterministic() -> None:
    assert full_report() == full_report()
    shuffled = make_segments().sample(fraction=1.0, shuffle=True, seed=3)
    again = render_report(make_summary(), shuffled, make_points(), make_profiles())
    assert again == full_report()


def test_leaves_out_columns_it_was_not_asked_for() -> None:
    points = make_points().with_columns(pl.lit("ENTITY-0001-SECRET").alias("entity_id"))
    segments = make_segments().with_columns(pl.lit("REC-SECRET").alias("record_id"))
    page = render_report(make_summary(), segments, points, make_profiles())
    assert "SECRET" not in page


def test_orders_children_under_their_parent() -> None:
    page = full_report()
    order = [
        page.index(f">{sid}</text>")
        for sid in ("L1-01", "L1-01.1", "L1-01.2", "L1-02", "L1-03")
    ]
    assert order == sorted(order)


def test_keeps_a_full_sample_small_and_rounded() -> None:
    page = render_report(
        make_summary(), make_segments(), make_points(5_000), make_profiles()
    )
    assert len(page) < 150_000
    assert re.search(r"M\d+\.\d{2,}", page) is None
    assert page.count("h0") >= 5_000


def test_thins_an_oversized_sample() -> None:
    page = render_report({}, pl.DataFrame(), make_points(12_000), pl.DataFrame())
    assert page.count("h0M") + page.count('h0"') <= 5_000 + 10


def test_skips_non_finite_points_and_values() -> None:
    points = pl.DataFrame(
        {
            "x": [0.0, float("nan"), 1.0],
            "y": [0.0, 1.0, float("inf")],
            "segment_id": ["L1-01", "L1-01", None],
        }
    )
    profiles = pl.DataFrame(
        {"segment_id": ["L1-01"], "feature": ["age"], "z": [float("nan")]}
    )
    page = render_report({}, pl.DataFrame(), points, profiles)
    assert "1 sampled entities" in page
    assert "age: n/a" in page


def test_tolerates_malformed_summary_parts() -> None:
    summary = {"counts": [1, 2], "quality": "n/a", "segmentation": {"candidates": 3}}
    segments = make_segments(silhouette=[float("nan"), 0.2, None, 0.1, 0.0])
    page = render_report(summary, segments, make_points(), make_profiles())
    assert "No model-selection candidates recorded" in page
    assert "No figures recorded" in page
    assert ">n/a</text>" in page


def test_levels_section_says_what_was_skipped_and_dropped() -> None:
    levels = [
        {
            "name": "profile",
            "title": "Broad profile",
            "method": "cluster",
            "groups": ["demographic", "geographic"],
            "level": None,
            "columns": [],
            "dropped": [
                {
                    "feature": "gender",
                    "kept": False,
                    "score": 1.002,
                    "null_min": 0.97,
                    "p_value": 0.62,
                    "bound": 0.0125,
                    "reason": "no more alike between neighbours than between strangers",
                }
            ],
            "skipped": "no feature shares structure with the others (variable "
            "selection)",
        },
        {
            "name": "behaviour",
            "title": "Purchase behaviour",
            "method": "cluster",
            "groups": ["rfm"],
            "level": 1,
            "columns": ["frequency", "recency_days"],
            "dropped": [],
        },
    ]
    summary = make_summary()
    summary["segmentation"] = {**summary["segmentation"], "levels": levels}
    page = render_report(summary, make_segments(), make_points(), make_profiles())
    section = page.split('<section id="levels">')[1].split("</section>")[0]
    assert "Broad profile" in section
    assert "no feature shares structure with the others" in section
    assert "<td>gender</td>" in section
    assert "0.62" in section
    # The bound Holm's procedure set for it, beside its p-value.
    assert ">Holm bound</th>" in section
    assert '<td class="n">0.0125</td>' in section
    assert "frequency, recency_days" in section
    model = page.split('<section id="model">')[1].split("</section>")[0]
    assert "Broad profile" not in model


def test_segments_table_shows_parent_and_sibling_contrasts() -> None:
    segments = make_segments().with_columns(
        pl.lit("frequent shoppers").alias("versus_parent"),
        pl.lit("weekend shoppers").alias("versus_siblings"),
    )
    page = render_report(make_summary(), segments, make_points(), make_profiles())
    section = page.split('<section id="segments">')[1].split("</section>")[0]
    assert "Versus parent" in section
    assert "frequent shoppers" in section
    assert "weekend shoppers" in section


def predictive_summary(drifted: bool) -> dict[str, Any]:
    bins = [
        {"mean_predicted": p, "observed_rate": p + 0.01, "members": 120}
        for p in (0.1, 0.3, 0.6)
    ]
    metrics = {
        "roc_auc": 0.81,
        "pr_auc": 0.55,
        "brier": 0.14,
        "log_loss": 0.44,
        "ece": 0.012,
        "reliability": bins,
    }
    return {
        "propensity": {
            "status": "fitted",
            "target": "purchase",
            "horizon_days": 30,
            "model": "logistic_regression",
            "calibration": "sigmoid",
            "candidates": [
                {"model": "logistic_regression", "cv_log_loss": 0.45},
                {"model": "hist_gradient_boosting", "cv_log_loss": 0.46},
            ],
            "features": ["frequency", "recency_days"],
            "calibrated": metrics,
            "uncalibrated": metrics | {"ece": 0.09},
        },
        "drift": {
            "status": "compared with the previous run",
            "drifted": drifted,
            "feature_psi": {"recency_days": 0.9 if drifted else 0.0},
            "segment_psi": {"1": 0.01},
            "drifted_features": ["recency_days"] if drifted else [],
            "drifted_levels": [],
            "thresholds": {"feature": 0.25, "segment": 0.25},
            "refit": "every model is refitted on every run",
        },
        "personas": [
            {
                "segment_id": "L1-01",
                "level": 1,
                "size": 5000,
                "description": "Young urban",
                "themes": [{"theme": 1, "terms": ["livraison", "<b>"], "members": 300}],
                "mean_propensity": 0.31,
            }
        ],
    }


def test_predictive_sections_show_the_model_the_curve_drift_and_themes() -> None:
    page = full_report(**predictive_summary(drifted=True))
    for section in ("personas", "propensity", "drift"):
        assert f'<section id="{section}">' in page
    assert 'id="reliability-t"' in page
    assert page.count("<circle") >= 6  # three bins, two curves
    assert "drifted from the previous one" in page
    assert "livraison" in page
    assert "&lt;b&gt;" in page
    assert "<b>" not in page
    checker = TagBalance()
    checker.feed(page)
    assert checker.errors == []


def test_a_skipped_model_and_a_quiet_run_say_so() -> None:
    summary = predictive_summary(drifted=False)
    summary["propensity"] = {"status": "skipped", "reason": "3 buyers among 90"}
    page = full_report(**summary)
    assert "Propensity model skipped: 3 buyers among 90." in page
    assert 'id="reliability-t"' not in page
    assert "No drift flagged" in page
