"""Hostile input on every route that takes a body (issue 14, item 3).

Each case is sent over real HTTP to the real app, on SQLite and PostgreSQL,
and must:

* get a clear 4xx as RFC 9457 `application/problem+json` (a whole-body
  refusal), or, for a value inside one record or consent event, a per-record
  (per-event) rejection in a 200 receipt: a bad record never fails its batch;
* store nothing: no record, vault entry, subject key, consent event or
  idempotency reply, and no audit event beyond the per-record rejection the
  design audits (DESIGN.md: "its rejection is audited without personal data");
* echo no submitted value, in the response or in the audit log;
* leave the gateway serving: a valid request right after it succeeds.

Injection strings (`'; DROP TABLE records;--`, `{{7*7}}`, ...) are valid text:
a free string field stores them literally (parameterized SQL, no template
evaluation), every typed field refuses them.
"""

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select, true

from gateway.consent.service import EVENT_KEYS
from gateway.context import GatewayContext
from gateway.crypto.envelope import FieldCipher, unwrap_data_key
from gateway.crypto.keyring import KeyPurpose
from gateway.storage.db import transaction
from gateway.storage.models import (
    AuditEventRow,
    ConsentEventRow,
    IdempotencyRow,
    RecordRow,
    SubjectKeyRow,
    VaultEntryRow,
)
from gateway.vault import open_entry
from tests.factories import ApiClient, consent, customer, make_client

PROBLEM = "application/problem+json"
JSON = "application/json"
# Put in every hostile body: it must never come back, nor reach the audit log.
CANARY = "zqxhostile"
RECORDS = "/v1/datasets/customers/records"
EVENTS = "/v1/datasets/events/records"

SQL = "'; DROP TABLE records;--"
TEMPLATE = "{{7*7}}"
JNDI = "${jndi:ldap://x}"
FORMAT = "%s%n"
INJECTIONS = {"sql": SQL, "template": TEMPLATE, "jndi": JNDI, "format": FORMAT}


@dataclass(frozen=True)
class Raw:
    """A JSON fragment written as is (numbers no parser can hold, extensions)."""

    text: str


