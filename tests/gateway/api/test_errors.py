"""Bad bodies are 4xx problems that never echo what was sent; the server goes on."""

import pytest
from fastapi.testclient import TestClient

from gateway.context import GatewayContext
from tests.factories import customer, make_client

PATH = "/v1/datasets/customers/records"


@pytest.fixture
def partner_headers(ctx: GatewayContext) -> dict[str, str]:
    return make_client(ctx).headers


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"purpose": "segmentation", "records": [', "application/json", 422),
        (b"\xff\xfe\x00garbage-zqx", "application/json", 422),
        (b"[" * 5000 + b"]" * 5000, "application/json", 422),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "application/json", 422),
        (b"purpose=segmentation", "application/x-www-form-urlencoded", 415),
        (b"<xml/>", "text/xml", 415),
        (b'"just a string zqx"', "application/json", 422),
        (
            # An unknown key is named only when shaped like a field name
            # (`reportable_name`): a value sent as a key never comes back.
            b'{"purpose": "segmentation", "records": [], "zqx@example.org": 1}',
            "application/json",
            422,
        ),
        (b'{"purpose": "segmentation", "records": {}}', "application/json", 422),
        (b"", "application/json", 422),
    ],
)
def test_bad_bodies_are_client_errors(
    client: TestClient,
    partner_headers: dict[str, str],
    content: bytes,
    content_type: str,
    status: int,
) -> None:
    response = client.post(
        PATH, content=content, headers=partner_headers | {"Content-Type": content_type}
    )
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status"} <= set(body)
    assert "zqx" not in response.text
    assert client.get("/healthz").status_code == 200


def test_body_over_the_limit_is_413(
    client: TestClient, ctx: GatewayContext, partner_headers: dict[str, str]
) -> None:
    big = (
        b'{"purpose":"segmentation","records":['
        + b" " * ctx.settings.max_body_bytes
        + b"]}"
    )
    response = client.post(
        PATH,
        content=big,
        headers=partner_headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_batch_over_the_limit_is_422(
    client: TestClient, ctx: GatewayContext, partner_headers: dict[str, str]
) -> None:
    records = [customer() for _ in range(ctx.settings.max_batch_records + 1)]
    response = client.post(
        PATH,
        json={"purpose": "segmentation", "records": records},
        headers=partner_headers,
    )
    assert response.status_code == 422
    assert "at most" in response.json()["detail"]


def test_unknown_dataset_is_404(
    client: TestClient, partner_headers: dict[str, str]
) -> None:
    response = client.post(
        "/v1/datasets/nope/records",
        json={"purpose": "segmentation", "records": [customer()]},
        headers=partner_headers,
    )
    assert response.status_code == 404


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_invalid_consent_events_are_rejected_one_by_one(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    events = [
        {
            "identifier_type": "email",
            "identifier": "broken-zqx",
            "purpose": "segmentation",
            "status": "granted",
            "timestamp": "2026-01-01T00:00:00Z",
            "source": "cmp",
        },
        {
            "identifier_type": "shoe",
            "identifier": "x",
            "purpose": "segmentation",
            "status": "granted",
            "timestamp": "2026-01-01T00:00:00Z",
            "source": "cmp",
        },
        {
            "identifier_type": "email",
            "identifier": "ok@example.com",
            "purpose": "nope",
            "status": "granted",
            "timestamp": "2026-01-01T00:00:00Z",
            "source": "cmp",
        },
        {
            "identifier_type": "email",
            "identifier": "ok@example.com",
            "purpose": "segmentation",
            "status": "maybe",
            "timestamp": "2026-01-01T00:00:00Z",
            "source": "cmp",
        },
        {
            "identifier_type": "email",
            "identifier": "ok@example.com",
            "purpose": "segmentation",
            "status": "granted",
            "timestamp": "yesterday",
            "source": "cmp",
        },
        {
            "identifier_type": "email",
            "identifier": "ok@example.com",
            "purpose": "segmentation",
            "status": "granted",
            "timestamp": "2026-01-01T00:00:00Z",
            "source": "cmp",
        },
    ]
    response = client.post(
        "/v1/consents", json={"events": events}, headers=partner.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["rejected"] * 5 + ["recorded"]
    assert [r["reason"] for r in body["results"][:3]] == [
        "invalid",
        "invalid",
        "purpose_not_allowed",
    ]
    assert "zqx" not in response.text


@pytest.mark.parametrize("purpose", ["x" * 200, "Segmentation!", "", 7])
def test_malformed_purpose_is_422(
    client: TestClient, partner_headers: dict[str, str], purpose: object
) -> None:
    response = client.post(
        PATH, json={"purpose": purpose, "records": [{}]}, headers=partner_headers
    )
    assert response.status_code == 422


def test_unknown_purpose_rejects_each_record(
    client: TestClient, partner_headers: dict[str, str]
) -> None:
    response = client.post(
        PATH,
        json={"purpose": "x" * 64, "records": [customer()]},
        headers=partner_headers,
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["reason"] == "purpose_not_allowed"
