"""Access control over every route (OWASP API Top 10 2023: API1, API3, API5).

One table, `ROUTES`, holds a row per route of the app (the app's own route
list is compared with it, so a new route without a row fails) with the roles
it admits and a valid request. Every row is called by every kind of caller:
no credentials, a client of each role, and a client of the admitted role
whose key is revoked, whose token was issued before it was revoked, whose
token expired (by the gateway's own injected clock) or whose token had one
signature byte flipped. `ISOLATION` gives every route its same-role check:
what a second client of the same role must not see or change.

Statuses: 401 without valid credentials; 403 for a valid client of another
role, or a dataset or audience outside its grants (datasets and audiences are
named in the policies, not anyone's secret); 404, exactly as for an id that
does not exist, for another destination's segment (its id is an object of
that destination). The DPO role is one office acting for the controller: no
DPO object is hidden from another DPO, but each DPO's calls are audited under
its own id.
"""

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
import yaml
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from gateway.auth.clients import revoke_client
from gateway.context import GatewayContext, utc_now
from gateway.ids import uuid7
from gateway.main import create_app
from gateway.storage.db import transaction
from pipelines.export import RunToStore, store_run
from tests.databases import POLICIES, gateway_context, throwaway_database
from tests.factories import (
    ApiClient,
    consent,
    customer,
    grant,
    make_client,
    send_consents,
    send_records,
)

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ROLES = ("partner", "destination", "dpo")
# Credentials of a real client of the route's role, refused all the same.
BAD = ("revoked_key", "revoked_token", "expired_token", "tampered_token")
CALLERS = ("none", *ROLES, *BAD)
PUBLIC = frozenset({"anyone"})
ANY_CLIENT = frozenset({"any client"})
AUDIENCE, OTHER_AUDIENCE = "acl_a", "acl_b"
K_MIN = 3
PEOPLE = 4  # in each run's one segment; one is erased, K_MIN stay
REFUSED = "access.refused"
GENERIC_401 = {
    "send Authorization: Bearer <api key or token>",
    "invalid or revoked credentials",
    "invalid or expired token",
    "invalid client credentials",
}


class Clock:
    """The gateway's clock, moved forward by the tests (never back)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def advance(self, seconds: int) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class World:
    """A gateway with two clients of each role, runs for two audiences, tokens."""

    ctx: GatewayContext
    clock: Clock
    http: TestClient
    by_role: dict[str, ApiClient]  # the caller of each role
    other: dict[str, ApiClient]  # a second client of each role
    dest_same: ApiClient  # a second destination granted the same audience
    revoked: dict[str, ApiClient]
    revoked_tokens: dict[str, str]
    person: dict[str, Any]  # partner A's first person, stored and consenting
    record: dict[str, Any]  # partner A's receipt for `person`
    segment: str  # the segment of AUDIENCE's run
    other_segment: str  # the segment of OTHER_AUDIENCE's run
    first_members: list[str] = field(default_factory=list)


def acl_policies(target: Path) -> Path:
    """The project's policies with two small audiences for these tests."""
    shutil.copytree(POLICIES, target)
    path = target / "audiences.yaml"
    document = yaml.safe_load(path.read_text())
    template = document["audiences"]["retail_default"]
    for name in (AUDIENCE, OTHER_AUDIENCE):
        document["audiences"][name] = template | {"k_min": K_MIN}
    path.write_text(yaml.safe_dump(document))
    return target


