"""Schemathesis over the gateway's own OpenAPI schema, shared by the bounded
test (tests/gateway/api/test_fuzz.py) and the long run (bench/fuzz.py).

Each operation gets positive examples (fitting its schema) and negative ones
(not fitting it), sent with the credentials of the role that owns it, then
again with a canary in every string, and once more by a caller of another
role, an anonymous one or one with a bogus token (in turn). Every response
goes through these checks:

- `not_a_server_error`: no 5xx (and no exception out of the app);
- `status_code_conformance`: the status is one the operation documents;
- `content_type_conformance`: the content type is the documented one;
- `response_schema_conformance`: the body fits the documented schema;
- `response_headers_conformance`: documented headers fit their schemas;
- `problem_json`: every 4xx is `application/problem+json` with RFC 9457's
  `type` and `title` (strings) and `status` (the response's own status);
- `no_echo`: the canary sent in every string field (body, query, path,
  headers, the bearer token) appears in no error: not in a problem document,
  not in the `errors`, `warnings` or `reason` of a per-item result, not in a
  response header.

A report names the operation, the check and the status, never a value sent.
"""

import copy
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.context import GatewayContext
from tests.factories import consent, customer, make_client

PROBLEM_JSON = "application/problem+json"
FORM = "application/x-www-form-urlencoded"
SCHEMATHESIS_CHECKS = {
    "not_a_server_error": not_a_server_error,
    "status_code_conformance": status_code_conformance,
    "content_type_conformance": content_type_conformance,
    "response_schema_conformance": response_schema_conformance,
    "response_headers_conformance": response_headers_conformance,
}
CHECK_NAMES = (*SCHEMATHESIS_CHECKS, "problem_json", "no_echo")
# Which role each tag's operations belong to; None: no bearer needed.
OWNER_BY_TAG: dict[str, str | None] = {
    "auth": None,
    "operations": None,
    "consent": "partner",
    "ingest": "partner",
    "export": "destination",
    "audit": "dpo",
    "subjects": "dpo",
}
# Every other generated example gets these known names, so that it gets past
# the name lookups (an unknown dataset, purpose, grant type, identifier type)
# to the checks behind them, which see the rest of the generated values.
STEER: dict[str, dict[str, dict[str, str]]] = {
    "POST /v1/token": {"body": {"grant_type": "client_credentials"}},
    "POST /v1/datasets/{dataset}/records": {
        "path_parameters": {"dataset": "customers"},
        "body": {"purpose": "segmentation"},
    },
    "GET /v1/audiences/{audience}/segments": {
        "path_parameters": {"audience": "retail_default"}
    },
    "GET /v1/audiences/{audience}/revocations": {
        "path_parameters": {"audience": "retail_default"}
    },
    "GET /v1/audit/events": {"query": {"identifier_type": "email"}},
    "POST /v1/subjects/access": {"body": {"identifier_type": "email"}},
    "POST /v1/subjects/erase": {"body": {"identifier_type": "email"}},
}
# Members of a 2xx result that report problems: a canary must not be there.
ERROR_MEMBERS = ("errors", "warnings", "reason", "detail", "message")


@dataclass(frozen=True)
class Caller:
    """Who sends a request: a role's client, nobody, or a bogus token."""

    name: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Finding:
    """One failed check, described without any value that was sent."""

    operation: str
    caller: str
    check: str
    status: int | None
    title: str


@dataclass
class OperationReport:
    """What one operation was sent and what failed."""

    operation: str
    examples: int = 0
    calls: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[Finding] = field(default_factory=list)

    def failed_checks(self) -> Counter[str]:
        """Failures per check."""
        return Counter(f.check for f in self.failures)


