"""401 and 403 on every route and role; tokens; revocation takes effect at once."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.auth.clients import revoke_client
from gateway.context import GatewayContext
from gateway.storage.db import transaction
from tests.factories import ApiClient, customer, make_client

# (method, path, body, the one role allowed)
ROUTES: list[tuple[str, str, Any, str]] = [
    ("POST", "/v1/consents", {"events": []}, "partner"),
    (
        "POST",
        "/v1/datasets/customers/records",
        {"purpose": "segmentation", "records": []},
        "partner",
    ),
    ("GET", "/v1/audit/verify", None, "dpo"),
    ("GET", "/v1/audit/proof/0", None, "dpo"),
    ("GET", "/v1/audit/checkpoint", None, "dpo"),
    ("GET", "/v1/audit/consistency?first=1&second=1", None, "dpo"),
    ("GET", "/v1/audiences/retail_default/segments", None, "destination"),
    ("GET", "/v1/segments/no-such-segment/members", None, "destination"),
    ("GET", "/v1/audiences/retail_default/revocations", None, "destination"),
    ("GET", "/v1/audit/events?action=none", None, "dpo"),
    (
        "POST",
        "/v1/subjects/access",
        {"identifier_type": "email", "identifier": "nobody@example.org"},
        "dpo",
    ),
    (
        "POST",
        "/v1/subjects/erase",
        {"identifier_type": "email", "identifier": "nobody@example.org"},
        "dpo",
    ),
    (
        "POST",
        "/v1/subjects/reidentify",
        {"subject_id": "00000000.none", "justification": "an access-control test"},
        "dpo",
    ),
]
ROLES = ("partner", "destination", "dpo")


def _call(
    http: TestClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> Any:
    return http.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES)
@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer cgw_000000000000_wrong", "Basic abc", "Bearer a.b.c"],
)
def test_refuses_without_valid_credentials(
    client: TestClient,
    method: str,
    path: str,
    body: Any,
    allowed: str,
    header: str | None,
) -> None:
    headers = {"Authorization": header} if header else {}
    response = _call(client, method, path, body, headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES)
@pytest.mark.parametrize("role", ROLES)
def test_refuses_other_roles(
    client: TestClient,
    ctx: GatewayContext,
    method: str,
    path: str,
    body: Any,
    allowed: str,
    role: str,
) -> None:
    caller = make_client(ctx, role)
    response = _call(client, method, path, body, caller.headers)
    if role == allowed:
        assert response.status_code not in (401, 403)
    else:
        assert response.status_code == 403


def test_partner_outside_its_datasets_is_refused(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx, datasets=("events",))
    response = client.post(
        "/v1/datasets/customers/records",
        json={"purpose": "segmentation", "records": [customer()]},
        headers=partner.headers,
    )
    assert response.status_code == 403


def test_destination_outside_its_audiences_is_refused(
    client: TestClient, ctx: GatewayContext
) -> None:
    destination = make_client(ctx, "destination", audiences=())
    response = client.get(
        "/v1/audiences/retail_default/segments", headers=destination.headers
    )
    assert response.status_code == 403


def _token(http: TestClient, who: ApiClient, secret: str | None = None) -> Any:
    return http.post(
        "/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": who.client_id,
            "client_secret": secret or who.api_key,
        },
    )


def test_token_works_like_the_key_and_revocation_is_immediate(
    client: TestClient, ctx: GatewayContext
) -> None:
    dpo = make_client(ctx, "dpo")
    response = _token(client, dpo)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"  # noqa: S105
    assert 0 < body["expires_in"] <= 3600
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/v1/audit/verify", headers=bearer).status_code == 200
    with transaction(ctx.sessions) as session:
        revoke_client(session, ctx, dpo.name)
    assert client.get("/v1/audit/verify", headers=bearer).status_code == 401
    assert client.get("/v1/audit/verify", headers=dpo.headers).status_code == 401
    assert _token(client, dpo).status_code == 401


def test_token_refuses_wrong_secret_or_grant(
    client: TestClient, ctx: GatewayContext
) -> None:
    dpo, other = make_client(ctx, "dpo"), make_client(ctx, "dpo")
    assert _token(client, dpo, secret=other.api_key).status_code == 401
    wrong = "cgw_nothing"
    assert _token(client, dpo, secret=wrong).status_code == 401
    response = client.post(
        "/v1/token",
        data={
            "grant_type": "password",
            "client_id": dpo.client_id,
            "client_secret": dpo.api_key,
        },
    )
    assert response.status_code == 422


def test_health_and_metrics_need_no_credentials(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'route="/healthz"' in metrics.text
    assert "gateway_http_request_duration_seconds" in metrics.text