def dumps(value: Any) -> bytes:
    """JSON with every non-ASCII character escaped, and `Raw` fragments inlined.

    Escaping keeps lone surrogates and control characters as `\\uXXXX`, the way
    a hostile client sends them (they cannot be encoded as UTF-8 bytes).
    """
    fragments: dict[str, str] = {}

    def walk(item: Any) -> Any:
        if isinstance(item, Raw):
            marker = f"@raw{len(fragments)}@"
            fragments[f'"{marker}"'] = item.text
            return marker
        if isinstance(item, dict):
            return {key: walk(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [walk(inner) for inner in item]
        return item

    text = json.dumps(walk(value), ensure_ascii=True, separators=(",", ":"))
    for marker, fragment in fragments.items():
        text = text.replace(marker, fragment)
    return text.encode()


# --- database state ---------------------------------------------------------

TABLES = {
    "records": RecordRow,
    "vault": VaultEntryRow,
    "subject_keys": SubjectKeyRow,
    "registry": SubjectKeyRow,
    "consents": ConsentEventRow,
    "audit": AuditEventRow,
    "idempotency": IdempotencyRow,
}


# "subject_keys" counts data keys; "registry" every numbered pseudonym, of
# which an audit event naming one without personal data (a consent, a
# rejected record) adds a row with no key.
KEYED = {"subject_keys": SubjectKeyRow.master_kid.is_not(None)}


def counts(ctx: GatewayContext) -> dict[str, int]:
    """How many rows each table that a request can write holds."""
    with transaction(ctx.read_sessions) as session:
        return {
            name: session.scalar(
                select(func.count()).select_from(model).where(KEYED.get(name, true()))
            )
            or 0
            for name, model in TABLES.items()
        }


def audit_since(ctx: GatewayContext, seq: int) -> list[AuditEventRow]:
    """The audit events appended after `seq`."""
    with transaction(ctx.read_sessions) as session:
        stmt = select(AuditEventRow).where(AuditEventRow.seq > seq)
        return list(session.scalars(stmt.order_by(AuditEventRow.seq)))


def last_seq(ctx: GatewayContext) -> int:
    """The sequence number of the last audit event (-1 when none)."""
    with transaction(ctx.read_sessions) as session:
        value = session.scalar(select(func.max(AuditEventRow.seq)))
    return -1 if value is None else int(value)


@dataclass
class Snapshot:
    """The database before a hostile request, to compare with after it."""

    ctx: GatewayContext
    before: dict[str, int]
    seq: int

    @classmethod
    def take(cls, ctx: GatewayContext) -> "Snapshot":
        return cls(ctx, counts(ctx), last_seq(ctx))

    def growth(self) -> dict[str, int]:
        after = counts(self.ctx)
        return {name: after[name] - self.before[name] for name in after}

    def new_audit(self) -> list[AuditEventRow]:
        return audit_since(self.ctx, self.seq)


def assert_stored_nothing(snapshot: Snapshot) -> None:
    """No table grew: a refused request leaves no trace but its response."""
    assert snapshot.growth() == dict.fromkeys(TABLES, 0)


def assert_no_value_in_audit(events: list[AuditEventRow], values: list[str]) -> None:
    """No submitted value in the audit log's canonical bytes."""
    for event in events:
        text = event.canonical.decode()
        for value in values:
            assert value not in text, event.action


def assert_problem(response: Response, status: int, echo: list[str]) -> None:
    """A problem+json response of this status that quotes nothing sent."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert isinstance(body["title"], str)
    assert body["title"]
    for value in [CANARY, *echo]:
        assert value not in response.text


# --- clients and valid requests ---------------------------------------------


@pytest.fixture(scope="module")
def partner(ctx: GatewayContext) -> ApiClient:
    return make_client(ctx)


@pytest.fixture(scope="module")
def dpo(ctx: GatewayContext) -> ApiClient:
    return make_client(ctx, "dpo")


def valid_records_request(client: TestClient, partner: ApiClient) -> None:
    """A consented record is accepted: the gateway still serves writes."""
    record = customer()
    grant = client.post(
        "/v1/consents",
        json={"events": [consent("customer_id", record["customer_id"])]},
        headers=partner.headers,
    )
    assert grant.status_code == 200, grant.text
    assert grant.json()["recorded"] == 1
    response = client.post(
        RECORDS,
        json={"purpose": "segmentation", "records": [record]},
        headers=partner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "accepted"
    assert client.get("/healthz").status_code == 200


# --- whole-body refusals on the JSON routes ---------------------------------


def records_body(**over: Any) -> dict[str, Any]:
    return {"purpose": "segmentation", "records": [customer()]} | over


def consents_body(**over: Any) -> dict[str, Any]:
    event = consent("email", f"nobody-{uuid.uuid4().hex[:8]}@example.com")
    return {"events": [event]} | over


def subject_body(**over: Any) -> dict[str, Any]:
    identifier = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    return {"identifier_type": "email", "identifier": identifier} | over


def reidentify_body(**over: Any) -> dict[str, Any]:
    # Shaped like a subject pseudonym (key id, dot, 64 hex digits), of nobody.
    subject = f"{uuid.uuid4().hex[:8]}.{'0' * 64}"
    return {"subject_id": subject, "justification": "hostile input test"} | over


@dataclass(frozen=True)
class JsonRoute:
    """A route whose body is JSON, the role that may call it, a valid body."""

    name: str
    path: str
    role: str
    body: Callable[..., dict[str, Any]]
    # The key holding the route's list (for batch limits), if it has one.
    batch_key: str | None = None


JSON_ROUTES = [
    JsonRoute("records", RECORDS, "partner", records_body, "records"),
    JsonRoute("consents", "/v1/consents", "partner", consents_body, "events"),
    JsonRoute("access", "/v1/subjects/access", "dpo", subject_body),
    JsonRoute("erase", "/v1/subjects/erase", "dpo", subject_body),
    JsonRoute("reidentify", "/v1/subjects/reidentify", "dpo", reidentify_body),
]


def _dup_top(route: JsonRoute) -> bytes:
    """The route's valid body with its first key repeated, value and all.

    Even an identical repeat is refused: only the parser's choice would tell
    which of two values counts, and two components may choose differently.
    """
    body = route.body()
    first = next(iter(body))
    text = dumps(body).decode()
    return (text[:-1] + f',"{first}":' + dumps(body[first]).decode() + "}").encode()


def _dup_inner(route: JsonRoute) -> bytes:
    """A repeated key (same value) inside the first item of the route's list."""
    body = route.body()
    key = route.batch_key
    if key is None:
        return _dup_top(route)
    item = body[key][0]
    last = list(item)[-1]
    inner = dumps(item).decode()
    doubled = inner[:-1] + f',"{last}":' + dumps(item[last]).decode() + "}"
    rest = {k: v for k, v in body.items() if k != key}
    head = dumps(rest).decode()[:-1]
    comma = "," if rest else ""
    return f'{head}{comma}"{key}":[{doubled}]}}'.encode()


def _nan_in(route: JsonRoute, literal: str) -> bytes:
    body = route.body()
    if route.batch_key == "records":
        body["records"][0]["loyalty_tier"] = Raw(literal)
    elif route.batch_key == "events":
        body["events"][0]["explicit"] = Raw(literal)
    else:
        body[next(iter(body))] = Raw(literal)
    return dumps(body)


@dataclass(frozen=True)
class BodyCase:
    """A hostile body, its content type, and the status it must get."""

    name: str
    make: Callable[[JsonRoute], bytes]
    content_type: str | None
    status: int


BODY_CASES = [
    BodyCase("truncated", lambda r: dumps(r.body())[:-3] + CANARY.encode(), JSON, 422),
    BodyCase(
        "invalid_utf8",
        lambda r: dumps(r.body())[:-2] + b'\xff\xfe\xc3"' + CANARY.encode() + b"}",
        JSON,
        422,
    ),
    BodyCase(
        "utf8_encoded_surrogate",
        lambda r: b'{"x":"\xed\xa0\x80' + CANARY.encode() + b'"}',
        JSON,
        422,
    ),
    BodyCase("bom", lambda r: b"\xef\xbb\xbf" + dumps(r.body()), JSON, 422),
    BodyCase("empty", lambda r: b"", JSON, 422),
    BodyCase("whitespace", lambda r: b"  \n ", JSON, 422),
    BodyCase("top_level_array", lambda r: dumps([r.body(), CANARY]), JSON, 422),
    BodyCase("top_level_string", lambda r: dumps(CANARY), JSON, 422),
    BodyCase("top_level_number", lambda r: b"1e400", JSON, 422),
    BodyCase("top_level_null", lambda r: b"null", JSON, 422),
    BodyCase(
        "trailing_garbage",
        lambda r: dumps(r.body()) + b" " + CANARY.encode(),
        JSON,
        422,
    ),
    BodyCase("two_documents", lambda r: dumps(r.body()) + dumps(r.body()), JSON, 422),
    BodyCase(
        "deep_arrays",
        lambda r: b'{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        JSON,
        422,
    ),
    BodyCase(
        "deep_objects_under_parser_limit",
        lambda r: b'{"a":' * 200 + dumps(CANARY) + b"}" * 200,
        JSON,
        422,
    ),
    BodyCase(
        "deep_in_field",
        lambda r: dumps(
            r.body(**{next(iter(r.body())): Raw("[" * 60 + "1" + "]" * 60)})
        ),
        JSON,
        422,
    ),
    BodyCase(
        # Python refuses to read an integer of over 4,300 digits at all.
        "integer_of_5000_digits",
        lambda r: dumps(r.body(**{next(iter(r.body())): Raw("9" * 5000)})),
        JSON,
        422,
    ),
    BodyCase("nan", lambda r: _nan_in(r, "NaN"), JSON, 422),
    BodyCase("infinity", lambda r: _nan_in(r, "Infinity"), JSON, 422),
    BodyCase("minus_infinity", lambda r: _nan_in(r, "-Infinity"), JSON, 422),
    BodyCase("duplicate_top_level_key", _dup_top, JSON, 422),
    BodyCase("duplicate_key_in_item", _dup_inner, JSON, 422),
    BodyCase(
        "unknown_top_level_key",
        lambda r: dumps(r.body(**{f"{CANARY}@example.com": 1})),
        JSON,
        422,
    ),
    BodyCase(
        "huge_top_level_string",
        lambda r: dumps(r.body(**{next(iter(r.body())): CANARY * 200_000})),
        JSON,
        422,
    ),
    BodyCase(
        "huge_top_level_array",
        lambda r: dumps(r.body(**{next(iter(r.body())): [CANARY] * 200_000})),
        JSON,
        422,
    ),
    BodyCase("text_plain", lambda r: dumps(r.body()), "text/plain", 415),
    BodyCase(
        "form",
        lambda r: f"purpose=segmentation&x={CANARY}".encode(),
        "application/x-www-form-urlencoded",
        415,
    ),
    BodyCase(
        "multipart",
        lambda r: (
            b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n'
            + CANARY.encode()
            + b"\r\n--b--\r\n"
        ),
        "multipart/form-data; boundary=b",
        415,
    ),
    BodyCase("xml", lambda r: f"<x>{CANARY}</x>".encode(), "application/xml", 415),
    BodyCase("no_content_type", lambda r: dumps(r.body()), None, 415),
    BodyCase("json_lookalike", lambda r: dumps(r.body()), "application/jsonx", 415),
]


def _caller(route: JsonRoute, partner: ApiClient, dpo: ApiClient) -> ApiClient:
    return partner if route.role == "partner" else dpo


def _body_params() -> list[Any]:
    params = []
    for route in JSON_ROUTES:
        for case in BODY_CASES:
            params.append(pytest.param(route, case, id=f"{route.name}-{case.name}"))
    return params


@pytest.mark.parametrize(("route", "case"), _body_params())
def test_hostile_body_is_refused_whole(
    client: TestClient,
    ctx: GatewayContext,
    partner: ApiClient,
    dpo: ApiClient,
    route: JsonRoute,
    case: BodyCase,
) -> None:
    headers = dict(_caller(route, partner, dpo).headers)
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    snapshot = Snapshot.take(ctx)
    response = client.post(route.path, content=case.make(route), headers=headers)
    assert_problem(response, case.status, [])
    assert_stored_nothing(snapshot)
    valid_records_request(client, partner)


@pytest.mark.parametrize(
    "route",
    [pytest.param(r, id=r.name) for r in JSON_ROUTES],
)
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "chunked"])
def test_body_over_the_limit_is_413(
    client: TestClient,
    ctx: GatewayContext,
    partner: ApiClient,
    dpo: ApiClient,
    route: JsonRoute,
    declared: bool,
) -> None:
    limit = ctx.settings.max_body_bytes
    head = dumps(route.body())[:-1] + b',"pad":"'
    padding = CANARY.encode() * (limit // len(CANARY) + 1)
    whole = head + padding + b'"}'
    assert len(whole) > limit
    headers = _caller(route, partner, dpo).headers | {"Content-Type": JSON}

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(whole), 1 << 20):
            yield whole[start : start + (1 << 20)]

    content: bytes | Iterator[bytes] = whole if declared else chunks()
    snapshot = Snapshot.take(ctx)
    response = client.post(route.path, content=content, headers=headers)
    assert_problem(response, 413, [])
    assert_stored_nothing(snapshot)
    valid_records_request(client, partner)


