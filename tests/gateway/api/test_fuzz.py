"""A bounded schemathesis run over the app's own OpenAPI schema (`make test`).

Every operation, with the credentials of the role it serves and then of the
others, nobody and a bogus token: no 5xx, every status, content type, body and
header as documented, every error an RFC 9457 problem document, and a canary
sent in every string never shown in an error. The checks live in
`tests/support/fuzzing.py`; `bench/fuzz.py` runs them longer.
"""

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel

from gateway.api import problems
from gateway.api.ratelimit import build_rate_limiter
from gateway.context import GatewayContext
from tests.factories import make_client
from tests.support.fuzzing import (
    CHECK_NAMES,
    Caller,
    Runner,
    World,
    load_schema,
    make_world,
    new_canary,
    run_fuzz,
)

# Positive and negative examples per operation: the whole run stays under a
# minute per database on two cores.
EXAMPLES = 20


def test_every_response_as_documented(client: TestClient, ctx: GatewayContext) -> None:
    reports = run_fuzz(make_world(ctx, client), EXAMPLES)

    assert len(reports) >= 16, [r.operation for r in reports]
    for report in reports:
        # Each operation was sent requests and answered them: a run that
        # sends nothing proves nothing.
        assert report.examples >= 1, report.operation
        assert report.calls == 3 * report.examples
        assert sum(report.statuses.values()) == report.calls, report.operation
    assert sum(r.examples for r in reports) >= EXAMPLES * len(reports)
    statuses = {s for r in reports for s in r.statuses}
    # Success and every documented error were reached (the checks saw them).
    assert {200, 401, 403, 404, 409, 413, 415, 422} <= statuses, sorted(statuses)
    failures = [f for r in reports for f in r.failures]
    assert not failures, "\n".join(
        f"{f.operation} as {f.caller}: {f.check} ({f.status}): {f.title}"
        for f in failures
    )


class Shape(BaseModel):
    count: int


def _faulty_app() -> FastAPI:
    """An app breaking each check once, so that each is seen to fail."""
    app = FastAPI()
    problems.install(app)
    tags = ["operations"]

    @app.get("/echo", tags=tags, responses=problems.problem_responses(422))
    def echo(q: str) -> Response:
        body = {"type": "/problems/x", "title": "Bad", "status": 422, "detail": q}
        return JSONResponse(body, 422, media_type=problems.PROBLEM_JSON)

    @app.get("/plain", tags=tags, responses=problems.problem_responses(409))
    def plain() -> Response:
        return JSONResponse({"error": "no"}, 409)

    @app.get("/undeclared", tags=tags)
    def undeclared() -> Response:
        body = {"type": "/problems/x", "title": "Gone", "status": 410}
        return JSONResponse(body, 410, media_type=problems.PROBLEM_JSON)

    @app.get("/boom", tags=tags)
    def boom() -> Response:
        return JSONResponse({"title": "down"}, 503)

    @app.get("/shape", tags=tags, response_model=Shape)
    def shape() -> Response:
        return JSONResponse({"count": "many"})

    header = {"X-Count": {"required": True, "schema": {"type": "integer"}}}

    @app.get("/header", tags=tags, responses={200: {"headers": header}})
    def with_header() -> Response:
        return JSONResponse({}, headers={"X-Count": "many"})

    return app


def test_each_check_can_fail() -> None:
    callers = {"anonymous": Caller("anonymous", {}), "other": Caller("other", {})}
    reports = run_fuzz(World(_faulty_app(), callers), 3)

    found = {r.operation: set(r.failed_checks()) for r in reports}
    assert found["GET /echo"] == {"no_echo"}
    assert found["GET /plain"] == {"content_type_conformance", "problem_json"}
    assert found["GET /undeclared"] == {"status_code_conformance"}
    assert {"not_a_server_error", "problem_json"} <= found["GET /boom"]
    assert found["GET /shape"] == {"response_schema_conformance"}
    assert found["GET /header"] == {"response_headers_conformance"}
    assert set().union(*found.values()) == set(CHECK_NAMES)


def test_rate_limited_as_documented(client: TestClient, ctx: GatewayContext) -> None:
    """A 429, by client and by address: documented status, headers and body."""
    app: FastAPI = client.app  # type: ignore[assignment]
    # A limiter of its own, with tight limits, for this test only.
    limiter = build_rate_limiter(ctx)
    limiter.client_limit = limiter.address_limit = 2
    limiter.prefix = f"fuzz-{new_canary()}"
    dpo = Caller("dpo", make_client(ctx, "dpo").headers)
    anonymous = Caller("anonymous", {})
    runner = Runner(World(app, {"dpo": dpo, "anonymous": anonymous}), load_schema(app))
    [verify] = [o for o in runner.operations() if o.path == "/v1/audit/verify"]
    saved, app.state.rate_limiter = app.state.rate_limiter, limiter
    try:
        for caller, canary in ((dpo, None), (anonymous, new_canary())):
            for _ in range(3):
                runner.send(verify.Case(), caller, canary)
    finally:
        app.state.rate_limiter = saved

    [report] = runner.reports.values()
    assert report.statuses == {200: 2, 401: 2, 429: 2}, report.statuses
    assert not report.failures, report.failures
