"""Predictive segments end to end: propensity, drift, holdout and themes in a run.

One world per backend (ingested once over HTTP), three runs of
`pipeline run`: the first fits the planted propensity, the second on the
same data measures no drift, the third, 150 days later with no new event
(everyone's recency moves), is flagged as drifted. Beside them, one run of a
second audience whose rules level tests the score (`propensity >= 0.75`
inside each broad-profile segment), its scores kept as the run made them,
pulled by a destination, and of a third whose only segment is the score
rule over the whole audience. Each test reads one behaviour from those runs.
"""

import json
import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

import pipelines.run
from gateway.demo.population import Population, population
from gateway.main import create_app
from pipelines.holdout import HOLDOUT_SEGMENT
from pipelines.predictive import Scored, score_propensity
from pipelines.run import RunConfig, run_audience
from tests.databases import POLICIES, gateway_context, throwaway_database
from tests.factories import make_client
from tests.support.pipeline_world import ingest_partner

K_MIN = 20
HOLDOUT_SHARE = 0.15
# The demo population's events end in the first week of November 2026; the
# planted purchases fall in the 30 days before the runs' as-of.
AS_OF = datetime(2026, 12, 10, tzinfo=UTC)
WINDOW_START = AS_OF - timedelta(days=30)
LATER = AS_OF + timedelta(days=150)
COMMENTS = (
    "Livraison rapide, colis bien emballé, livraison parfaite.",
    "Retour compliqué, remboursement en attente, service client injoignable.",
    "Application mobile pratique, paiement simple sur l'application.",
)
PLACEHOLDER = re.compile(r"<[A-Za-z_]+>")
SCORES = "retail_scores"
ALONE = "retail_likely"
# Lower than the README's 0.75 (checked exactly in test_score_segments):
# here buying follows the app share, 0.08 + 0.75 x share, so too few people
# per profile segment score 0.75 for a floor of 20 to let any through.
THRESHOLD = 0.5
# An audience of score-based segments: likely buyers inside each broad
# profile segment, nothing else (so the parents are large enough for some
# to pass the floor at this population's size).
LIKELY_LEVEL = f"""\
      - name: likely_buyers
        method: rules
        rules:
          - {{name: likely_buyers, feature: propensity, op: '>=', value: {THRESHOLD}}}
"""


def _score_audience(name: str, levels: str) -> str:
    return f"""
  {name}:
    datasets: [customers, events]
    purpose: segmentation
    k_min: {K_MIN}
    propensity:
      target: purchase
      horizon_days: 30
    levels:
{levels}"""


PROFILE_LEVEL = """\
      - name: profile
        features: [demographic, geographic]
"""
SCORE_AUDIENCE = _score_audience(SCORES, PROFILE_LEVEL + LIKELY_LEVEL) + (
    _score_audience(ALONE, LIKELY_LEVEL)
)


@dataclass
class Runs:
    summaries: list[dict[str, Any]]
    outs: list[Path]
    drift_flags: list[str]
    pulled: dict[int, set[str]]  # level -> member ids a destination pulled
    people: Population
    scores_run: "ScoreRun"
    alone_run: "ScoreRun"


@dataclass
class ScoreRun:
    """The score audience's run, its scores as the run made them, and a pull."""

    summary: dict[str, Any]
    out: Path
    scores: pl.DataFrame  # entity_id, propensity: the run's own
    # Pulled segment id -> level, parent id, members (as the destination's ids).
    pulled: dict[str, tuple[int, str | None, set[str]]]


def _policies(tmp: Path) -> Path:
    target = tmp / "policies"
    shutil.copytree(POLICIES, target)
    path = target / "audiences.yaml"
    text = path.read_text().replace("k_min: 100", f"k_min: {K_MIN}")
    text = text.replace("holdout_share: 0.0", f"holdout_share: {HOLDOUT_SHARE}")
    path.write_text(text + SCORE_AUDIENCE)
    (target / "destinations.yaml").unlink()
    return target


