"""The CloudEvents 1.0 envelope (structured mode JSON) around every message, and its Kafka form.

Producers build events with new_event (strict: an unknown data field is a bug and raises); consumers read them
with from_kafka / from_json (tolerant: unknown data fields from a newer producer are dropped, older versions are
upcast), so producers and consumers can be deployed in any order within a schema version.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from nmd_contracts.errors import InvalidEvent, UnknownEventType
from nmd_contracts.registry import REGISTRY, dataschema_for, parse_dataschema

__all__ = [
    "CONTENT_TYPE",
    "Event",
    "InvalidEvent",
    "UnknownEventType",
    "from_json",
    "from_kafka",
    "new_event",
    "to_json",
    "to_kafka",
]

SPECVERSION = "1.0"
DATACONTENTTYPE = "application/json"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
# W3C Trace Context: version-traceid-parentid-flags.
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type", "time", "subject", "dataschema", "data")


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    source: str
    subject: str
    time: dt.datetime
    data: dict[str, Any]
    version: int
    correlationid: str | None = None
    traceparent: str | None = None

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise InvalidEvent("time must be timezone-aware", field="time", event_type=self.type)
        if not self.subject:
            raise InvalidEvent("subject (the entity id, used as the Kafka key) must not be empty", field="subject")

    @property
    def dataschema(self) -> str:
        return dataschema_for(self.type, self.version)


def new_event(
    type: str,
    subject: str,
    data: dict[str, Any],
    *,
    source: str,
    correlationid: str | None = None,
    traceparent: str | None = None,
    version: int | None = None,
) -> Event:
    """Build a valid event for the producer: data is validated strictly and stored in its JSON-safe form."""
    spec = REGISTRY.spec(type, version)
    if not source:
        raise InvalidEvent("source must not be empty", field="source", event_type=type)
    if not isinstance(subject, str) or not subject:
        raise InvalidEvent("subject must be a non-empty string (the entity id)", field="subject", event_type=type)
    if traceparent is not None and not TRACEPARENT.match(traceparent):
        raise InvalidEvent("not a W3C traceparent", field="traceparent", event_type=type)
    return Event(
        id=str(uuid.uuid4()),
        type=type,
        source=source,
        subject=subject,
        time=dt.datetime.now(dt.UTC),
        data=spec.load(data, strict=True),
        version=spec.version,
        correlationid=correlationid,
        traceparent=traceparent,
    )


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def to_json(event: Event) -> bytes:
    message: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": _rfc3339(event.time),
        "subject": event.subject,
        "datacontenttype": DATACONTENTTYPE,
        "dataschema": event.dataschema,
        "data": event.data,
    }
    # Extensions are omitted rather than null: the CloudEvents spec has no null attribute values.
    if event.correlationid is not None:
        message["correlationid"] = event.correlationid
    if event.traceparent is not None:
        message["traceparent"] = event.traceparent
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def to_kafka(event: Event) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers). The key is the subject so that one entity's events stay in order on one partition."""
    return event.subject.encode("utf-8"), to_json(event), [("content-type", CONTENT_TYPE.encode("ascii"))]


def from_json(value: bytes | str) -> Event:
    """Read an event as a consumer: tolerant of unknown data fields, upcast to the latest version."""
    try:
        message = json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise InvalidEvent("a structured CloudEvent is a JSON object")
    event_type = message.get("type") if isinstance(message.get("type"), str) else None
    for name in REQUIRED_ATTRIBUTES:
        if message.get(name) in (None, ""):
            raise InvalidEvent(f"missing required attribute {name!r}", field=name, event_type=event_type)
    for name in ("id", "source", "type", "subject", "dataschema"):
        if not isinstance(message[name], str):
            raise InvalidEvent("must be a string", field=name, event_type=event_type)
    if message["specversion"] != SPECVERSION:
        raise InvalidEvent(
            f"unsupported specversion {message['specversion']!r}", field="specversion", event_type=event_type
        )
    if message.get("datacontenttype", DATACONTENTTYPE) != DATACONTENTTYPE:
        raise InvalidEvent("data must be application/json", field="datacontenttype", event_type=event_type)

    schema_type, version = parse_dataschema(message["dataschema"])
    if schema_type != message["type"]:
        raise InvalidEvent(f"dataschema is for {schema_type!r}", field="dataschema", event_type=event_type)
    spec = REGISTRY.spec(message["type"], version)  # UnknownEventType for an unknown type or future version
    # Validate the data as its own version first, so an error names the field the producer actually sent.
    data = spec.load(message["data"], strict=False)
    latest, data = REGISTRY.upcast(spec.type, spec.version, data)
    if latest != spec.version:
        data = REGISTRY.spec(spec.type, latest).load(data, strict=False)

    traceparent = message.get("traceparent")
    return Event(
        id=message["id"],
        type=message["type"],
        source=message["source"],
        subject=message["subject"],
        time=_parse_time(message["time"], event_type),
        data=data,
        version=latest,
        correlationid=_optional_str(message.get("correlationid")),
        # A malformed trace header must not cost us the event: drop it and let tracing start a new trace.
        traceparent=traceparent if isinstance(traceparent, str) and TRACEPARENT.match(traceparent) else None,
    )


def from_kafka(value: bytes, headers: list[tuple[str, bytes]] | None = None) -> Event:
    """Read an event from a Kafka record value. Binary-mode records (ce_* headers) are not produced by us and are
    refused; the content-type header, when present, must announce structured CloudEvents JSON."""
    for name, header_value in headers or ():
        lowered = name.lower()
        if lowered.startswith("ce_"):
            raise InvalidEvent(
                "binary-mode CloudEvents are not accepted; send structured mode", field="content-type"
            )
        if lowered == "content-type" and header_value is not None:
            media_type = header_value.decode("latin-1").split(";")[0].strip().lower()
            if media_type != "application/cloudevents+json":
                raise InvalidEvent(f"unexpected content-type {media_type!r}", field="content-type")
    if value is None:
        raise InvalidEvent("empty record (a tombstone?)")
    return from_json(value)


def _parse_time(value: Any, event_type: str | None) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.upper()) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidEvent(
            "time must be an RFC 3339 timestamp with an offset", field="time", event_type=event_type
        )
    return parsed.astimezone(dt.UTC)


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