@dataclass
class World:
    """The app and the clients a run calls it with."""

    app: FastAPI
    callers: dict[str, Caller]
    seeds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def make_world(ctx: GatewayContext, http: TestClient) -> World:
    """Clients of each role, and for each operation a few valid requests.

    The valid requests (seeds) reach the success paths random data rarely
    does (a token granted, a record accepted, a subject found), so that their
    2xx bodies are checked against the schema too.
    """
    partner = make_client(ctx, "partner")
    destination = make_client(ctx, "destination")
    dpo = make_client(ctx, "dpo")
    callers = {
        "partner": Caller("partner", partner.headers),
        "destination": Caller("destination", destination.headers),
        "dpo": Caller("dpo", dpo.headers),
        "anonymous": Caller("anonymous", {}),
    }
    record = customer()
    granted = http.post(
        "/v1/consents",
        json={"events": [consent("customer_id", record["customer_id"])]},
        headers=partner.headers,
    )
    assert granted.status_code == 200, granted.status_code
    stored = http.post(
        "/v1/datasets/customers/records",
        json={"purpose": "segmentation", "records": [record]},
        headers=partner.headers,
    )
    assert stored.status_code == 200, stored.status_code
    subject_id = stored.json()["results"][0]["subject_id"]
    assert subject_id, "the seed record was not accepted"
    key = f"fuzz-{uuid.uuid4().hex}"
    # One byte over the body limit: refused on its declared length (413).
    oversized = {"events": [], "pad": "x" * ctx.settings.max_body_bytes}
    not_json = {"body": "events", "media_type": "text/plain"}
    keyed = {
        "path_parameters": {"dataset": "customers"},
        "headers": {"Idempotency-Key": key},
        "body": {"purpose": "segmentation", "records": [customer()]},
    }
    seeds: dict[str, list[dict[str, Any]]] = {
        "POST /v1/token": [
            {
                "body": {
                    "grant_type": "client_credentials",
                    "client_id": partner.client_id,
                    "client_secret": partner.api_key,
                },
                "media_type": FORM,
            },
            {"body": {"grant_type": "client_credentials"}, "media_type": "text/plain"},
        ],
        "POST /v1/consents": [
            {"body": {"events": [consent("email", record["email"])]}},
            {"body": {"events": [consent("customer_id", "x", status="maybe")]}},
            {"body": oversized},
            not_json,
        ],
        "POST /v1/datasets/{dataset}/records": [
            {
                "path_parameters": {"dataset": "customers"},
                "body": {"purpose": "segmentation", "records": [record, {"a": 1}]},
            },
            # One Idempotency-Key: 200, the same body replayed (200 with
            # Idempotent-Replayed), another body (409).
            keyed,
            keyed,
            keyed | {"body": {"purpose": "segmentation", "records": [customer()]}},
            {"path_parameters": {"dataset": "customers"}, **not_json},
            {
                "path_parameters": {"dataset": "nosuch"},
                "body": {"purpose": "segmentation", "records": [record]},
            },
        ],
        "GET /v1/audiences/{audience}/segments": [
            {"path_parameters": {"audience": "retail_default"}}
        ],
        "GET /v1/audiences/{audience}/revocations": [
            {"path_parameters": {"audience": "retail_default"}},
            # A Unicode digit passes str.isdigit, not int (was a 500).
            {
                "path_parameters": {"audience": "retail_default"},
                "query": {"cursor": "\u00b3"},
            },
        ],
        "GET /v1/segments/{segment_id}/members": [
            {"path_parameters": {"segment_id": "seg"}, "query": {"cursor": "\u00b3"}}
        ],
        "GET /v1/audit/verify": [{}],
        "GET /v1/audit/checkpoint": [{}],
        "GET /v1/audit/proof/{seq}": [{"path_parameters": {"seq": 0}}],
        "GET /v1/audit/consistency": [{"query": {"first": 1, "second": 2}}],
        "GET /v1/audit/events": [
            {"query": {"identifier_type": "email", "identifier": record["email"]}},
            {"query": {"cursor": "\u00b3"}},
        ],
        "POST /v1/subjects/access": [
            {"body": {"identifier_type": "email", "identifier": record["email"]}},
            not_json,
        ],
        "POST /v1/subjects/reidentify": [
            {
                "body": {
                    "subject_id": subject_id,
                    "justification": "API fuzzing: a seeded subject",
                }
            }
        ],
        # Last in the schema's order of the subject's operations: erased after
        # it was accessed and re-identified.
        "POST /v1/subjects/erase": [
            {"body": {"identifier_type": "email", "identifier": record["email"]}}
        ],
    }
    return World(http.app, callers, seeds)  # type: ignore[arg-type]