def _plant(people: Population, seed: int) -> None:
    """Comments with personal data, and purchases after the cut-off.

    The chance of a purchase in the window is a known function of
    behaviour before it: 0.08 + 0.75 x the record's share of app events.
    """
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    for partner, customers in people.customers.items():
        app: dict[str, list[bool]] = {}
        for event in people.events[partner]:
            app.setdefault(event["customer_id"], []).append(event["channel"] == "app")
        planted = []
        for record in customers:
            record["comment"] = (
                f"{rng.choice(COMMENTS)} Merci, {record['first_name']} "
                f"{record['last_name']}, {record['email']}"
            )
            flags = app.get(record["customer_id"], [])
            share = sum(flags) / len(flags) if flags else 0.0
            if rng.random() < 0.08 + 0.75 * share:
                day = WINDOW_START + timedelta(days=rng.randrange(30), hours=12)
                planted.append(
                    {
                        "source_id": f"{record['source_id']}-planted",
                        "customer_id": record["customer_id"],
                        "event_type": "purchase",
                        "amount": 30.0,
                        "currency": "EUR",
                        "occurred_at": day.isoformat().replace("+00:00", "Z"),
                        "channel": "app",
                        "device": "mobile",
                        "category": "shoes",
                    }
                )
        people.events[partner].extend(planted)


def _pull_by_level(http: TestClient, destination: Any) -> dict[int, set[str]]:
    listed = http.get(
        "/v1/audiences/retail_default/segments", headers=destination.headers
    )
    assert listed.status_code == 200, listed.text
    pulled: dict[int, set[str]] = {}
    for segment in listed.json():
        page = http.get(
            f"/v1/segments/{segment['segment_id']}/members",
            params={"limit": 10_000},
            headers=destination.headers,
        ).json()
        assert page["next_cursor"] is None
        assert len(page["members"]) == segment["size"]
        pulled.setdefault(segment["level"], set()).update(page["members"])
    return pulled


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runs]:
    tmp = tmp_path_factory.mktemp(f"predictive-{request.param}")
    people = population(400, seed=17)
    _plant(people, seed=3)
    with (
        throwaway_database(request.param, tmp / "db") as database,
        gateway_context(database, tmp / "home", policies=_policies(tmp)) as ctx,
        TestClient(create_app(ctx)) as http,
    ):
        for name in people.customers:
            ingest_partner(http, make_client(ctx), people, name)
        summaries, outs, flags = [], [], []
        pulled: dict[int, set[str]] = {}
        for number, as_of in enumerate((AS_OF, AS_OF, LATER)):
            out = tmp / f"run{number}"
            config = RunConfig(seed=5, n_bootstrap=0, as_of=as_of)
            summaries.append(run_audience(ctx, "retail_default", out, config))
            outs.append(out)
            # As a monitoring system sees it: the server's own `/metrics`.
            flags.append(http.get("/metrics").text)
            if number == 0:
                pulled = _pull_by_level(http, make_client(ctx, "destination"))
        yield Runs(
            summaries,
            outs,
            flags,
            pulled,
            people,
            _score_run(http, ctx, tmp, SCORES),
            _score_run(http, ctx, tmp, ALONE),
        )


def _score_run(http: TestClient, ctx: Any, tmp: Path, audience: str) -> ScoreRun:
    """Run a score audience, keeping the scores its propensity stage made."""
    made: list[Scored] = []

    def kept(*args: Any, **kwargs: Any) -> Scored:
        scored = score_propensity(*args, **kwargs)
        made.append(scored)
        return scored

    out = tmp / audience
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipelines.run, "score_propensity", kept)
        summary = run_audience(
            ctx, audience, out, RunConfig(seed=5, n_bootstrap=0, as_of=AS_OF)
        )
    assert len(made) == 1
    assert made[0].scores is not None
    destination = make_client(ctx, "destination", audiences=(audience,))
    listed = http.get(f"/v1/audiences/{audience}/segments", headers=destination.headers)
    assert listed.status_code == 200, listed.text
    pulled = {}
    for segment in listed.json():
        page = http.get(
            f"/v1/segments/{segment['segment_id']}/members",
            params={"limit": 10_000},
            headers=destination.headers,
        )
        assert page.status_code == 200, page.text
        assert set(page.json()) == {"segment_id", "members", "next_cursor"}
        pulled[segment["segment_id"]] = (
            segment["level"],
            segment["parent_id"],
            set(page.json()["members"]),
        )
    return ScoreRun(summary, out, made[0].scores, pulled)