def token_of(http: TestClient, who: ApiClient) -> str:
    response = http.post(
        "/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": who.client_id,
            "client_secret": who.api_key,
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def tampered(token: str) -> str:
    """The token with the first byte of its signature flipped."""
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    flipped = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    return f"{header}.{payload}.{flipped}"


def _b64(value: dict[str, str]) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def store_audience_run(
    world_ctx: GatewayContext,
    audience: str,
    clock: Clock,
    subjects: list[tuple[str, str]],
) -> str:
    """A finished run of `audience`: one segment, one entity per subject.

    `subjects`: (subject id, identifier key) of each person, as the gateway
    answered them, for the consent and erasure checks at pull time.
    """
    keys = [
        {"entity_id": f"entity-{n}", "subject_id": subject, "identifier_key": key}
        for n, (subject, key) in enumerate(subjects)
    ]
    started = clock()
    ids = store_run(
        world_ctx.sessions,
        RunToStore(
            run_id=uuid7(started),
            audience=audience,
            purpose="segmentation",
            policy_version=world_ctx.policies.version,
            seed=1,
            started_at=started,
            finished_at=started + timedelta(seconds=1),
            summary={"entities": PEOPLE},
            segments=pl.DataFrame(
                {
                    "segment_id": ["S1"],
                    "level": [1],
                    "parent_id": [None],
                    "size": [PEOPLE],
                    "description": ["everyone"],
                },
                schema_overrides={"parent_id": pl.Utf8},
            ),
            memberships=pl.DataFrame(
                {
                    "entity_id": [f"entity-{n}" for n in range(PEOPLE)],
                    "segment_id": ["S1"] * PEOPLE,
                }
            ),
            entity_keys=pl.DataFrame(keys),
        ),
    )
    return ids["S1"]


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("acl")
    policies = acl_policies(tmp / "policies")
    with (
        throwaway_database(request.param, tmp / "db") as database,
        gateway_context(database, tmp / "home", policies=policies) as ctx,
    ):
        clock = Clock()
        ctx.clock = clock
        with TestClient(create_app(ctx)) as http:
            yield _seed(ctx, clock, http)


def _seed(ctx: GatewayContext, clock: Clock, http: TestClient) -> World:
    by_role = {
        "partner": make_client(ctx),
        "destination": make_client(ctx, "destination", audiences=(AUDIENCE,)),
        "dpo": make_client(ctx, "dpo"),
    }
    other = {
        "partner": make_client(ctx),
        "destination": make_client(ctx, "destination", audiences=(OTHER_AUDIENCE,)),
        "dpo": make_client(ctx, "dpo"),
    }
    dest_same = make_client(ctx, "destination", audiences=(AUDIENCE,))
    revoked = {
        "partner": make_client(ctx),
        "destination": make_client(ctx, "destination", audiences=(AUDIENCE,)),
        "dpo": make_client(ctx, "dpo"),
    }
    revoked_tokens = {role: token_of(http, who) for role, who in revoked.items()}
    with transaction(ctx.sessions) as session:
        for who in revoked.values():
            revoke_client(session, ctx, who.name)

    partner = by_role["partner"]
    people = [customer() for _ in range(PEOPLE)]
    granted = send_consents(
        http, partner, [consent("customer_id", p["customer_id"]) for p in people]
    )
    receipt = send_records(http, partner, people).json()
    assert receipt["accepted"] == PEOPLE, receipt
    subjects = [
        (stored["subject_id"], event["identifier_key"])
        for stored, event in zip(receipt["results"], granted["results"], strict=True)
    ]
    segment = store_audience_run(ctx, AUDIENCE, clock, subjects)
    other_segment = store_audience_run(ctx, OTHER_AUDIENCE, clock, subjects)
    world = World(
        ctx,
        clock,
        http,
        by_role,
        other,
        dest_same,
        revoked,
        revoked_tokens,
        people[0],
        receipt["results"][0],
        segment,
        other_segment,
    )
    # Destination A pulls; then the DPO erases the last person: A's feed of
    # revocations now holds one id, which no other destination may read.
    pulled = http.get(
        f"/v1/segments/{segment}/members", headers=by_role["destination"].headers
    )
    assert pulled.status_code == 200, pulled.text
    world.first_members = pulled.json()["members"]
    assert len(world.first_members) == PEOPLE
    erased = http.post(
        "/v1/subjects/erase",
        json={"identifier_type": "email", "identifier": people[-1]["email"]},
        headers=by_role["dpo"].headers,
    )
    assert erased.status_code == 200, erased.text
    return world


@dataclass(frozen=True)
class Call:
    """One request: method, URL and JSON body."""

    method: str
    url: str
    json: Any = None


@dataclass(frozen=True)
class Row:
    """A route, the roles it admits (200 for them), and a valid call."""

    allowed: frozenset[str]
    call: Callable[[World], Call]
    # The properties of the answer (top level; then of each result or item):
    # nothing more may leave (API3, excessive data exposure).
    keys: frozenset[str] | None = None
    item_keys: frozenset[str] | None = None


def _records(world: World) -> Call:
    body = {"purpose": "segmentation", "records": [customer()]}
    return Call("POST", "/v1/datasets/customers/records", json=body)


def _consents(world: World) -> Call:
    event = consent("customer_id", customer()["customer_id"])
    return Call("POST", "/v1/consents", json={"events": [event]})


def _subject(world: World) -> dict[str, str]:
    return {"identifier_type": "email", "identifier": world.person["email"]}


def _reidentify(world: World) -> Call:
    body = {
        "subject_id": world.record["subject_id"],
        "justification": "access-control test: the DPO reaches re-identification",
    }
    return Call("POST", "/v1/subjects/reidentify", json=body)


def _k(names: str) -> frozenset[str]:
    return frozenset(names.split())


def _get(url: str) -> Callable[[World], Call]:
    return lambda _world: Call("GET", url)


PARTNER, DESTINATION, DPO = (frozenset({r}) for r in ROLES)
ROUTES: dict[tuple[str, str], Row] = {
    ("POST", "/v1/token"): Row(
        ANY_CLIENT,
        lambda w: Call("POST", "/v1/token"),
        keys=_k("access_token token_type expires_in"),
    ),
    ("POST", "/v1/consents"): Row(
        PARTNER,
        _consents,
        keys=_k("recorded rejected results"),
        item_keys=_k(
            "index status identifier_key reason errors purposes warnings gpc_withdrawn"
        ),
    ),
    ("POST", "/v1/datasets/{dataset}/records"): Row(
        PARTNER,
        _records,
        keys=_k("accepted rejected results"),
        item_keys=_k(
            "index source_id status record_id subject_id reason errors warnings"
        ),
    ),
    ("GET", "/v1/audiences/{audience}/segments"): Row(
        DESTINATION,
        _get(f"/v1/audiences/{AUDIENCE}/segments"),
        item_keys=_k("segment_id level parent_id size generated_at description"),
    ),
    ("GET", "/v1/segments/{segment_id}/members"): Row(
        DESTINATION,
        lambda w: Call("GET", f"/v1/segments/{w.segment}/members"),
        keys=_k("segment_id members next_cursor"),
    ),
    ("GET", "/v1/audiences/{audience}/revocations"): Row(
        DESTINATION,
        _get(f"/v1/audiences/{AUDIENCE}/revocations"),
        keys=_k("revoked next_cursor resume_cursor"),
        item_keys=_k("id reason at"),
    ),
    ("GET", "/v1/audit/verify"): Row(
        DPO,
        _get("/v1/audit/verify"),
        keys=_k("ok size head_hash first_bad_seq problem root_hash"),
    ),
    ("GET", "/v1/audit/proof/{seq}"): Row(
        DPO,
        _get("/v1/audit/proof/0"),
        keys=_k("leaf_index tree_size leaf_hash audit_path"),
    ),
    ("GET", "/v1/audit/consistency"): Row(
        DPO,
        _get("/v1/audit/consistency?first=1&second=2"),
        keys=_k("first second proof"),
    ),
    ("GET", "/v1/audit/checkpoint"): Row(
        DPO, _get("/v1/audit/checkpoint"), keys=_k("tree_size root_hash checkpoint")
    ),
    ("GET", "/v1/audit/events"): Row(
        DPO,
        _get(f"/v1/audit/events?action={REFUSED}"),
        keys=_k("events next_cursor"),
    ),
    ("POST", "/v1/subjects/access"): Row(
        DPO, lambda w: Call("POST", "/v1/subjects/access", json=_subject(w))
    ),
    ("POST", "/v1/subjects/erase"): Row(
        DPO,
        lambda w: Call(
            "POST",
            "/v1/subjects/erase",
            json={"identifier_type": "email", "identifier": customer()["email"]},
        ),
    ),
    ("POST", "/v1/subjects/reidentify"): Row(DPO, _reidentify),
    ("GET", "/healthz"): Row(
        PUBLIC, _get("/healthz"), keys=_k("status policy_version")
    ),
    ("GET", "/metrics"): Row(PUBLIC, _get("/metrics")),
    ("GET", "/openapi.json"): Row(PUBLIC, _get("/openapi.json")),
    ("GET", "/docs"): Row(PUBLIC, _get("/docs")),
    ("GET", "/docs/oauth2-redirect"): Row(PUBLIC, _get("/docs/oauth2-redirect")),
    ("GET", "/redoc"): Row(PUBLIC, _get("/redoc")),
}


def app_routes(world: World) -> set[tuple[str, str]]:
    """Every (method, path) the app serves (HEAD is GET's shadow)."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(world.http.app.routes):  # type: ignore[attr-defined]
        # A route without methods (a mount, a websocket) would need a row too.
        assert route.path, route
        assert route.methods, route
        found |= {(m, route.path) for m in route.methods if m != "HEAD"}
    return found


def test_every_route_has_a_row(world: World) -> None:
    served = app_routes(world)
    assert served == set(ROUTES), "add a row to ROUTES for each new route"
    assert served == set(ISOLATION), "add a same-role check to ISOLATION"


def _role_of(row: Row) -> str:
    """The role whose revoked, expired or tampered credentials are tried."""
    return next((r for r in ROLES if r in row.allowed), "partner")


def _credential(world: World, row: Row, caller: str) -> str | None:
    """The caller's credential: an API key or a token (None: nothing sent)."""
    role = _role_of(row)
    if caller == "none":
        return None
    if caller in ROLES:
        return world.by_role[caller].api_key
    if caller == "revoked_key":
        return world.revoked[role].api_key
    if caller == "revoked_token":
        return world.revoked_tokens[role]
    token = token_of(world.http, world.by_role[role])
    if caller == "tampered_token":
        return tampered(token)
    # Expiry by the gateway's own clock: the token's lifetime, to the second.
    world.clock.advance(world.ctx.settings.token_ttl_seconds)
    return token


def _client_id(world: World, row: Row, caller: str) -> str:
    if caller in ROLES:
        return world.by_role[caller].client_id
    if caller.startswith("revoked"):
        return world.revoked[_role_of(row)].client_id
    return world.by_role[_role_of(row)].client_id


def send(world: World, row: Row, caller: str) -> httpx.Response:
    call = row.call(world)
    credential = _credential(world, row, caller)
    if row.allowed == ANY_CLIENT:
        # The token route takes its credentials in the form, not the header.
        form = None
        if credential is not None:
            form = {
                "grant_type": "client_credentials",
                "client_id": _client_id(world, row, caller),
                "client_secret": credential,
            }
        return world.http.post(call.url, data=form)
    headers = bearer(credential) if credential is not None else {}
    return world.http.request(call.method, call.url, json=call.json, headers=headers)


def expected(row: Row, caller: str) -> int:
    if row.allowed == PUBLIC:
        return 200
    if row.allowed == ANY_CLIENT:
        # No form at all (no content type either) is a 415; any refused
        # secret is a 401.
        return {"none": 415}.get(caller, 200 if caller in ROLES else 401)
    if caller not in ROLES:
        return 401
    return 200 if caller in row.allowed else 403


def _check_properties(row: Row, body: Any) -> None:
    items = body
    if row.keys is not None:
        assert set(body) == row.keys
        items = next((v for v in body.values() if isinstance(v, list)), [])
    if row.item_keys is not None:
        for item in items:
            assert set(item) == row.item_keys


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", list(ROUTES), ids="{0[0]} {0[1]}".format)
def test_route_by_caller(world: World, route: tuple[str, str], caller: str) -> None:
    row = ROUTES[route]
    response = send(world, row, caller)
    assert response.status_code == expected(row, caller), response.text
    if response.status_code == 200 and (row.keys or row.item_keys):
        _check_properties(row, response.json())
    if response.status_code in (401, 403):
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == response.status_code
        # The same words whether a key is unknown, wrong, revoked or expired;
        # no client id, no key id.
        if response.status_code == 401:
            assert problem["detail"] in GENERIC_401
        for who in (*world.by_role.values(), *world.revoked.values()):
            assert who.client_id not in response.text
            assert who.api_key.split("_")[1] not in response.text
    if response.status_code == 401 and row.allowed != ANY_CLIENT:
        assert response.headers["www-authenticate"] == "Bearer"


# --- one client against another of the same role ---------------------------


def _token_other_secret(world: World) -> None:
    """Partner A's id with partner B's key gets no token (for either)."""
    a, b = world.by_role["partner"], world.other["partner"]
    response = world.http.post(
        "/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": a.client_id,
            "client_secret": b.api_key,
        },
    )
    assert response.status_code == 401
    assert "access_token" not in response.text


