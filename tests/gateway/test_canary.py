"""Canary: unique personal values go in over HTTP; none of them comes out in clear.

Scans every file under the data directory (SQLite database and WAL, keyring,
logs), a dump of every PostgreSQL table, and every response body. The values
go in as fields, inside French and English free text, and inside an attribute.
"""

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from gateway.context import GatewayContext
from gateway.main import create_app
from gateway.storage.db import make_engine
from tests.databases import BOTH, Database
from tests.factories import consent, customer, make_client, unique_person
from tests.pii_values import group, make_card, make_iban, make_nir

_serial = itertools.count(1)


def _numbers() -> dict[str, str]:
    """A valid NIR, IBAN and card, different for every call."""
    n = next(_serial)
    return {
        "nir": make_nir(2, 84, 7, "2A", 100_000 + n),
        "iban": make_iban("FR", f"3000600001{n:011d}89"),
        "card": make_card(f"4970{n:06d}"),
    }


def _french_comment(person: dict[str, str], numbers: dict[str, str]) -> str:
    phone = "0" + person["phone"][3:]
    return (
        f"Bonjour, je suis {person['first_name']} {person['last_name']}, "
        f"rappelez-moi au {phone}. Remboursement sur l'IBAN {group(numbers['iban'])}, "
        f"NIR {numbers['nir']}, carte {group(numbers['card'])}. "
        f"J'habite au {person['street']}."
    )


def _english_comment(person: dict[str, str], numbers: dict[str, str]) -> str:
    return (
        f"Hello, my name is {person['first_name']} {person['last_name']}. "
        f"Please mail me at {person['email']}; my card is {numbers['card']}."
    )


def _needles(person: dict[str, str], numbers: dict[str, str]) -> list[bytes]:
    values = [v for k, v in person.items() if k not in ("postal_code",)]
    national_phone = "0" + person["phone"][3:]
    values += [national_phone, person["email"].upper(), "1984-07-19"]
    values += [*numbers.values(), group(numbers["iban"]), group(numbers["card"])]
    return [v.encode() for v in values] + [v.encode("utf-16-le") for v in values]


def _postgres_dump(url: str) -> bytes:
    engine = make_engine(url)
    try:
        chunks: list[bytes] = []
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                rows = conn.execute(text(f'SELECT t::text FROM "{table}" t'))  # noqa: S608
                chunks.extend(row[0].encode() for row in rows)
        return b"\n".join(chunks)
    finally:
        engine.dispose()


def _files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        yield from (p for p in root.rglob("*") if p.is_file())


@BOTH
def test_no_personal_value_is_stored_logged_or_returned_in_clear(
    fresh_ctx: GatewayContext, fresh_database: Database
) -> None:
    canary_ctx = fresh_ctx
    people = [unique_person() for _ in range(3)]
    numbers = [_numbers() for _ in people]
    responses: list[bytes] = []
    with TestClient(create_app(canary_ctx)) as http:
        partner = make_client(canary_ctx)
        events = [consent("email", p["email"], explicit=True) for p in people[:2]]
        events.append(consent("customer_id", people[0]["customer_id"]))
        responses.append(
            http.post(
                "/v1/consents", json={"events": events}, headers=partner.headers
            ).content
        )
        records = [
            customer(people[0], comment=_french_comment(people[0], numbers[0])),
            customer(
                people[1],
                health_interest="asthma",
                comment=_english_comment(people[1], numbers[1]),
            ),
            customer(people[2]),  # no consent: rejected
            customer(unique_person(), email=f"broken {people[2]['email']}"),  # invalid
        ]
        for _ in range(2):  # the second time: duplicates
            responses.append(
                http.post(
                    "/v1/datasets/customers/records",
                    json={"purpose": "segmentation", "records": records},
                    headers=partner.headers,
                ).content
            )
        accepted = json.loads(responses[1])["results"][:2]
        assert [r["status"] for r in accepted] == ["accepted", "accepted"]
        assert all(
            [w["field"] for w in r["warnings"]] == ["comment"] for r in accepted
        ), accepted
        attribute = {
            "source_id": "ev-1",
            "customer_id": people[0]["customer_id"],
            "event_type": "view",
            "occurred_at": "2026-03-01T12:00:00Z",
            "category": f"{people[0]['email']} {people[0]['phone']}",
        }
        response = http.post(
            "/v1/datasets/events/records",
            json={"purpose": "segmentation", "records": [attribute]},
            headers=partner.headers,
        )
        responses.append(response.content)
        (result,) = response.json()["results"]
        assert result["status"] == "accepted", result
        assert [(w["field"], w["reason"]) for w in result["warnings"]] == [
            ("category", "pii_redacted")
        ]
        statuses = [
            r["status"]
            for r in http.post(
                "/v1/datasets/customers/records",
                json={"purpose": "segmentation", "records": records[:2]},
                headers=partner.headers,
            ).json()["results"]
        ]
        assert statuses == ["duplicate", "duplicate"]
        responses.append(http.get("/metrics").content)
    haystacks = [(f"response {i}", body) for i, body in enumerate(responses)]
    db_dir = Path(fresh_database.url.removeprefix("sqlite:///")).parent
    roots = [canary_ctx.settings.home] + (
        [db_dir] if fresh_database.backend == "sqlite" else []
    )
    haystacks += [(str(path), path.read_bytes()) for path in _files_under(*roots)]
    if fresh_database.backend == "postgres":
        haystacks.append(("postgres dump", _postgres_dump(fresh_database.url)))
    assert any("gateway.log" in name for name, _ in haystacks), (
        "the log was not written"
    )
    for person, person_numbers in zip(people, numbers, strict=True):
        for needle in _needles(person, person_numbers):
            for name, data in haystacks:
                assert needle not in data, f"{needle!r} found in {name}"