def test_the_planted_propensity_is_fitted_calibrated_and_reported(
    runs: Runs,
) -> None:
    prop = runs.summaries[0]["propensity"]
    assert prop["status"] == "fitted", prop.get("reason")
    assert (prop["target"], prop["horizon_days"]) == ("purchase", 30)
    assert prop["cutoff"] == WINDOW_START.replace(hour=0).isoformat()
    # Buying follows the app share: the model finds it, calibrated or not.
    assert prop["calibrated"]["roc_auc"] > 0.6
    assert prop["uncalibrated"]["roc_auc"] > 0.6
    assert 0.15 < prop["base_rate"] < 0.5
    assert prop["calibrated"]["ece"] < 0.15
    for key in ("pr_auc", "brier", "ece", "reliability"):
        assert key in prop["calibrated"]
        assert key in prop["uncalibrated"]
    assert "share_channel_app" in prop["features"]
    assert prop["excluded_special_category"] == []
    assert prop["scored"]["people"] == runs.summaries[0]["counts"]["entities"]
    report = (runs.outs[0] / "report.html").read_text()
    assert 'id="reliability-t"' in report
    # No score leaves the pipeline: the export's columns are unchanged.
    exported = pl.read_parquet(runs.outs[0] / "segments.parquet")
    assert exported.columns == ["entity_id", "segment_id", "level"]


def test_the_same_data_does_not_drift_and_a_shift_does(runs: Runs) -> None:
    first, same, later = (s["drift"] for s in runs.summaries)
    assert first["status"] == "no previous run"
    assert same["status"] == "compared with the previous run"
    assert same["previous_run_id"] == runs.summaries[0]["run_id"]
    assert not same["drifted"]
    assert max(same["feature_psi"].values()) < 0.01
    assert max(same["segment_psi"].values()) < 0.01
    assert later["drifted"]
    assert "recency_days" in later["drifted_features"]
    assert later["feature_psi"]["recency_days"] >= later["thresholds"]["feature"]
    assert "refitted on every run" in later["refit"]
    assert (
        'gateway_pipeline_drifted{audience="retail_default"} 0.0'
        in (runs.drift_flags[1])
    )
    assert (
        'gateway_pipeline_drifted{audience="retail_default"} 1.0'
        in (runs.drift_flags[2])
    )
    assert "drifted from the previous one" in (runs.outs[2] / "report.html").read_text()


def _holdout(out: Path) -> tuple[set[str], set[str]]:
    members = pl.read_parquet(out / "segments.parquet")
    held = members.filter(pl.col("segment_id") == HOLDOUT_SEGMENT)
    rest = members.filter(pl.col("segment_id") != HOLDOUT_SEGMENT)
    assert set(held["level"]) == {0}
    return set(held["entity_id"]), set(rest["entity_id"])


def test_holdout_is_out_of_every_campaign_segment_and_stable(runs: Runs) -> None:
    held, campaign = _holdout(runs.outs[0])
    entities = runs.summaries[0]["counts"]["entities"]
    assert K_MIN <= len(held) < 0.25 * entities
    assert held.isdisjoint(campaign)
    assert runs.summaries[0]["holdout"]["exported"]
    assert runs.summaries[0]["counts"]["holdout_members"] == len(held)
    for out in runs.outs[1:]:
        again, campaign_again = _holdout(out)
        assert again == held
        assert again.isdisjoint(campaign_again)
    # What a destination pulls: a level-0 segment of its own, in no other.
    assert len(runs.pulled[0]) == len(held)
    others = set().union(*(ids for level, ids in runs.pulled.items() if level))
    assert runs.pulled[0].isdisjoint(others)


def test_themes_show_what_members_write_and_never_a_placeholder(
    runs: Runs,
) -> None:
    personas = runs.summaries[0]["personas"]
    themes = [t for p in personas for t in p["themes"]]
    assert themes, "no segment has a theme"
    terms = {term for t in themes for term in t["terms"]}
    assert terms & {"livraison", "remboursement", "application"}
    assert all(t["members"] >= K_MIN for t in themes)
    names = {
        word.lower()
        for records in runs.people.customers.values()
        for r in records
        for word in (r["first_name"], r["last_name"])
    }
    for term in terms:
        assert not PLACEHOLDER.search(term)
        assert term not in {"person", "email_address", "email", "address"}
        assert term not in names
    written = json.dumps(runs.summaries[0]) + (runs.outs[0] / "report.html").read_text()
    assert "<PERSON>" not in written
    assert "example.org" not in written