def _consents_other_partner(world: World) -> None:
    """A customer id is the partner's own: B's events under it never reach A's."""
    a, b = world.by_role["partner"], world.other["partner"]
    shared = customer()["customer_id"]  # the same string at both partners
    mine = send_consents(world.http, a, [consent("customer_id", shared)])
    theirs = send_consents(
        world.http,
        b,
        [consent("customer_id", shared, "withdrawn", timestamp="2026-06-01T00:00:00Z")],
    )
    key_a = mine["results"][0]["identifier_key"]
    assert key_a != theirs["results"][0]["identifier_key"]
    # B's later withdrawal does not withdraw A's grant...
    record = customer(customer_id=shared, email=None, phone=None)
    body = send_records(world.http, a, [record]).json()
    assert body["results"][0]["status"] == "accepted", body
    # ...and B's grant under a customer id gives A's customer of that id nothing.
    unshared = customer()
    grant(world.http, b, unshared)
    body = send_records(world.http, a, [unshared]).json()
    assert body["results"][0]["reason"] == "consent_missing", body
    # A purpose outside the partner's grants is refused, event by event.
    analytics_only = make_client(world.ctx, purposes=("analytics",))
    body = send_consents(world.http, analytics_only, [consent("customer_id", shared)])
    assert body["results"][0]["reason"] == "purpose_not_allowed", body
    # Property level: a consent event cannot name another client.
    response = world.http.post(
        "/v1/consents",
        json={"events": [consent("customer_id", shared) | {"client_id": b.client_id}]},
        headers=a.headers,
    )
    # Refused whole (a strict body) or per event; never recorded either way.
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        result = response.json()["results"][0]
        assert result["status"] == "rejected", result
        assert result["reason"] == "invalid", result


