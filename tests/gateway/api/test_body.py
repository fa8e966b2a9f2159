"""gateway.api.body: what a body must be before any route reads it."""

import math
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from gateway.api import problems
from gateway.api.body import (
    DUPLICATE_KEY,
    FORM,
    NOT_JSON,
    json_depth_ok,
    parse_json,
    read_form,
    validated,
)
from gateway.errors import InvalidRequestError

LIMIT = 1024


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":1}',
        b'{"a":1,"b":{"c":1,"c":2}}',
        b'[{"x":1},{"x":1,"y":2,"y":3}]',
    ],
)
def test_a_repeated_key_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_json(raw, 32)
    assert caught.value.detail == DUPLICATE_KEY


@pytest.mark.parametrize(
    "raw",
    [
        b"[NaN]",
        b"[Infinity]",
        b"[-Infinity]",
        b"\xef\xbb\xbf{}",
        b'{"a":"\xff"}',
        b'{"a":"\xed\xa0\x80"}',  # a surrogate encoded as UTF-8
        b'{"a":1} {"a":1}',
        b"[" * 50_000 + b"]" * 50_000,
        b"[" + b"9" * 5000 + b"]",
        b"",
    ],
)
def test_what_is_not_one_json_document_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_json(raw, 32)
    assert caught.value.detail == NOT_JSON


def test_values_a_field_refuses_still_parse() -> None:
    """Refused one record at a time by the field checks, not here."""
    value: Any = parse_json(b'{"a":1e400,"b":"\\ud800","c":' + b"9" * 400 + b"}", 32)
    assert math.isinf(value["a"])
    assert value["b"] == "\ud800"
    assert value["c"] == int("9" * 400)


def test_depth_counts_the_value_itself_as_level_one() -> None:
    assert json_depth_ok(1, 1)
    assert json_depth_ok([], 1)
    assert not json_depth_ok([1], 1)
    assert json_depth_ok([[1]], 3)
    assert not json_depth_ok([[1]], 2)
    assert json_depth_ok({"a": {"b": []}}, 3)
    assert not json_depth_ok({"a": {"b": [1]}}, 3)
    with pytest.raises(InvalidRequestError):
        parse_json(b'{"a":' * 40 + b"1" + b"}" * 40, 32)


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str


async def _form(request: Request) -> dict[str, str]:
    return await read_form(request, LIMIT)


@pytest.fixture(scope="module")
def app_client() -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.post("/form")
    def take_form(
        form: Annotated[dict[str, str], Depends(_form)],
    ) -> dict[str, str]:
        return form

    @app.post("/thing")
    def take_thing(body: dict[str, Any]) -> dict[str, str]:
        return {"name": validated(Thing, body).name}

    return TestClient(app)


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"a=1&b=%C3%A9", FORM, 200),
        (b"a=1&b=2", f"{FORM}; charset=utf-8", 200),
        (b'{"a":"1"}', "application/json", 415),
        (b"a=1", "text/plain", 415),
        (b"a=1", None, 415),
        (b"a=1&a=1", FORM, 422),
        (b"a=%ffzqx", FORM, 422),
        (b"a=1&&b", FORM, 422),
        ("a=é".encode(), FORM, 422),  # raw non-ASCII: not urlencoded
        (b"&".join(b"k%d=1" % n for n in range(40)), FORM, 422),
        (b"a=" + b"z" * (LIMIT + 1), FORM, 413),
    ],
)
def test_read_form(
    app_client: TestClient, content: bytes, content_type: str | None, status: int
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = app_client.post("/form", content=content, headers=headers)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["a"] == "1"
    else:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "zqx" not in response.text


def test_validated_errors_name_fields_not_values(app_client: TestClient) -> None:
    assert app_client.post("/thing", json={"name": "x"}).json() == {"name": "x"}
    response = app_client.post(
        "/thing", json={"name": 7, "zqx@example.com": "zqx-value"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert {(e["field"], e["reason"]) for e in errors} == {
        ("name", "string_type"),
        ("<unrecognised key>", "extra_forbidden"),
    }
    assert "zqx" not in response.text
