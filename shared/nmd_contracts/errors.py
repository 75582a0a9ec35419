"""The one exception every contract check raises.

It lives in its own module so that the registry and the envelope can both raise it without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class InvalidEvent(Exception):
    """An event (or a request to build one) breaks its contract.

    ``field`` names the offending attribute: an envelope attribute ("specversion", "type", ...) or a data field
    as "data.<path>" (nested paths joined with dots, list positions as numbers), or None when the whole message
    is at fault (malformed JSON). ``errors`` keeps every problem found, for dead-letter headers and logs.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        event_type: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.event_type = event_type
        self.errors: dict[str, list[str]] = dict(errors) if errors else ({field: [message]} if field else {})

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.event_type, self.field) if part)
        return f"{where}: {self.message}" if where else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments survive pickling (multiprocessing, logging handlers) only with this.
        return (_rebuild, (type(self), self.message, self.field, self.event_type, self.errors))


def _rebuild(
    cls: type[InvalidEvent], message: str, field: str | None, event_type: str | None, errors: dict[str, list[str]]
) -> InvalidEvent:
    return cls(message, field=field, event_type=event_type, errors=errors)


class UnknownEventType(InvalidEvent, KeyError):
    """No schema is registered for this type (or this version of it).

    Also a KeyError, because that is what a lookup that misses raises in Python; callers may catch either.
    """

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return InvalidEvent.__str__(self)


def flatten_messages(messages: Any, prefix: str = "data") -> dict[str, list[str]]:
    """Turn marshmallow's nested error dict into {"data.recipients.3.email": ["Not a valid email address."]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_messages(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix] = list(messages)
    elif isinstance(messages, list):
        for item in messages:
            flat.update(flatten_messages(item, prefix))
    else:
        flat[prefix] = [str(messages)]
    return flat
