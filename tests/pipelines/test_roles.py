"""Policies drive the pipelines: enum levels, dataset and field roles."""

import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from fastapi.testclient import TestClient

from gateway.demo.population import population
from gateway.main import create_app
from gateway.policy import load_policies
from gateway.policy.segmentation import EVENTS, PROFILE
from pipelines.features import build_features
from pipelines.frames import Levels
from pipelines.quality import assess
from pipelines.roles import by_role
from pipelines.run import RunConfig, run_audience
from tests.databases import BOTH, POLICIES, Database, gateway_context
from tests.factories import make_client, send_consents
from tests.pipelines.rows import customer_row, customers, event_row, events

AS_OF = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
K_MIN = 25
CHANNELS = "values: [web, app, store, email, social]"
# Renamed datasets and fields: nothing under pipelines/ knows these names.
PROFILE_FIELDS = {
    "customer_id": "client_no",
    "birth_date": "born",
    "gender": "sex",
    "loyalty_tier": "tier",
}
EVENT_FIELDS = {
    "customer_id": "client_no",
    "occurred_at": "ts",
    "amount": "total",
    "channel": "via",
}


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    (target / "destinations.yaml").unlink()
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_channel_added_to_the_policy_gets_its_own_share(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    events_yaml = directory / "datasets" / "events.yaml"
    _edit(events_yaml, CHANNELS, "values: [web, app, store, email, social, kiosk]")
    policies = load_policies(directory)
    levels = Levels.of(policies, policies.audiences["retail_default"])
    assert levels.channel[-1] == "kiosk"

    as_of = AS_OF
    people, acts, report = assess(
        customers(customer_row("a")),
        events(
            event_row("a", channel="kiosk", occurred_at=as_of.replace(day=1)),
            event_row("a", channel="web", occurred_at=as_of.replace(day=2)),
        ),
        as_of,
        levels=levels,
    )
    assert report.nulled["events.channel"] == 0
    row = build_features(people, acts, as_of, levels).row(0, named=True)
    assert row["share_channel_kiosk"] == 0.5
    assert row["share_channel_unknown"] == 0.0

    # Under the sample policy the same value is not a level: nulled, counted.
    sample = load_policies(POLICIES)
    default = Levels.of(sample, sample.audiences["retail_default"])
    _, _, report = assess(
        customers(customer_row("a")),
        events(event_row("a", channel="kiosk", occurred_at=as_of.replace(day=1))),
        as_of,
        levels=default,
    )
    assert report.nulled["events.channel"] == 1


def _renamed_policies(tmp_path: Path) -> Path:
    directory = _copy(tmp_path)
    datasets = directory / "datasets"
    for old, new, fields in (
        ("customers", "clients", PROFILE_FIELDS),
        ("events", "purchases", EVENT_FIELDS),
    ):
        text = (datasets / f"{old}.yaml").read_text()
        text = text.replace(f"name: {old}\n", f"name: {new}\n")
        text = text.replace("subject_key: customer_id", "subject_key: client_no")
        for field, renamed in fields.items():
            assert f"\n  {field}:\n" in text
            text = text.replace(f"\n  {field}:\n", f"\n  {renamed}:\n")
        (datasets / f"{new}.yaml").write_text(text)
        (datasets / f"{old}.yaml").unlink()
    _edit(
        directory / "audiences.yaml",
        "datasets: [customers, events]",
        "datasets: [clients, purchases]\n"
        "    level_rules:\n"
        "      - {name: app_heavy, feature: share_channel_app, op: '>', value: 0.5}",
    )
    _edit(directory / "audiences.yaml", "k_min: 100", f"k_min: {K_MIN}")
    return directory


def _renamed(record: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    return {fields.get(key, key): value for key, value in record.items()}


@BOTH
def test_renamed_datasets_and_fields_segment_end_to_end(
    fresh_database: Database, tmp_path: Path
) -> None:
    policies = _renamed_policies(tmp_path)
    with (
        gateway_context(fresh_database, tmp_path / "home", policies=policies) as ctx,
        TestClient(create_app(ctx)) as http,
    ):
        people = population(400, seed=3)
        rejected: Counter[str] = Counter()
        for name in people.customers:
            partner = make_client(ctx, datasets=("clients", "purchases"))
            consents = [
                {**event, "identifier_type": "client_no"}
                for event in people.consents[name]
            ]
            send_consents(http, partner, consents)
            for dataset, records, fields in (
                ("clients", people.customers[name], PROFILE_FIELDS),
                ("purchases", people.events[name], EVENT_FIELDS),
            ):
                for start in range(0, len(records), 1000):
                    body = {
                        "purpose": "segmentation",
                        "records": [
                            _renamed(r, fields) for r in records[start : start + 1000]
                        ],
                    }
                    response = http.post(
                        f"/v1/datasets/{dataset}/records",
                        json=body,
                        headers=partner.headers,
                    )
                    assert response.status_code == 200, response.text
                    rejected.update(
                        r["reason"]
                        for r in response.json()["results"]
                        if r["status"] == "rejected"
                    )
        # Only the people who never answered are turned away: no field name
        # is refused.
        assert set(rejected) <= {"consent_missing"}, rejected
        summary = run_audience(
            ctx, "retail_default", tmp_path / "run", RunConfig(seed=5, n_bootstrap=2)
        )

    counts = summary["counts"]
    assert counts["records_clients"] > 0
    assert counts["records_purchases"] > 3000
    assert 330 <= counts["entities"] <= 400
    # The renamed fields fed the features: times, amounts and channels came
    # through (the sample's events all have a time, most a channel).
    missing = summary["quality"]["missing"]
    assert missing["events.occurred_at"]["count"] == 0
    assert missing["events.channel"]["rate"] < 0.5
    assert missing["events.amount"]["rate"] < 1.0
    assert missing["customers.gender"]["rate"] < 0.5
    assert summary["segments"] >= 2


def test_by_role_renames_fields_and_fills_missing_roles(tmp_path: Path) -> None:
    directory = _renamed_policies(tmp_path)
    # City plays the linkage role `city` in the sample; without it, it is a
    # data field no stage reads.
    _edit(directory / "datasets" / "clients.yaml", "    role: city\n", "")
    policies = load_policies(directory)
    audience = policies.audiences["retail_default"]
    frames = {
        "clients": pl.DataFrame({"record_id": ["r"], "sex": ["male"], "city": ["x"]}),
        "purchases": pl.DataFrame({"record_id": ["e"], "ts": ["t"], "total": [1.0]}),
    }
    out = by_role(frames, policies, audience)
    assert set(out) == {PROFILE, EVENTS}
    # A data field without a role (city) is dropped; absent roles are null.
    assert out[PROFILE].columns[:2] == ["record_id", "gender"]
    assert "city" not in out[PROFILE].columns
    assert out[PROFILE]["birth_date"].null_count() == 1
    assert out[EVENTS].select("occurred_at", "amount").row(0) == ("t", 1.0)
