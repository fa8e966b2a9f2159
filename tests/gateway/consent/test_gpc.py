"""Global Privacy Control: which header values signal, and what an opt-out writes."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.consent.gpc import GPC_SOURCE, gpc_enabled, objected_purposes, objections
from gateway.policy import load_policies

POLICIES = load_policies(Path(__file__).resolve().parents[3] / "policies")
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "enabled"),
    [
        ("1", True),
        (" 1 ", True),
        (None, False),
        ("0", False),
        ("", False),
        ("true", False),
    ],
)
def test_only_1_signals(header: str | None, enabled: bool) -> None:
    assert gpc_enabled(header) is enabled


def test_objects_to_sale_or_sharing_purposes_the_partner_holds() -> None:
    assert objected_purposes(POLICIES, ["segmentation", "analytics"]) == [
        "segmentation"
    ]
    assert objected_purposes(POLICIES, ["analytics"]) == []


def test_one_withdrawal_and_one_audit_event_per_identifier_and_purpose() -> None:
    subjects = [("k2", "email"), ("k1", "customer_id"), ("k2", "email")]
    rows, audits = objections(
        subjects, ["segmentation"], client_id="c1", now=NOW, policy_version="v"
    )
    assert [(r["identifier_key"], r["identifier_type"]) for r in rows] == [
        ("k1", "customer_id"),
        ("k2", "email"),
    ]
    assert all(not r["granted"] and not r["explicit"] for r in rows)
    assert {r["source"] for r in rows} == {GPC_SOURCE}
    assert {r["event_time"] for r in rows} == {NOW}
    assert [(a.action, a.subject_id, a.purpose) for a in audits] == [
        ("consent.withdrawn", "k1", "segmentation"),
        ("consent.withdrawn", "k2", "segmentation"),
    ]
    assert audits[0].details == {
        "identifier_type": "customer_id",
        "source": "gpc",
        "at": "2026-12-03T09:00:00.000000Z",
        "gpc": True,
    }


def test_nothing_to_object_to_writes_nothing() -> None:
    assert objections(
        [("k", "email")], [], client_id="c", now=NOW, policy_version="v"
    ) == (
        [],
        [],
    )
