"""Typed edges: bodies are strict models, every response is validated by its own.

Over real HTTP on SQLite and PostgreSQL: each JSON route declares a response
type with no `Any` and no untyped dict in it, and what it sends is exactly that
type; an unknown key or an over-long string in a body is a 422 (or, for
credentials, a 401) problem document that quotes nothing sent; a consent event
that does not fit its model is rejected alone, the rest of its batch recorded.
"""

import types
import typing
import uuid
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, JsonValue, TypeAdapter, ValidationError
from sqlalchemy import func, select

from gateway.api import problems
from gateway.context import GatewayContext
from gateway.fields.names import UNNAMED
from gateway.storage.db import transaction
from gateway.storage.models import AuditEventRow, ConsentEventRow
from gateway.subjects.documents import AccessDocument, Reidentification
from tests.factories import ApiClient, consent, customer, make_client, send_records

PROBLEM = "application/problem+json"
# Routes that answer something other than a JSON document.
NOT_JSON = {"/metrics"}


def _canary() -> str:
    return f"zz{uuid.uuid4().hex[:12]}zz"


# --- every route's response type is declared, and typed all the way down ----


def _loose(tp: Any, seen: set[int]) -> list[str]:
    """The parts of a type that accept anything (Any, a bare dict or list)."""
    if tp is Any:
        return ["Any"]
    if tp is JsonValue or id(tp) in seen:
        return []  # JsonValue: any JSON value, by design (record data, details)
    seen.add(id(tp))
    origin = get_origin(tp)
    if origin is Annotated:
        return _loose(get_args(tp)[0], seen)
    if origin is Literal:
        return []
    if tp in (dict, list, tuple, set, object):
        return [f"bare {tp.__name__}"]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [
            f"{tp.__name__}.{name}: {part}"
            for name, info in tp.model_fields.items()
            for part in _loose(info.annotation, seen)
        ]
    if typing.is_typeddict(tp):
        return [
            f"{tp.__name__}.{name}: {part}"
            for name, hint in typing.get_type_hints(tp).items()
            for part in _loose(hint, seen)
        ]
    if origin in (list, dict, tuple, Union, types.UnionType):
        return [part for arg in get_args(tp) for part in _loose(arg, seen)]
    return []


def _api_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """Every operation with its full path, through included routers."""
    found: list[tuple[str, APIRoute]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):
            # FastAPI keeps an included router nested, under its prefix.
            inner = prefix + route.include_context.prefix
            found += _api_routes(route.original_router.routes, inner)
    return found


def _json_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    return [(p, r) for p, r in _api_routes(app.routes) if p not in NOT_JSON]


