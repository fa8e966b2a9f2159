"""Structured JSON logs; only opaque references, counts and reasons go in them."""

import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path

# Attributes every LogRecord has; anything else was passed in `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record; exception text is reduced to its type."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[0] is not None:
            # A traceback's message can quote data; keep the type only.
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


class ExceptionTypeOnly(logging.Filter):
    """Reduce a record's exception to its type name.

    Starlette re-raises an unhandled error after our handler has answered, and
    uvicorn logs it with the full traceback, whose text can quote data (a
    database error's DETAIL line quotes the offending key).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, without the exception's text."""
        if record.exc_info and record.exc_info[0] is not None:
            record.msg = f"{record.getMessage()} ({record.exc_info[0].__name__})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(log_dir: Path, level: str) -> None:
    """Send JSON lines to stderr and to `log_dir/gateway.log`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter = JsonFormatter()
    stream = logging.StreamHandler()
    stream.setFormatter(formatter)
    file_handler = logging.handlers.WatchedFileHandler(log_dir / "gateway.log")
    file_handler.setFormatter(formatter)
    root = logging.getLogger("gateway")
    root.handlers[:] = [stream, file_handler]
    root.setLevel(level)
    root.propagate = False
    # uvicorn's own access log prints query strings, which may hold identifiers
    # (GET /v1/audit/events?identifier=...): ours logs the route template only.
    logging.getLogger("uvicorn.access").disabled = True
    server_errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, ExceptionTypeOnly) for f in server_errors.filters):
        server_errors.addFilter(ExceptionTypeOnly())