@pytest.mark.parametrize(
    "route", [r for r in JSON_ROUTES if r.batch_key], ids=lambda r: r.name
)
def test_batch_over_the_limit_is_422(
    client: TestClient,
    ctx: GatewayContext,
    partner: ApiClient,
    route: JsonRoute,
) -> None:
    assert route.batch_key is not None
    one = route.body()[route.batch_key][0]
    items = [one] * (ctx.settings.max_batch_records + 1)
    snapshot = Snapshot.take(ctx)
    response = client.post(
        route.path,
        content=dumps(route.body(**{route.batch_key: items})),
        headers=partner.headers | {"Content-Type": JSON},
    )
    assert_problem(response, 422, [])
    assert "at most" in response.json()["detail"]
    assert_stored_nothing(snapshot)
    valid_records_request(client, partner)


def test_idempotency_key_over_its_length_is_422(
    client: TestClient, ctx: GatewayContext, partner: ApiClient
) -> None:
    snapshot = Snapshot.take(ctx)
    response = client.post(
        RECORDS,
        json=records_body(),
        headers=partner.headers | {"Idempotency-Key": CANARY * 100},
    )
    assert_problem(response, 422, [])
    assert_stored_nothing(snapshot)


# --- values inside records: refused per record ------------------------------

# Every value is refused by every typed field; a free string field (`FREE`
# below) takes the four injection strings literally.
HOSTILE_VALUES: dict[str, Any] = {
    "nul": f"a\u0000{CANARY}",
    "escape": f"\u001b[31m{CANARY}",
    "c1_control": f"a\u009b{CANARY}",
    "delete": f"a\u007f{CANARY}",
    "lone_high_surrogate": f"\ud800{CANARY}",
    "lone_low_surrogate": f"{CANARY}\udc00",
    "reversed_pair": f"\udc00\ud800{CANARY}",
    **INJECTIONS,
    # Far over every field's limit (the longest, comment, takes 2,000), yet
    # small enough that one per field of a batch stays under the body limit.
    "huge_string": CANARY * 20_000,
    "huge_array": [CANARY] * 20_000,
    "object": {"$ne": None, "x": CANARY},
    "overflow": Raw("1e400"),
    "negative_overflow": Raw("-1e400"),
    "huge_integer": Raw("9" * 400),
    "boolean": True,
    "empty": "",
}

