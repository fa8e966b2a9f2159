"""Log lines carry no exception text, and are JSON."""

import json
import logging

from gateway.logs import ExceptionTypeOnly, JsonFormatter


def _record_with_exception() -> logging.LogRecord:
    try:
        raise ValueError("Key (email)=(zelda@example.com) already exists")
    except ValueError:
        import sys

        return logging.LogRecord(
            "uvicorn.error",
            logging.ERROR,
            __file__,
            1,
            "Exception in ASGI app",
            None,
            sys.exc_info(),
        )


def test_exception_text_is_reduced_to_its_type() -> None:
    record = _record_with_exception()
    assert ExceptionTypeOnly().filter(record)
    line = JsonFormatter().format(record)
    assert "zelda" not in line
    assert "ValueError" in line
    assert json.loads(line)["level"] == "ERROR"


def test_formatter_keeps_type_only_even_without_the_filter() -> None:
    line = JsonFormatter().format(_record_with_exception())
    assert "zelda" not in line
    assert json.loads(line)["exception"] == "ValueError"