def test_a_score_rule_level_cuts_floors_and_exports_likely_buyers(
    runs: Runs,
) -> None:
    run = runs.scores_run
    assert run.summary["propensity"]["status"] == "fitted"
    level = next(
        lv
        for lv in run.summary["segmentation"]["levels"]
        if lv["name"] == "likely_buyers"
    )
    assert (level["method"], level["level"]) == ("rules", 2)
    # The score is no clustering feature of the level above.
    assert "propensity" not in run.summary["personas"][0]["description"]
    score = dict(run.scores.iter_rows())
    members = pl.read_parquet(run.out / "segments.parquet")
    assert members.columns == ["entity_id", "segment_id", "level"]
    parents = {
        sid: set(group["entity_id"])
        for (sid,), group in members.filter(pl.col("level") == 1).group_by("segment_id")
    }
    children = {
        sid: set(group["entity_id"])
        for (sid,), group in members.filter(pl.col("level") == 2).group_by("segment_id")
    }
    # Parent sizes and likely buyers in each: counts only, to read a failure.
    counts = {
        sid: (len(ids), sum(score[e] >= THRESHOLD for e in ids))
        for sid, ids in parents.items()
    }
    assert children, f"no score segment passed the floor: {counts}"
    assert set(children) <= {f"{parent}.likely_buyers" for parent in parents}
    for parent, ids in parents.items():
        likely = {e for e in ids if score[e] >= THRESHOLD}
        child = children.get(f"{parent}.likely_buyers")
        if child is None:
            # The floor: too few likely buyers, or too few others to hide
            # them among (the parent minus its child would single them out).
            assert len(likely) < K_MIN or 0 < len(ids - likely) < K_MIN
        else:
            assert child == likely
            assert len(child) >= K_MIN
            assert len(ids - child) == 0 or len(ids - child) >= K_MIN
    # A destination pulls each score segment, nested in its parent, as its
    # own pseudonyms (the pages carry member ids only, never a score): the
    # same (parent size, segment size) pairs as the run exported.
    exported = sorted(
        (len(parents[sid.rsplit(".", 1)[0]]), len(ids)) for sid, ids in children.items()
    )
    pulled = []
    for level, parent, ids in run.pulled.values():
        if level == 2:
            assert parent is not None
            assert ids <= run.pulled[parent][2]
            assert ids.isdisjoint(score)
            pulled.append((len(run.pulled[parent][2]), len(ids)))
    assert sorted(pulled) == exported


def test_a_score_segment_alone_is_everyone_scored_above_and_exported(
    runs: Runs,
) -> None:
    run = runs.alone_run
    assert run.summary["propensity"]["status"] == "fitted"
    (level,) = run.summary["segmentation"]["levels"]
    assert (level["name"], level["method"], level["level"]) == (
        "likely_buyers",
        "rules",
        1,
    )
    score = dict(run.scores.iter_rows())
    members = pl.read_parquet(run.out / "segments.parquet")
    campaign = members.filter(pl.col("segment_id") != HOLDOUT_SEGMENT)
    assert set(campaign["segment_id"]) == {"likely_buyers"}
    assert set(campaign["level"]) == {1}
    likely = {e for e, s in score.items() if s >= THRESHOLD}
    held = set(members.filter(pl.col("segment_id") == HOLDOUT_SEGMENT)["entity_id"])
    # Exactly the people scored at or above the threshold, bar the holdout.
    assert set(campaign["entity_id"]) == likely - held
    assert len(likely - held) >= K_MIN
    # Pulled as one top-level segment of that size, as the destination's ids.
    top = [(lv, parent, ids) for lv, parent, ids in run.pulled.values() if lv == 1]
    assert [(parent, len(ids)) for _, parent, ids in top] == [
        (None, len(likely - held))
    ]