# Fields that hold any short text: injection strings are text like any other.
FREE = {
    "customers": {
        "customer_id",
        "first_name",
        "last_name",
        "street",
        "city",
        "comment",
        "health_interest",
    },
    "events": {"customer_id", "category"},
}
CUSTOMER_FIELDS = [
    "source_id",
    "customer_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "street",
    "iban",
    "birth_date",
    "postal_code",
    "city",
    "gender",
    "loyalty_tier",
    "comment",
    "health_interest",
]
EVENT_FIELDS = [
    "source_id",
    "customer_id",
    "event_type",
    "amount",
    "currency",
    "occurred_at",
    "channel",
    "device",
    "category",
]


def event_record() -> dict[str, Any]:
    """A valid events record."""
    return {
        "source_id": f"src-{uuid.uuid4().hex[:12]}",
        "customer_id": f"CUST-{uuid.uuid4().hex[:10]}",
        "event_type": "purchase",
        "amount": 12.5,
        "currency": "EUR",
        "occurred_at": "2026-01-01T10:00:00Z",
        "channel": "web",
        "device": "mobile",
        "category": "shoes",
    }


def expected(dataset: str, field: str, value_name: str) -> tuple[str, str]:
    """The (status, reason) a record with this hostile value must get."""
    if value_name in INJECTIONS and field in FREE[dataset]:
        if field == "health_interest":  # valid text, but Art. 9 data
            return "rejected", "special_category"
        return "accepted", ""
    return "rejected", "invalid"