def _records_other_partner(world: World) -> None:
    """B reusing A's source_id makes B's own record; A's stays A's, unchanged."""
    a, b = world.by_role["partner"], world.other["partner"]
    grant(world.http, b, world.person)
    changed = world.person | {"loyalty_tier": "silver"}
    body = send_records(world.http, b, [changed]).json()
    theirs = body["results"][0]
    assert theirs["status"] == "accepted", body
    assert theirs["record_id"] != world.record["record_id"]
    assert theirs["subject_id"] != world.record["subject_id"]
    again = send_records(world.http, a, [world.person]).json()["results"][0]
    assert again["status"] == "duplicate"
    assert again["record_id"] == world.record["record_id"]
    # Property level: no body may name the client, record or subject it is for.
    top = {"purpose": "segmentation", "records": [customer()], "client_id": "x"}
    response = world.http.post(
        "/v1/datasets/customers/records", json=top, headers=a.headers
    )
    assert response.status_code == 422
    for name in ("client_id", "record_id", "subject_id"):
        forged = customer() | {name: theirs.get(name, b.client_id)}
        grant(world.http, a, forged)
        result = send_records(world.http, a, [forged]).json()["results"][0]
        assert result["status"] == "rejected", result
        assert result["reason"] == "invalid", result
    # A dataset outside the grants: 403.
    events_only = make_client(world.ctx, datasets=("events",))
    refused = send_records(world.http, events_only, [customer()])
    assert refused.status_code == 403
    # Idempotency replies are per client: B never gets A's stored reply, and
    # B's use of the same key is not a conflict with A's.
    key = {"Idempotency-Key": f"acl-{uuid7(world.clock())}"}
    person = customer()
    grant(world.http, a, person)
    grant(world.http, b, person)
    first = send_records(world.http, a, [person], headers=key)
    assert first.status_code == 200, first.text
    replay = send_records(world.http, a, [person], headers=key)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first.json()
    same = send_records(world.http, b, [person], headers=key)
    assert same.status_code == 200, same.text
    assert "idempotent-replayed" not in same.headers
    assert (
        same.json()["results"][0]["record_id"]
        != first.json()["results"][0]["record_id"]
    )
    other_body = send_records(world.http, b, [customer()], headers=key)
    assert other_body.status_code == 409  # B's own key, reused with another body