def test_every_json_route_declares_a_typed_response(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    routes = _json_routes(app)
    assert len(routes) >= 15, [path for path, _ in routes]
    for path, route in routes:
        where = f"{sorted(route.methods)} {path}"
        # A response field is what FastAPI validates and serializes the
        # return value with: without one, whatever the function returns goes.
        assert route.response_model is not None, where
        assert route.response_field is not None, where
        assert _loose(route.response_model, set()) == [], where


def test_the_loose_type_finder_finds_loose_types() -> None:
    class Loose(BaseModel):
        items: list[dict[str, Any]]
        bag: dict  # type: ignore[type-arg]

    assert _loose(Loose, set()) == ["Loose.items: Any", "Loose.bag: bare dict"]
    assert _loose(dict[str, Any], set()) == ["Any"]
    assert _loose(list[dict[str, JsonValue]], set()) == []


def test_every_documented_200_has_a_schema(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        if path in NOT_JSON:
            continue
        for method, operation in operations.items():
            content = operation["responses"]["200"]["content"]["application/json"]
            assert content["schema"], f"{method} {path}"


# --- what routes send is exactly their declared type -------------------------


def _adapter(app: FastAPI, path: str) -> TypeAdapter[Any]:
    [route] = [r for full, r in _api_routes(app.routes) if full == path]
    return TypeAdapter(route.response_model)


def test_subject_responses_are_their_declared_documents(
    client: TestClient, ctx: GatewayContext
) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    partner, dpo = make_client(ctx), make_client(ctx, "dpo")
    person = customer()
    grant = consent("customer_id", person["customer_id"])
    client.post("/v1/consents", json={"events": [grant]}, headers=partner.headers)
    [result] = send_records(client, partner, [person]).json()["results"]
    assert result["status"] == "accepted"
    who = {"identifier_type": "customer_id", "identifier": person["customer_id"]}
    calls = [
        ("/v1/subjects/access", who),
        (
            "/v1/subjects/reidentify",
            {
                "subject_id": result["subject_id"],
                "justification": "a typed edges test",
            },
        ),
        ("/v1/subjects/erase", who),
    ]
    for path, body in calls:
        response = client.post(path, json=body, headers=dpo.headers)
        assert response.status_code == 200, response.text[:300]
        sent = response.json()
        # Round trip through the declared type: nothing sent falls outside it
        # (each document forbids unknown keys), nothing it declares is missing.
        typed = _adapter(app, path).validate_json(response.content)
        assert _adapter(app, path).dump_python(typed, mode="json") == sent, path


def test_a_document_with_an_undeclared_key_does_not_validate() -> None:
    """The subject documents forbid what they do not declare: FastAPI's check
    of a response against them then fails (a 500), rather than passing it on.
    """
    adapter = TypeAdapter(AccessDocument)
    valid = {
        "format": "f",
        "generated_at": None,
        "identifier_type": "email",
        "found": False,
        "subjects": [],
        "records": [],
        "consents": [],
        "segments": [],
        "recipients": [],
        "audit_events": [],
    }
    adapter.validate_python(valid)
    with pytest.raises(ValidationError):
        adapter.validate_python(valid | {"identifier": "leaked@example.com"})


def test_audit_events_and_health_are_their_declared_types(
    client: TestClient, ctx: GatewayContext
) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    dpo = make_client(ctx, "dpo")
    response = client.get("/v1/audit/events?limit=5", headers=dpo.headers)
    assert response.status_code == 200, response.text[:300]
    page = _adapter(app, "/v1/audit/events").validate_json(response.content)
    assert len(page.events) >= 1
    health = client.get("/healthz")
    _adapter(app, "/healthz").validate_json(health.content)


# --- bodies: an unknown key or an over-long string is refused, unechoed ------


def _assert_problem(response: Any, status: int, canary: str) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith(PROBLEM)
    assert canary not in response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    return body


def _subject(canary: str) -> dict[str, str]:
    return {"identifier_type": "email", "identifier": f"{canary}@example.com"}


def _reidentify(canary: str) -> dict[str, str]:
    return {"subject_id": f"{canary[:8]}.{'0' * 64}", "justification": canary * 2}


def _consents(canary: str) -> dict[str, Any]:
    return {"events": [consent("email", f"{canary}@example.com")]}


# (path, role, a valid body, the string field to make too long, its limit)
BODIES = [
    ("/v1/subjects/access", "dpo", _subject, "identifier", 1024),
    ("/v1/subjects/erase", "dpo", _subject, "identifier", 1024),
    ("/v1/subjects/reidentify", "dpo", _reidentify, "justification", 2000),
    ("/v1/subjects/reidentify", "dpo", _reidentify, "subject_id", 128),
]


@pytest.mark.parametrize(
    ("path", "role", "make"),
    [(p, r, m) for p, r, m, _, _ in BODIES[:3]]
    + [("/v1/consents", "partner", _consents)],
    ids=["access", "erase", "reidentify", "consents"],
)
def test_an_unknown_key_is_a_422_naming_no_value(
    client: TestClient, ctx: GatewayContext, path: str, role: str, make: Any
) -> None:
    caller = make_client(ctx, role)
    canary = _canary()
    for key, expected in (("note", "note"), (f"{canary}@example.com", UNNAMED)):
        body = make(canary) | {key: canary}
        response = client.post(path, json=body, headers=caller.headers)
        problem = _assert_problem(response, 422, canary)
        assert problem["errors"] == [{"field": expected, "reason": "extra_forbidden"}]


@pytest.mark.parametrize(
    ("path", "role", "make", "field", "limit"),
    BODIES,
    ids=["access", "erase", "reidentify-justification", "reidentify-subject"],
)
def test_an_over_long_string_is_a_422_naming_no_value(
    client: TestClient,
    ctx: GatewayContext,
    path: str,
    role: str,
    make: Any,
    field: str,
    limit: int,
) -> None:
    caller = make_client(ctx, role)
    canary = _canary()
    body = make(canary) | {field: canary * (limit // len(canary) + 1)}
    response = client.post(path, json=body, headers=caller.headers)
    problem = _assert_problem(response, 422, canary)
    assert problem["errors"] == [{"field": field, "reason": "string_too_long"}]


def test_token_form_ignores_unknown_fields_and_refuses_long_credentials(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    canary = _canary()
    good = {
        "grant_type": "client_credentials",
        "client_id": partner.client_id,
        "client_secret": partner.api_key,
    }
    assert client.post("/v1/token", data=good).status_code == 200
    # RFC 6749 lets a client name a scope; grants are fixed, so it is ignored.
    assert client.post("/v1/token", data=good | {"scope": "all"}).status_code == 200
    # RFC 6749 section 3.2: parameters the server does not know are ignored
    # (`audience`, `resource` sent by clients written for other servers).
    extra = client.post("/v1/token", data=good | {"audience": canary})
    assert extra.status_code == 200
    assert canary not in extra.text
    problem = _assert_problem(
        client.post("/v1/token", data=good | {"grant_type": canary}), 422, canary
    )
    assert problem["errors"] == [{"field": "grant_type", "reason": "literal_error"}]
    # No client has a key that long: refused as wrong credentials are.
    long_secret = good | {"client_secret": canary * 100}
    _assert_problem(client.post("/v1/token", data=long_secret), 401, canary)


# --- consent events: a malformed one is rejected alone -----------------------


def _count(ctx: GatewayContext, model: Any, **where: Any) -> int:
    with transaction(ctx.read_sessions) as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(session.scalar(stmt) or 0)


def test_a_bad_consent_event_is_rejected_alone(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner: ApiClient = make_client(ctx)
    canary = _canary()

    def good() -> dict[str, Any]:
        return consent("email", f"ok-{uuid.uuid4().hex[:8]}@example.com")

    events = [
        good(),
        good() | {"note": canary},  # an unknown key
        good(),
        good() | {"source": canary * 10},  # past the source pattern's 64
        good() | {"identifier": canary * 100},  # past 1,024 characters
        good() | {"status": canary},
        good() | {"explicit": "yes"},  # strict: a string is no boolean
        "not an object",
        good(),
    ]
    before = _count(ctx, ConsentEventRow, client_id=partner.client_id)
    response = client.post(
        "/v1/consents", json={"events": events}, headers=partner.headers
    )
    assert response.status_code == 200, response.text[:300]
    assert canary not in response.text
    body = response.json()
    assert (body["recorded"], body["rejected"]) == (3, 6)
    outcomes = [(r["index"], r["status"]) for r in body["results"]]
    assert outcomes == [
        (i, "recorded" if i in (0, 2, 8) else "rejected") for i in range(9)
    ]
    errors = {r["index"]: r["errors"] for r in body["results"]}
    assert errors[1] == [
        {"field": "note", "reason": "invalid", "message": "unknown field"}
    ]
    assert errors[3] == [
        {
            "field": "source",
            "reason": "invalid",
            "message": "expected 1-64 of A-Z a-z 0-9 . _ : / -",
        }
    ]
    assert errors[4] == [
        {
            "field": "identifier",
            "reason": "invalid",
            "message": "at most 1024 characters",
        }
    ]
    assert [e["field"] for i in (5, 6, 7) for e in errors[i]] == [
        "status",
        "explicit",
        "",
    ]
    # Only a refused TC string names a rule: no `rule: null` elsewhere.
    assert all("rule" not in e for r in body["results"] for e in r["errors"])
    after = _count(ctx, ConsentEventRow, client_id=partner.client_id)
    assert after - before == 3
    rejected = _count(
        ctx, AuditEventRow, actor=partner.client_id, action="consent.rejected"
    )
    assert rejected == 6


def test_an_empty_or_overfull_envelope_refuses_the_batch(
    client: TestClient, ctx: GatewayContext
) -> None:
    partner = make_client(ctx)
    empty = client.post("/v1/consents", json={"events": []}, headers=partner.headers)
    problem = _assert_problem(empty, 422, "\x00")
    assert problem["errors"] == [{"field": "events", "reason": "too_short"}]
    not_a_list = client.post(
        "/v1/consents", json={"events": {"a": 1}}, headers=partner.headers
    )
    _assert_problem(not_a_list, 422, "\x00")
    over = [consent("email", "x@example.com")] * (ctx.settings.max_batch_records + 1)
    too_many = client.post(
        "/v1/consents", json={"events": over}, headers=partner.headers
    )
    assert "at most" in _assert_problem(too_many, 422, "x@example.com")["detail"]


def test_a_response_outside_its_type_is_a_500_problem_quoting_nothing() -> None:
    """What FastAPI does with a document its route's type refuses: no send."""
    app = FastAPI()
    problems.install(app)
    canary = _canary()

    @app.get("/document")
    def document() -> Reidentification:
        sent: Any = {
            "subject_id": "s",
            "found": True,
            "identifiers": {},
            "records": [],
            "identifier": f"{canary}@example.com",  # not part of the type
        }
        return typing.cast(Reidentification, sent)

    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/document")
    problem = _assert_problem(response, 500, canary)
    assert problem["type"] == "/problems/internal-error"
