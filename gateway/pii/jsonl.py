"""The JSON lines of `gateway pii analyze`: parse requests, format results (pure).

Errors name the line and the field, never the text (CONVENTIONS R6).
"""

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from gateway.pii.spans import Span

MAX_TEXT = 100_000


class LineError(ValueError):
    """One input line that is not `{"id": ..., "text": "..."}`."""


def parse_line(line: str, number: int) -> tuple[Any, str]:
    """The id and text of one input line.

    Args:
        line: The raw line.
        number: Its 1-based line number, for the error.

    Raises:
        LineError: The line is not a JSON object with a scalar id and a text.
    """
    try:
        item = json.loads(line)
    except json.JSONDecodeError:
        raise LineError(f"line {number}: not a JSON object") from None
    if not isinstance(item, dict):
        raise LineError(f"line {number}: not a JSON object")
    unknown = sorted(set(item) - {"id", "text"})
    if unknown:
        raise LineError(
            f"line {number}: {unknown[0]}: unknown field (send id and text)"
        )
    if "id" not in item or not isinstance(item["id"], str | int) or item["id"] is True:
        raise LineError(f"line {number}: id: required, a string or an integer")
    text = item.get("text")
    if not isinstance(text, str):
        raise LineError(f"line {number}: text: required, a string")
    if len(text) > MAX_TEXT:
        raise LineError(f"line {number}: text: longer than {MAX_TEXT} characters")
    return item["id"], text


def chunks(lines: Iterable[str], size: int) -> Iterator[list[tuple[Any, str]]]:
    """Parsed (id, text) pairs in chunks of `size`, blank lines skipped."""
    numbered = ((n, line) for n, line in enumerate(lines, 1) if line.strip())
    while chunk := list(islice(numbered, size)):
        yield [parse_line(line, n) for n, line in chunk]


def format_result(item_id: Any, spans: list[Span]) -> str:
    """One output line: the id and the entities found, in text order."""
    entities = [
        {"type": s.entity_type, "start": s.start, "end": s.end, "score": s.score}
        for s in spans
    ]
    return json.dumps({"id": item_id, "entities": entities}, ensure_ascii=False)
