"""Canary across the whole system: ingestion, pipeline, pulls, DPO routes, errors.

Unique personal values go in over HTTP for a few people among a demo
population; then the pipeline runs, a destination pulls every segment and
its revocations feed, other roles knock on the DPO's doors, the DPO searches
the audit log, re-identifies one subject (with a justification naming
someone), answers an access request and erases one subject, and the audit
log is exported. None of the values may appear in clear in: the database
(every file of it, or a dump of every PostgreSQL table), the logs, the
metrics, any response body except the two that exist to hand the DPO the
values back (access, re-identification), the pipeline's outputs
(`report.html`, `summary.json`, the Parquet files) or the audit export.
"""

import itertools
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.demo.population import population
from gateway.main import create_app
from pipelines.run import RunConfig, run_audience
from tests.databases import BOTH, Database, gateway_context
from tests.factories import consent, make_client, send_consents, unique_person
from tests.gateway.test_canary import _files_under, _postgres_dump
from tests.support.pipeline_world import policies_with_floor, run_cli

CANARIES = 5
K_MIN = 10
_serial = itertools.count(1)


def _with_canaries(people: Any) -> list[dict[str, str]]:
    """Give the first customers of shop_a unique values; return those values."""
    planted = []
    customers = people.customers["shop_a"]
    renamed: dict[str, str] = {}
    for record in customers[:CANARIES]:
        person = unique_person()
        person["customer_id"] = f"CANARY-{next(_serial)}-{person['customer_id']}"
        renamed[record["customer_id"]] = person["customer_id"]
        for field in ("email", "phone", "first_name", "last_name", "street", "city"):
            record[field] = person[field]
        record["customer_id"] = person["customer_id"]
        record["comment"] = (
            f"Rappeler {person['first_name']} {person['last_name']} au "
            f"{person['phone']} ou par mail {person['email']}."
        )
        planted.append(person)
    for batch in (people.events["shop_a"], people.consents["shop_a"]):
        for item in batch:
            for key in ("customer_id", "identifier"):
                if item.get(key) in renamed:
                    item[key] = renamed[item[key]]
    return planted


def _needles(person: dict[str, str]) -> list[bytes]:
    values = [person[k] for k in person if k not in ("postal_code", "birth_date")]
    values += ["0" + person["phone"][3:], person["email"].upper()]
    return [v.encode() for v in values] + [v.encode("utf-16-le") for v in values]