def new_canary() -> str:
    """A value found nowhere else: `cnry` and 16 hex digits."""
    return f"cnry{uuid.uuid4().hex[:16]}"


def _with_canary(value: Any, canary: str) -> Any:
    if isinstance(value, str):
        return canary + value
    if isinstance(value, dict):
        return {k: _with_canary(v, canary) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_canary(v, canary) for v in value]
    return value


def plant_canary(case: schemathesis.Case, canary: str) -> None:
    """Put the canary in front of every string the case sends (keys excepted).

    Keys are left alone: an unknown key shaped like a field name is named in
    a per-record error on purpose (it is a field name, not a value).
    """
    if isinstance(case.body, dict | list | str):
        case.body = _with_canary(case.body, canary)
    for part in ("query", "path_parameters", "headers"):
        values = getattr(case, part)
        if values:
            setattr(case, part, _with_canary(dict(values), canary))


def steer_case(case: schemathesis.Case, known: dict[str, dict[str, str]]) -> None:
    """Put known names in a case's path, query or body (an object body only)."""
    for part, values in known.items():
        current = getattr(case, part)
        if part == "body":
            if isinstance(current, dict):
                case.body = current | values
        else:
            setattr(case, part, dict(current or {}) | values)


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def _problem_issue(status: int, headers: dict[str, list[str]], body: Any) -> str:
    """Why a 4xx or 5xx is not an RFC 9457 problem document ('' when it is)."""
    media = (headers.get("content-type") or [""])[0].split(";")[0].strip().lower()
    if media != PROBLEM_JSON:
        return "content type is not application/problem+json"
    if not isinstance(body, dict):
        return "body is not a JSON object"
    if not isinstance(body.get("type"), str) or not isinstance(body.get("title"), str):
        return "type or title missing or not a string"
    if body.get("status") != status:
        return "status member differs from the response status"
    return ""


def _error_parts(status: int, body: Any) -> Iterator[Any]:
    """The parts of a response that report errors."""
    if status >= 400:
        yield body
        return
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in ERROR_MEMBERS:
                    yield value
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def _echo_issue(
    status: int, headers: dict[str, list[str]], content: bytes, canary: str
) -> str:
    """Where an error shows the canary ('' when nowhere)."""
    for name, values in headers.items():
        if any(canary in v for v in values):
            return f"in the {name} header"
    body = _json(content)
    if body is None and status >= 400 and canary.encode() in content:
        return "in the error body"
    for part in _error_parts(status, body):
        if canary in json.dumps(part):
            return "in the error body" if status >= 400 else "in an item's errors"
    return ""