def grant_all(
    client: TestClient, partner: ApiClient, records: list[dict[str, Any]]
) -> None:
    """Consent for every record's customer_id that can carry consent."""
    events = [
        consent("customer_id", record["customer_id"])
        for record in records
        if isinstance(record["customer_id"], str)
    ]
    response = client.post(
        "/v1/consents",
        content=dumps({"events": events}),
        headers=partner.headers | {"Content-Type": JSON},
    )
    assert response.status_code == 200, response.text[:500]


def _vault_fields(ctx: GatewayContext, record_id: str) -> dict[str, Any]:
    with transaction(ctx.read_sessions) as session:
        row = session.get_one(RecordRow, record_id)
        vault = session.get_one(VaultEntryRow, row.id)
        key = session.get_one(SubjectKeyRow, row.subject_no)
    master = ctx.keyring.get(KeyPurpose.MASTER, key.master_kid)
    cipher = FieldCipher(unwrap_data_key(master, key.wrapped_key, row.subject_id))
    return open_entry(cipher, row.id, row.subject_id, vault.ciphertext)


def _stored_row(ctx: GatewayContext, record_id: str) -> RecordRow:
    with transaction(ctx.read_sessions) as session:
        return session.get_one(RecordRow, record_id)


def _source_ids_stored(ctx: GatewayContext, source_ids: list[str]) -> set[str]:
    with transaction(ctx.read_sessions) as session:
        stmt = select(RecordRow.source_id).where(RecordRow.source_id.in_(source_ids))
        return set(session.scalars(stmt))


def _echo_values() -> list[str]:
    """The submitted strings that must never come back."""
    return [CANARY, *INJECTIONS.values()]


@pytest.mark.parametrize(
    ("dataset", "field"),
    [("customers", f) for f in CUSTOMER_FIELDS] + [("events", f) for f in EVENT_FIELDS],
)
def test_hostile_values_are_refused_per_record(
    client: TestClient,
    ctx: GatewayContext,
    partner: ApiClient,
    dataset: str,
    field: str,
) -> None:
    """One batch: every hostile value in this field, then a valid record."""
    make = customer if dataset == "customers" else event_record
    names = list(HOSTILE_VALUES)
    records = [make() | {field: HOSTILE_VALUES[name]} for name in names]
    records.append(make())
    grant_all(client, partner, records)
    source_ids = [r["source_id"] for r in records]
    snapshot = Snapshot.take(ctx)
    response = client.post(
        f"/v1/datasets/{dataset}/records",
        content=dumps({"purpose": "segmentation", "records": records}),
        headers=partner.headers | {"Content-Type": JSON},
    )
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith(JSON)
    for value in _echo_values():
        assert value not in response.text
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(records)))
    want = [expected(dataset, field, name) for name in names] + [("accepted", "")]
    got = [(r["status"], r["reason"] or "") for r in results]
    assert dict(zip(names + ["valid"], got, strict=True)) == dict(
        zip(names + ["valid"], want, strict=True)
    )
    for name, result in zip(names, results, strict=False):
        if result["status"] == "rejected":
            assert result["record_id"] is None
            assert [e["field"] for e in result["errors"]] == [field], name
    accepted = [r for r in results if r["status"] == "accepted"]
    rejected = [r for r in results if r["status"] == "rejected"]
    # Stored: the accepted records only, whole; the rejected ones nowhere.
    growth = snapshot.growth()
    assert growth["records"] == len(accepted)
    assert growth["vault"] == len(accepted)
    assert growth["subject_keys"] <= len(accepted)
    assert growth["consents"] == 0
    assert growth["idempotency"] == 0
    rejected_ids = [
        sid
        for sid, r in zip(source_ids, results, strict=False)
        if r in rejected
        and isinstance(sid, str)
        and sid.isprintable()
        and sid.isascii()
    ]
    assert not _source_ids_stored(ctx, rejected_ids)
    # Audited: one event per record, the rejections without any value.
    events = snapshot.new_audit()
    assert sorted(e.action for e in events) == sorted(
        f"record.{r['status']}" for r in results
    )
    assert_no_value_in_audit(events, _echo_values())
    # An injection string a free field accepted is stored as sent: no SQL ran,
    # no template was evaluated.
    for name, result in zip(names, results, strict=False):
        if result["status"] != "accepted":
            continue
        value = HOSTILE_VALUES[name]
        if field in ("first_name", "last_name", "street"):
            assert _vault_fields(ctx, result["record_id"])[field] == value
        elif field == "category":
            assert _stored_row(ctx, result["record_id"]).data[field] == value
    valid_records_request(client, partner)