class Seen:
    """Every response body the test scans, with what it was."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []

    def keep(self, what: str, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, (what, response.text[:300])
        self.bodies.append((what, response.content))
        return response


def _ingest(
    http: TestClient, people: Any, partners: dict[str, Any], seen: Seen
) -> None:
    for name, partner in partners.items():
        send_consents(http, partner, people.consents[name])
        for dataset in ("customers", "events"):
            records = getattr(people, dataset)[name]
            for start in range(0, len(records), 1000):
                body = {
                    "purpose": "segmentation",
                    "records": records[start : start + 1000],
                }
                seen.keep(
                    f"ingest {dataset}",
                    http.post(
                        f"/v1/datasets/{dataset}/records",
                        json=body,
                        headers=partner.headers,
                    ),
                )


def _send_errors(
    http: TestClient, partner: Any, person: dict[str, str], seen: Seen
) -> None:
    """The values sent where they do not belong come back nowhere."""
    bad = {
        "source_id": "canary-bad-1",
        "customer_id": person["customer_id"],
        "email": f"not an e-mail {person['email']}",
        "phone": f"{person['first_name']} {person['phone']}x",
        "birth_date": person["last_name"],
    }
    url = "/v1/datasets/customers/records"
    body = {"purpose": "segmentation", "records": [bad]}
    seen.keep("rejected record", http.post(url, json=body, headers=partner.headers))
    body = {"purpose": "segmentation", person["email"]: person["last_name"]}
    seen.keep("unknown key", http.post(url, json=body, headers=partner.headers), 422)
    event = consent("email", person["email"], tcf_string=person["city"])
    seen.keep(
        "rejected consent",
        http.post("/v1/consents", json={"events": [event]}, headers=partner.headers),
    )


def _pull(http: TestClient, destination: Any, seen: Seen) -> None:
    headers = destination.headers
    url = "/v1/audiences/retail_default/segments"
    listed = seen.keep("segments", http.get(url, headers=headers)).json()
    assert listed
    for segment in listed:
        seen.keep(
            "members",
            http.get(
                f"/v1/segments/{segment['segment_id']}/members",
                params={"limit": 10_000},
                headers=headers,
            ),
        )


def _dpo_desk(
    http: TestClient,
    dpo: Any,
    others: list[Any],
    planted: list[dict[str, str]],
    seen: Seen,
) -> None:
    first = planted[0]
    identifier = {"identifier_type": "email", "identifier": first["email"]}
    for caller in others:
        for route in ("access", "erase", "reidentify"):
            response = http.post(
                f"/v1/subjects/{route}", json=identifier, headers=caller.headers
            )
            seen.keep(f"{route} as a non-DPO", response, 403)
    # The two answers that exist to give the DPO the values back: not scanned.
    access = http.post("/v1/subjects/access", json=identifier, headers=dpo.headers)
    assert access.status_code == 200, access.text
    assert first["email"] in access.text
    subject_id = access.json()["records"][0]["subject_id"]
    justification = (
        f"Plainte reçue de {first['first_name']} {first['last_name']} "
        f"({first['email']}), dossier DPO-2026-17."
    )
    body = {"subject_id": subject_id, "justification": justification}
    found = http.post("/v1/subjects/reidentify", json=body, headers=dpo.headers)
    assert found.status_code == 200, found.text
    seen.keep(
        "audit search",
        http.get("/v1/audit/events", params=identifier, headers=dpo.headers),
    )
    seen.keep("audit verify", http.get("/v1/audit/verify", headers=dpo.headers))
    second = {"identifier_type": "email", "identifier": planted[1]["email"]}
    seen.keep(
        "erasure receipt",
        http.post("/v1/subjects/erase", json=second, headers=dpo.headers),
    )


def _haystacks(
    ctx: Any, database: Database, outputs: Path, seen: Seen
) -> list[tuple[str, bytes]]:
    roots = [ctx.settings.home, outputs]
    if database.backend == "sqlite":
        roots.append(Path(database.url.removeprefix("sqlite:///")).parent)
    found = [*seen.bodies, *((str(p), p.read_bytes()) for p in _files_under(*roots))]
    if database.backend == "postgres":
        found.append(("postgres dump", _postgres_dump(database.url)))
    names = {name for name, _ in found}
    for expected in ("report.html", "summary.json", "audit.jsonl", "gateway.log"):
        assert any(name.endswith(expected) for name in names), expected
    return found


@BOTH
def test_no_personal_value_leaves_anywhere_in_clear(
    fresh_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = population(240, seed=13)
    planted = _with_canaries(people)
    outputs = tmp_path / "outputs"
    seen = Seen()
    with (
        gateway_context(
            fresh_database,
            tmp_path / "home",
            policies=policies_with_floor(tmp_path, K_MIN),
        ) as ctx,
        TestClient(create_app(ctx)) as http,
    ):
        partners = {name: make_client(ctx) for name in people.customers}
        _ingest(http, people, partners, seen)
        _send_errors(http, partners["shop_a"], planted[0], seen)
        summary = run_audience(
            ctx, "retail_default", outputs / "run", RunConfig(seed=5, n_bootstrap=2)
        )
        assert summary["counts"]["entities"] > 100
        destination = make_client(ctx, "destination")
        _pull(http, destination, seen)
        dpo = make_client(ctx, "dpo")
        _dpo_desk(http, dpo, [partners["shop_a"], destination], planted, seen)
        withdrawal = consent(
            "email", planted[2]["email"], "withdrawn", timestamp="2026-11-30T00:00:00Z"
        )
        send_consents(http, partners["shop_a"], [withdrawal])
        seen.keep(
            "revocations",
            http.get(
                "/v1/audiences/retail_default/revocations",
                headers=destination.headers,
            ),
        )
        seen.keep("metrics", http.get("/metrics"))
        export = outputs / "audit.jsonl"
        run_cli(ctx, monkeypatch, "audit", "export", "--out", str(export))
        haystacks = _haystacks(ctx, fresh_database, outputs, seen)
    for person in planted:
        for needle in _needles(person):
            for name, data in haystacks:
                assert needle not in data, f"{needle!r} found in {name}"
