"""Test data: clients, consent events and records with unique, recognisable values."""

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from gateway.auth.clients import create_client
from gateway.context import GatewayContext
from gateway.storage.db import transaction

_counter = itertools.count(1)


@dataclass(frozen=True)
class ApiClient:
    """A client made for a test, with its bearer header."""

    client_id: str
    name: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header for this client."""
        return {"Authorization": f"Bearer {self.api_key}"}


def make_client(
    ctx: GatewayContext,
    role: str = "partner",
    *,
    datasets: tuple[str, ...] = ("customers", "events"),
    purposes: tuple[str, ...] = ("segmentation", "analytics"),
    audiences: tuple[str, ...] = ("retail_default",),
    region: str | None = None,
) -> ApiClient:
    """Create a client directly through the service (as `gateway clients add` does)."""
    name = f"{role}-{uuid.uuid4().hex[:10]}"
    grants: dict[str, Any] = {}
    if role == "partner":
        grants = {"datasets": datasets, "purposes": purposes}
    elif role == "destination":
        grants = {"audiences": audiences}
    with transaction(ctx.sessions) as session:
        made = create_client(session, ctx, name, role, region=region, **grants)
    return ApiClient(made.client_id, name, made.api_key)


def partner_add_args(name: str) -> list[str]:
    """`gateway clients add` arguments for a customers/segmentation partner."""
    return [
        "clients", "add", name, "--role", "partner",
        "--dataset", "customers", "--purpose", "segmentation", "--json",
    ]  # fmt: skip


def unique_person() -> dict[str, str]:
    """Unique personal values, easy to search for in raw bytes."""
    n = next(_counter)
    tag = uuid.uuid4().hex[:8]
    return {
        "customer_id": f"CUST-{tag}-{n}",
        "email": f"zelda.{tag}.{n}@canary-mail.example",
        "phone": f"+3361{n % 10}{int(tag, 16) % 1_000_000:06d}",
        "first_name": f"Zeldaprenom{tag}",
        "last_name": f"Canarynom{tag}",
        "street": f"{n % 90 + 1} rue des Canaris{tag}",
        "birth_date": "1984-07-19",
        "postal_code": "75011",
        "city": f"Villecanari{tag}",
    }


def customer(person: dict[str, str] | None = None, **over: Any) -> dict[str, Any]:
    """A customers record for a person (unique when not given)."""
    person = person or unique_person()
    record: dict[str, Any] = {
        "source_id": f"src-{uuid.uuid4().hex[:12]}",
        **person,
        "gender": "female",
        "loyalty_tier": "gold",
    }
    return record | over


def consent(
    identifier_type: str,
    identifier: str,
    status: str = "granted",
    *,
    purpose: str = "segmentation",
    timestamp: str = "2026-01-01T10:00:00Z",
    **over: Any,
) -> dict[str, Any]:
    """A consent event."""
    event = {
        "identifier_type": identifier_type,
        "identifier": identifier,
        "purpose": purpose,
        "status": status,
        "timestamp": timestamp,
        "source": "cmp:test",
    }
    return event | over


def send_consents(
    http: TestClient, partner: ApiClient, events: list[dict[str, Any]]
) -> dict[str, Any]:
    """POST consent events and return the body (asserting the request succeeded)."""
    response = http.post(
        "/v1/consents", json={"events": events}, headers=partner.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def grant(
    http: TestClient, partner: ApiClient, record: dict[str, Any], **over: Any
) -> None:
    """Grant segmentation consent under a record's customer_id."""
    body = send_consents(
        http, partner, [consent("customer_id", record["customer_id"], **over)]
    )
    assert body["recorded"] == 1, body


def send_records(
    http: TestClient,
    partner: ApiClient,
    records: list[dict[str, Any]],
    *,
    dataset: str = "customers",
    purpose: str = "segmentation",
    headers: dict[str, str] | None = None,
) -> Any:
    """POST records; returns the raw response."""
    return http.post(
        f"/v1/datasets/{dataset}/records",
        json={"purpose": purpose, "records": records},
        headers=partner.headers | (headers or {}),
    )


# People for linkage tests: clear fields as the encoders take them.
JEAN = {
    "first_name": "Jean",
    "last_name": "Martin",
    "street": "12 rue de la Paix",
    "city": "Paris",
    "birth_date": "1985-03-02",
    "postal_code": "75011",
}
MARIE = {
    "first_name": "Marie",
    "last_name": "Dubois",
    "street": "3 avenue Foch",
    "city": "Lyon",
    "birth_date": "1972-11-20",
    "postal_code": "69003",
}
# Jean's housemate: same last name and address, another person.
PAUL = JEAN | {"first_name": "Paul", "birth_date": "1988-05-21"}
