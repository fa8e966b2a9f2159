"""A bounded schemathesis run over the app's own OpenAPI schema: never a 5xx."""

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from gateway.context import GatewayContext
from tests.factories import make_client

BOUNDED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_no_server_errors(client: TestClient, ctx: GatewayContext) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    callers = [make_client(ctx, role) for role in ("partner", "destination", "dpo")]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    for operation in operations:

        @BOUNDED
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            for caller in callers:
                response = case.call(headers=caller.headers)
                assert response.status_code < 500, (case.method, case.path)

        check()