@pytest.mark.parametrize(
    "source_id",
    [
        "src-ok\n",
        "src-ok\r\n",
        f"\n{CANARY}",
        f"src\u0000{CANARY}",
        "x" * 129,
        SQL,
        "../../etc/passwd",
    ],
    ids=[
        "trailing_lf",
        "trailing_crlf",
        "leading_lf",
        "nul",
        "too_long",
        "sql",
        "path",
    ],
)
def test_hostile_source_id_is_refused_per_record(
    client: TestClient, ctx: GatewayContext, partner: ApiClient, source_id: str
) -> None:
    records = [customer(source_id=source_id), customer()]
    grant_all(client, partner, records)
    snapshot = Snapshot.take(ctx)
    response = client.post(
        RECORDS,
        content=dumps({"purpose": "segmentation", "records": records}),
        headers=partner.headers | {"Content-Type": JSON},
    )
    assert response.status_code == 200, response.text[:500]
    first, second = response.json()["results"]
    assert (first["status"], first["reason"], first["source_id"]) == (
        "rejected",
        "invalid",
        None,
    )
    assert second["status"] == "accepted"
    assert snapshot.growth()["records"] == 1
    assert CANARY not in response.text


@pytest.mark.parametrize(
    "key",
    [f"email\n{CANARY}", "email\n", f"{CANARY}@example.com", "\u0000", "\ud800"],
    ids=["newline_value", "trailing_lf", "value_like", "nul", "surrogate"],
)
def test_hostile_field_names_are_refused_unechoed(
    client: TestClient, ctx: GatewayContext, partner: ApiClient, key: str
) -> None:
    record = customer() | {key: "x"}
    snapshot = Snapshot.take(ctx)
    response = client.post(
        RECORDS,
        content=dumps({"purpose": "segmentation", "records": [record]}),
        headers=partner.headers | {"Content-Type": JSON},
    )
    assert response.status_code == 200, response.text[:500]
    (result,) = response.json()["results"]
    assert (result["status"], result["reason"]) == ("rejected", "invalid")
    assert [e["reason"] for e in result["errors"]] == ["unknown_field"]
    # Only a key shaped like a field name comes back, as it was sent.
    assert result["errors"][0]["field"] == "<unrecognised key>"
    assert CANARY not in response.text
    assert snapshot.growth()["records"] == 0
    assert_no_value_in_audit(snapshot.new_audit(), [CANARY])


def test_many_unknown_keys_stay_one_rejected_record(
    client: TestClient, ctx: GatewayContext, partner: ApiClient
) -> None:
    """A record of 50,000 keys is one rejection; its neighbour is stored."""
    wide = customer() | {f"k{n}": CANARY for n in range(50_000)}
    records = [wide, customer()]
    grant_all(client, partner, records)
    snapshot = Snapshot.take(ctx)
    response = client.post(
        RECORDS,
        content=dumps({"purpose": "segmentation", "records": records}),
        headers=partner.headers | {"Content-Type": JSON},
    )
    assert response.status_code == 200, response.text[:500]
    first, second = response.json()["results"]
    assert (first["status"], first["reason"]) == ("rejected", "invalid")
    assert second["status"] == "accepted"
    assert CANARY not in response.text
    assert snapshot.growth()["records"] == 1


