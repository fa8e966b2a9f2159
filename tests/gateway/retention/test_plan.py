"""Retention cut-offs and which runs go: pure decisions."""

from datetime import UTC, datetime, timedelta

import pytest

from gateway.policy import load_policies
from gateway.retention import RetentionConfig, RunHead, plan_retention, runs_past_age
from tests.databases import POLICIES

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_each_purpose_is_cut_at_its_own_retention() -> None:
    policies = load_policies(POLICIES)
    plan = plan_retention(NOW, policies, RetentionConfig(1, 30, 1000))

    assert plan.purposes == {
        "segmentation": NOW - 395 * DAY,
        "analytics": NOW - 730 * DAY,
    }
    assert plan.idempotency == NOW - DAY
    assert plan.runs == NOW - 30 * DAY
    assert plan.document()["purposes"]["segmentation"] == {
        "retention_days": 395,
        "before": "2025-05-02T12:00:00Z",
    }


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_retention(
            NOW.replace(tzinfo=None), load_policies(POLICIES), RetentionConfig(1, 1, 1)
        )


@pytest.mark.parametrize("bad", [(0, 30, 10), (1, 0, 10), (1, 30, 0)])
def test_ages_and_batch_size_must_be_positive(bad: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetentionConfig(*bad)


def _run(run_id: str, audience: str, days_ago: int, finished: bool = True) -> RunHead:
    at = NOW - days_ago * DAY
    return RunHead(run_id, audience, at - DAY, at if finished else None)


def test_old_runs_go_except_the_latest_finished_of_each_audience() -> None:
    runs = [
        _run("r1", "retail", 100),
        _run("r2", "retail", 60),
        _run("r3", "retail", 40),  # retail's latest: kept though old
        _run("r4", "retail", 10, finished=False),  # running: recent, kept
        _run("r5", "retail", 50, finished=False),  # crashed long ago
        _run("o1", "other", 90),  # other's only run
        _run("n1", "news", 80),
        _run("n2", "news", 5),  # recent and latest
    ]

    assert runs_past_age(runs, NOW - 30 * DAY) == ["n1", "r1", "r2", "r5"]


def test_a_tie_on_finish_time_keeps_the_larger_id_as_latest_run() -> None:
    at = NOW - 90 * DAY
    runs = [RunHead("a", "x", at, at), RunHead("b", "x", at, at)]

    assert runs_past_age(runs, NOW - 30 * DAY) == ["a"]