def _issues(
    case: schemathesis.Case,
    response: schemathesis.Response,
    headers: dict[str, str],
    canary: str | None,
) -> Iterator[tuple[str, str]]:
    """Each failed check on a response, with a title that quotes no value."""
    status = response.status_code
    for name, check in SCHEMATHESIS_CHECKS.items():
        try:
            case.validate_response(response, checks=[check], headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                yield name, failure.title
    if status >= 400:
        issue = _problem_issue(status, response.headers, _json(response.content))
        if issue:
            yield "problem_json", issue
    if canary is not None:
        issue = _echo_issue(status, response.headers, response.content, canary)
        if issue:
            yield "no_echo", f"canary {issue}"


class Runner:
    """Sends cases and runs the checks, recording findings per operation."""

    def __init__(self, world: World, schema: Any) -> None:
        self.world = world
        self.schema = schema
        self.reports: dict[str, OperationReport] = {}
        self._turn = 0

    def owner(self, operation: Any) -> Caller:
        """The caller whose role the operation serves."""
        tags = operation.definition.raw.get("tags") or []
        role = OWNER_BY_TAG.get(tags[0]) if tags else None
        return self.world.callers[role or "anonymous"]

    def others(self, owner: Caller) -> list[Caller]:
        """Other roles, nobody, and a bogus bearer (which carries a canary)."""
        return [c for n, c in self.world.callers.items() if n != owner.name]

    def report(self, label: str) -> OperationReport:
        """The report of an operation (made on first use)."""
        return self.reports.setdefault(label, OperationReport(label))

    def send(self, case: schemathesis.Case, caller: Caller, canary: str | None) -> None:
        """Call, then run every check; findings go in the operation's report."""
        label = f"{case.method.upper()} {case.operation.path}"
        report = self.report(label)
        headers = dict(caller.headers)
        if canary is not None and caller.name == "anonymous":
            # A caller with a bogus token: the token is a submitted value too.
            headers = {"Authorization": f"Bearer {canary}"}
        report.calls += 1

        def found(check: str, status: int | None, title: str) -> None:
            report.failures.append(Finding(label, caller.name, check, status, title))

        try:
            response = case.call(headers=headers)
        except Exception as exc:  # noqa: BLE001 - an exception out of the app
            found("not_a_server_error", None, f"exception {type(exc).__name__}")
            return
        report.statuses[response.status_code] += 1
        for check, title in _issues(case, response, headers, canary):
            found(check, response.status_code, title)

    def exercise(self, case: schemathesis.Case, *, steer: bool = False) -> None:
        """One example: the owner as generated, then with canaries; one other."""
        owner = self.owner(case.operation)
        label = f"{case.method.upper()} {case.operation.path}"
        self.report(label).examples += 1
        self._turn += 1
        if steer and self._turn % 2:
            steer_case(case, STEER.get(label, {}))
        self.send(case, owner, None)
        canary = new_canary()
        plant_canary(case, canary)
        self.send(case, owner, canary)
        others = self.others(owner)
        self.send(case, others[self._turn % len(others)], canary)

    def seeds(self) -> None:
        """The valid requests of `make_world`, each sent as `exercise` does."""
        for operation in self.operations():
            label = f"{operation.method.upper()} {operation.path}"
            for seed in self.world.seeds.get(label, []):
                fields = {"media_type": "application/json"} if "body" in seed else {}
                self.exercise(operation.Case(**(fields | copy.deepcopy(seed))))

    def operations(self) -> list[Any]:
        """Every operation of the schema."""
        return [result.ok() for result in self.schema.get_all_operations()]

    def fuzz(
        self,
        operation: Any,
        examples: int,
        mode: GenerationMode,
        *,
        derandomize: bool,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Generate up to `examples` cases for an operation in one mode."""

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=derandomize,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            self.exercise(case, steer=True)

        if progress is not None:
            progress(f"{operation.method.upper()} {operation.path} ({mode.value})")
        try:
            run()
        except Unsatisfiable:
            # Nothing to negate: an operation without parameters or body.
            if mode is GenerationMode.POSITIVE:
                raise


def load_schema(app: FastAPI) -> Any:
    """The app's own OpenAPI document, as schemathesis reads it."""
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def run_fuzz(
    world: World,
    examples: int,
    *,
    derandomize: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[OperationReport]:
    """Seeds, then `examples` positive and `examples` negative cases per operation."""
    runner = Runner(world, load_schema(world.app))
    runner.seeds()
    for operation in runner.operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            runner.fuzz(
                operation, examples, mode, derandomize=derandomize, progress=progress
            )
    return sorted(runner.reports.values(), key=lambda r: r.operation)