@pytest.mark.parametrize("value_name", list(HOSTILE_VALUES))
def test_hostile_purpose_refuses_the_batch(
    client: TestClient, ctx: GatewayContext, partner: ApiClient, value_name: str
) -> None:
    """The declared purpose belongs to the whole request: a hostile one is a 422."""
    snapshot = Snapshot.take(ctx)
    response = client.post(
        RECORDS,
        content=dumps(records_body(purpose=HOSTILE_VALUES[value_name])),
        headers=partner.headers | {"Content-Type": JSON},
    )
    assert_problem(response, 422, _echo_values())
    assert_stored_nothing(snapshot)


@pytest.mark.parametrize("dataset", [SQL, TEMPLATE, JNDI, FORMAT, f"a\u0000{CANARY}"])
def test_hostile_dataset_in_the_path_is_404(
    client: TestClient, ctx: GatewayContext, partner: ApiClient, dataset: str
) -> None:
    snapshot = Snapshot.take(ctx)
    response = client.post(
        f"/v1/datasets/{quote(dataset, safe='')}/records",
        json=records_body(),
        headers=partner.headers,
    )
    assert_problem(response, 404, _echo_values())
    assert_stored_nothing(snapshot)


def test_hostile_values_leave_the_database_intact(
    client: TestClient, ctx: GatewayContext, partner: ApiClient
) -> None:
    """After every injection string went through, every table still answers."""
    before = counts(ctx)
    assert all(n >= 0 for n in before.values())
    valid_records_request(client, partner)
    assert counts(ctx)["records"] == before["records"] + 1


# --- values inside consent events: refused per event ------------------------

CONSENT_FIELDS = sorted(EVENT_KEYS)  # every key an event may hold

TC_GARBAGE: dict[str, Any] = {
    "tc_word": f"garbage{CANARY}",
    "tc_not_base64": "CP!!!!.$$$$",
    "tc_empty_segments": "...",
    "tc_truncated": "CPXxRfAPXxRfA",
    "tc_long": "A" * 100_000,
    "tc_control": f"CPXx\u0000{CANARY}",
    "tc_surrogate": f"CPXx\ud800{CANARY}",
    "tc_number": 7,
}


def test_hostile_consent_values_are_refused_per_event(
    client: TestClient, ctx: GatewayContext, partner: ApiClient
) -> None:
    """Every hostile value in every event field, and garbage TC strings, in one
    batch with one valid event: each hostile event rejected, the valid one kept.
    """
    base = consent("email", f"ok-{uuid.uuid4().hex[:8]}@example.com")
    cases: list[tuple[str, dict[str, Any]]] = []
    for name in CONSENT_FIELDS:
        for value_name, value in HOSTILE_VALUES.items():
            if name == "explicit" and value_name == "boolean":
                continue  # a valid value there
            cases.append((f"{name}:{value_name}", base | {name: value}))
    for value_name, value in TC_GARBAGE.items():
        event = {k: v for k, v in base.items() if k != "purpose"}
        cases.append((f"tcf_string:{value_name}", event | {"tcf_string": value}))
    valid = consent("email", f"valid-{uuid.uuid4().hex[:8]}@example.com")
    events = [event for _, event in cases] + [valid]
    snapshot = Snapshot.take(ctx)
    response = client.post(
        "/v1/consents",
        content=dumps({"events": events}),
        headers=partner.headers | {"Content-Type": JSON},
    )
    assert response.status_code == 200, response.text[:500]
    for value in _echo_values():
        assert value not in response.text
    results = response.json()["results"]
    statuses = {name: r["status"] for (name, _), r in zip(cases, results, strict=False)}
    assert statuses == dict.fromkeys(statuses, "rejected")
    assert results[-1]["status"] == "recorded"
    growth = snapshot.growth()
    assert growth["consents"] == 1
    assert growth["records"] == growth["vault"] == growth["subject_keys"] == 0
    events_logged = snapshot.new_audit()
    assert sorted(e.action for e in events_logged) == sorted(
        ["consent.rejected"] * len(cases) + ["consent.granted"]
    )
    assert_no_value_in_audit(events_logged, _echo_values())
    valid_records_request(client, partner)


# --- the DPO's routes: hostile identifiers ----------------------------------


def _dpo_params() -> list[Any]:
    params = []
    for route in JSON_ROUTES[2:]:
        for key in route.body():
            for name in HOSTILE_VALUES:
                params.append(
                    pytest.param(route, key, name, id=f"{route.name}-{key}-{name}")
                )
    return params


