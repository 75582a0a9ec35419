"""JSON-lines logging for every process, so one log search follows a correlation id across services."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from nmd_runtime import context, settings

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": self.process,
        }
        # Set by the web app per request and by the consumer per event (nmd_runtime.context).
        correlation_id = context.correlation_id.get()
        if correlation_id:
            line["correlation_id"] = correlation_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line.setdefault(key, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class _NmdHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks our handler so configuring twice (tests, gunicorn reloads) replaces it instead of doubling lines.

    sys.stderr is looked up per line, so a later redirect of it (pytest's capture, say) is followed.
    """

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(process: str, *, level: str | None = None) -> None:
    """Send every logger's records to stderr as one JSON object per line."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _NmdHandler)]:
        root.removeHandler(handler)
    handler = _NmdHandler()
    handler.setFormatter(JsonFormatter(process))
    root.addHandler(handler)
    root.setLevel((level or settings.env("LOG_LEVEL")).upper())
    # Kafka's client logs every reconnect attempt at INFO; our own lines say what matters.
    logging.getLogger("kafka").setLevel(max(root.level, logging.WARNING))
