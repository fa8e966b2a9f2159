"""The JSON lines of `gateway pii analyze` (pure)."""

import json

import pytest

from gateway.pii.jsonl import LineError, chunks, format_result, parse_line
from gateway.pii.spans import Span


def test_parse_a_line() -> None:
    assert parse_line('{"id": "a1", "text": "bonjour"}', 1) == ("a1", "bonjour")
    assert parse_line('{"id": 7, "text": ""}', 1) == (7, "")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 3: not a JSON object"),
        ("[1, 2]", "line 3: not a JSON object"),
        ('{"text": "x"}', "line 3: id: required, a string or an integer"),
        ('{"id": true, "text": "x"}', "line 3: id: required, a string or an integer"),
        ('{"id": 1}', "line 3: text: required, a string"),
        ('{"id": 1, "text": 5}', "line 3: text: required, a string"),
        ('{"id": 1, "text": "x", "lang": "fr"}', "line 3: lang: unknown field"),
    ],
)
def test_bad_lines_name_line_and_field(line: str, message: str) -> None:
    with pytest.raises(LineError, match=message):
        parse_line(line, 3)


def test_an_error_never_echoes_the_text() -> None:
    with pytest.raises(LineError) as error:
        parse_line('{"id": 1, "text": "' + "x" * 100_001 + '"}', 1)
    assert "xxx" not in str(error.value)


def test_chunks_skip_blank_lines_and_count_lines_from_one() -> None:
    lines = ['{"id": 1, "text": "a"}', "", '{"id": 2, "text": "b"}', "oops"]
    parts = chunks(lines, 2)
    assert next(parts) == [(1, "a"), (2, "b")]
    with pytest.raises(LineError, match="line 4: not a JSON object"):
        next(parts)


def test_format_result() -> None:
    line = format_result("a1", [Span("PERSON", 8, 20, 0.85)])
    assert json.loads(line) == {
        "id": "a1",
        "entities": [{"type": "PERSON", "start": 8, "end": 20, "score": 0.85}],
    }