@pytest.mark.parametrize(("route", "key", "value_name"), _dpo_params())
def test_hostile_values_on_dpo_routes(
    client: TestClient,
    ctx: GatewayContext,
    partner: ApiClient,
    dpo: ApiClient,
    route: JsonRoute,
    key: str,
    value_name: str,
) -> None:
    """A hostile identifier, pseudonym or justification is a 422 that stores
    nothing, audits nothing and echoes nothing; a justification may be any
    text without control characters (it is kept, redacted, in the audit log).
    """
    value = HOSTILE_VALUES[value_name]
    snapshot = Snapshot.take(ctx)
    response = client.post(
        route.path,
        content=dumps(route.body() | {key: value}),
        headers=dpo.headers | {"Content-Type": JSON},
    )
    if key == "justification" and value_name in ("sql", "jndi"):
        # Free text long enough to justify: answered and audited, not echoed.
        assert response.status_code == 200, response.text[:500]
        assert value not in response.text
    else:
        assert_problem(response, 422, _echo_values())
        assert_stored_nothing(snapshot)
    valid_records_request(client, partner)


# --- the token form ---------------------------------------------------------

FORM = "application/x-www-form-urlencoded"


def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


@dataclass(frozen=True)
class TokenCase:
    """A hostile token request and the status it must get."""

    name: str
    content: Callable[[ApiClient], bytes]
    content_type: str | None
    status: int


def _good(c: ApiClient, **over: str) -> bytes:
    fields = {
        "grant_type": "client_credentials",
        "client_id": c.client_id,
        "client_secret": c.api_key,
    }
    return _form(**(fields | over))


TOKEN_CASES = [
    TokenCase(
        "json_body",
        lambda c: dumps({"grant_type": "client_credentials", "x": CANARY}),
        JSON,
        415,
    ),
    TokenCase("text_plain", lambda c: _good(c), "text/plain", 415),
    TokenCase("no_content_type", lambda c: _good(c), None, 415),
    TokenCase("wrong_grant", lambda c: _good(c, grant_type=CANARY), FORM, 422),
    TokenCase("missing_fields", lambda c: _form(x=CANARY), FORM, 422),
    TokenCase("sql_client_id", lambda c: _good(c, client_id=SQL), FORM, 401),
    TokenCase("template_secret", lambda c: _good(c, client_secret=TEMPLATE), FORM, 401),
    TokenCase("jndi_secret", lambda c: _good(c, client_secret=JNDI), FORM, 401),
    TokenCase("format_client_id", lambda c: _good(c, client_id=FORMAT), FORM, 401),
    TokenCase(
        "nul_secret", lambda c: _good(c, client_secret=f"a\u0000{CANARY}"), FORM, 401
    ),
    TokenCase(
        "escape_client_id", lambda c: _good(c, client_id=f"\u001b{CANARY}"), FORM, 401
    ),
    TokenCase(
        "invalid_utf8",
        lambda c: _good(c).replace(
            b"client_id=", b"client_id=%ff%fe" + CANARY.encode()
        ),
        FORM,
        422,
    ),
    TokenCase(
        "huge_secret",
        lambda c: _good(c, client_secret=CANARY * 100_000),
        FORM,
        401,
    ),
    TokenCase(
        "duplicate_field",
        lambda c: _good(c) + b"&client_id=" + CANARY.encode(),
        FORM,
        422,
    ),
]


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.name) for c in TOKEN_CASES],
)
def test_hostile_token_requests(
    client: TestClient,
    ctx: GatewayContext,
    partner: ApiClient,
    case: TokenCase,
) -> None:
    headers = {} if case.content_type is None else {"Content-Type": case.content_type}
    snapshot = Snapshot.take(ctx)
    response = client.post("/v1/token", content=case.content(partner), headers=headers)
    assert_problem(response, case.status, [SQL, TEMPLATE, JNDI, FORMAT])
    # A real key sent under another client id is a refusal the DPO sees
    # (`gateway.auth.refusals`): its event names the key's owner, never what
    # was sent in its place. Nothing else is stored.
    refused = snapshot.new_audit()
    assert {e.action for e in refused} <= {"access.refused"}
    assert snapshot.growth() == dict.fromkeys(TABLES, 0) | {"audit": len(refused)}
    assert_no_value_in_audit(refused, [CANARY, SQL, TEMPLATE, JNDI, FORMAT])
    good = client.post(
        "/v1/token", content=_good(partner), headers={"Content-Type": FORM}
    )
    assert good.status_code == 200, good.text


def test_token_body_over_the_limit_is_413(
    client: TestClient, ctx: GatewayContext, partner: ApiClient
) -> None:
    padding = CANARY * (ctx.settings.max_body_bytes // len(CANARY) + 1)
    response = client.post(
        "/v1/token",
        content=_good(partner, pad=padding),
        headers={"Content-Type": FORM},
    )
    assert_problem(response, 413, [])