def _segments_other_destination(world: World) -> None:
    """Another destination's audience: 403; the listing shows only its fields."""
    a, b = world.by_role["destination"], world.other["destination"]
    url = f"/v1/audiences/{AUDIENCE}/segments"
    assert world.http.get(url, headers=b.headers).status_code == 403
    listed = world.http.get(url, headers=a.headers).json()
    assert [s["segment_id"] for s in listed] == [world.segment]
    assert set(listed[0]) == {
        "segment_id",
        "level",
        "parent_id",
        "size",
        "generated_at",
        "description",
    }
    unknown = world.http.get("/v1/audiences/no_such/segments", headers=a.headers)
    assert unknown.status_code == 404


def _members_other_destination(world: World) -> None:
    """Another destination's segment answers as a segment that does not exist."""
    a, b = world.by_role["destination"], world.other["destination"]
    foreign = world.http.get(f"/v1/segments/{world.segment}/members", headers=b.headers)
    missing = world.http.get(
        f"/v1/segments/{uuid7(world.clock())}/members", headers=b.headers
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    own = world.http.get(
        f"/v1/segments/{world.other_segment}/members", headers=b.headers
    )
    assert own.status_code == 200, own.text
    # Two destinations of one audience get ids they cannot join on.
    mine = world.http.get(f"/v1/segments/{world.segment}/members", headers=a.headers)
    same = world.http.get(
        f"/v1/segments/{world.segment}/members", headers=world.dest_same.headers
    )
    assert mine.status_code == same.status_code == 200
    assert len(mine.json()["members"]) == len(same.json()["members"]) == K_MIN
    assert set(mine.json()["members"]).isdisjoint(same.json()["members"])


def _revocations_other_destination(world: World) -> None:
    """The feed is the destination's own: what it pulled, in its own ids."""
    a, b = world.by_role["destination"], world.other["destination"]
    url = f"/v1/audiences/{AUDIENCE}/revocations"
    assert world.http.get(url, headers=b.headers).status_code == 403
    own = world.http.get(url, headers=a.headers).json()["revoked"]
    assert len(own) == 1
    assert own[0]["id"] in world.first_members
    # dest_same was granted the audience too, but never pulled the erased id
    # (it was erased before dest_same's first pull).
    same = world.http.get(url, headers=world.dest_same.headers).json()["revoked"]
    assert same == []


def _dpo_one_office(world: World) -> None:
    """DPOs share the office's view; each DPO's calls are audited under its id."""
    a, b = world.by_role["dpo"], world.other["dpo"]
    response = world.http.post(
        "/v1/subjects/access", json=_subject(world), headers=a.headers
    )
    assert response.status_code == 200, response.text
    events = world.http.get(
        "/v1/audit/events?action=subject.accessed&limit=1000", headers=b.headers
    ).json()["events"]
    assert a.client_id in {e["actor"] for e in events}
    # Property level: a subject body cannot carry who acts.
    forged = _subject(world) | {"actor": b.client_id}
    refused = world.http.post("/v1/subjects/access", json=forged, headers=a.headers)
    assert refused.status_code == 422


def _public_names_no_client(world: World) -> None:
    """Public routes hold no per-client data: no client id in them."""
    for url in ("/healthz", "/metrics"):
        text = world.http.get(url).text
        for who in (*world.by_role.values(), *world.other.values()):
            assert who.client_id not in text


ISOLATION: dict[tuple[str, str], Callable[[World], None]] = {
    ("POST", "/v1/token"): _token_other_secret,
    ("POST", "/v1/consents"): _consents_other_partner,
    ("POST", "/v1/datasets/{dataset}/records"): _records_other_partner,
    ("GET", "/v1/audiences/{audience}/segments"): _segments_other_destination,
    ("GET", "/v1/segments/{segment_id}/members"): _members_other_destination,
    ("GET", "/v1/audiences/{audience}/revocations"): _revocations_other_destination,
    **{
        route: _dpo_one_office
        for route in ROUTES
        if route[1].startswith(("/v1/audit", "/v1/subjects"))
    },
    **{
        route: _public_names_no_client
        for route, row in ROUTES.items()
        if row.allowed == PUBLIC
    },
}


@pytest.mark.parametrize(
    "check", sorted(set(ISOLATION.values()), key=lambda f: f.__name__)
)
def test_same_role_isolation(world: World, check: Callable[[World], None]) -> None:
    check(world)


# --- refusals are audited ------------------------------------------------------


def refusals(world: World) -> list[dict[str, Any]]:
    """Every `access.refused` event, in log order (read as the DPO)."""
    events: list[dict[str, Any]] = []
    cursor = ""
    while cursor is not None:
        page = world.http.get(
            "/v1/audit/events",
            params={"action": REFUSED, "limit": 1000, "cursor": cursor},
            headers=world.by_role["dpo"].headers,
        ).json()
        events += page["events"]
        cursor = page["next_cursor"]
    return events


def test_refusals_are_audited_and_revocation_is_immediate(world: World) -> None:
    http, clock = world.http, world.clock
    before = len(refusals(world))
    partner, victim = make_client(world.ctx), make_client(world.ctx, "dpo")
    events_only = make_client(world.ctx, datasets=("events",))
    foreign_dest = world.other["destination"]
    expected: list[tuple[str, str, int, str]] = []

    def refused(
        response: httpx.Response, who: ApiClient | None, reason: str, route: str
    ) -> None:
        status = response.status_code
        assert status in (401, 403, 404), response.text
        if who is not None:
            expected.append((who.client_id, reason, status, route))

    # Anonymous or unverifiable: refused, not audited.
    refused(http.get("/v1/audit/verify"), None, "", "")
    unknown = "cgw_000000000000_" + "A" * 43
    refused(http.get("/v1/audit/verify", headers=bearer(unknown)), None, "", "")
    forged = tampered(token_of(http, victim))
    refused(http.get("/v1/audit/verify", headers=bearer(forged)), None, "", "")
    _, payload, _ = token_of(http, victim).split(".")
    unsigned = ".".join((_b64({"alg": "none", "typ": "JWT"}), payload, ""))
    refused(http.get("/v1/audit/verify", headers=bearer(unsigned)), None, "", "")
    # Another role; a dataset outside the grants; another destination's segment.
    verify = "/v1/audit/verify"
    refused(http.get(verify, headers=partner.headers), partner, "role", verify)
    records = "/v1/datasets/{dataset}/records"
    response = send_records(http, events_only, [customer()])
    refused(response, events_only, "grant", records)
    members = "/v1/segments/{segment_id}/members"
    response = http.get(
        f"/v1/segments/{world.segment}/members", headers=foreign_dest.headers
    )
    refused(response, foreign_dest, "grant", members)
    # A real key id with a wrong secret; a valid key under another client's id.
    wrong = victim.api_key[:-1] + ("A" if victim.api_key[-1] != "A" else "B")
    refused(http.get(verify, headers=bearer(wrong)), victim, "bad_secret", verify)
    mismatch = http.post(
        "/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": victim.client_id,
            "client_secret": partner.api_key,
        },
    )
    refused(mismatch, partner, "client_mismatch", "/v1/token")
    # A token works until the second it expires, by the gateway's clock.
    ttl = world.ctx.settings.token_ttl_seconds
    token = token_of(http, victim)
    clock.advance(ttl - 1)
    assert http.get(verify, headers=bearer(token)).status_code == 200
    clock.advance(1)
    expired = http.get(verify, headers=bearer(token))
    refused(expired, victim, "token_expired", verify)
    # Revocation takes effect at the next call, for the key and its tokens.
    token = token_of(http, victim)
    assert http.get(verify, headers=bearer(token)).status_code == 200
    with transaction(world.ctx.sessions) as session:
        revoke_client(session, world.ctx, victim.name)
    refused(http.get(verify, headers=bearer(token)), victim, "revoked", verify)
    refused(http.get(verify, headers=victim.headers), victim, "revoked", verify)

    new = refusals(world)[before:]
    seen = [
        (e["actor"], e["reason"], e["details"]["status"], e["details"]["route"])
        for e in new
    ]
    # The route is the matched template (the framework may leave out the
    # router's /v1 prefix), never a concrete path with an id in it.
    assert [s[:3] for s in seen] == [e[:3] for e in expected], (
        "every refusal of a known client is audited, no anonymous one "
        "(gateway.auth.refusals, called from the problem handler)"
    )
    for (*_, route), (*_, template) in zip(seen, expected, strict=True):
        assert template.endswith(route), (route, template)
        assert world.segment not in route
    for event in new:
        assert set(event["details"]) == {"status", "method", "route"}
        assert event["subject_id"] is None
