"""The envelope: what producers may build and what consumers accept."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
import uuid

import pytest
from cloudevents.core.formats.json import JSONFormat
from nmd_contracts.envelope import (
    CONTENT_TYPE,
    Event,
    InvalidEvent,
    from_json,
    from_kafka,
    new_event,
    to_json,
    to_kafka,
)
from nmd_contracts.errors import UnknownEventType
from nmd_contracts.registry import REGISTRY
from nmd_contracts.samples import sample

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def batch(**changes: object) -> dict:
    data = copy.deepcopy(sample("newsletter.batch_requested", 1)["data"])
    data.update(changes)
    return data


def view(**changes: object) -> dict:
    return {"page": "/", "country": "GB", "viewed_at": "2026-10-27T09:00:00+01:00", **changes}


def make(event_type: str = "page.viewed", data: dict | None = None, **kwargs: object) -> Event:
    return new_event(event_type, "subject-1", view() if data is None else data, source="/tests", **kwargs)


# --- producing -------------------------------------------------------------------------------------------------


def test_new_event_fills_the_envelope_and_stores_json_safe_data() -> None:
    event = make(correlationid="corr-1", traceparent=TRACE)
    assert uuid.UUID(event.id).version == 4
    assert event.time.tzinfo is not None and event.time.utcoffset() == dt.timedelta(0)
    assert event.version == REGISTRY.latest_version("page.viewed") == 2
    assert event.dataschema == "urn:nmd:event:page.viewed:v2"
    # Normalised to UTC, written with Z; optional fields present as null.
    assert event.data == {"page": "/", "country": "GB", "referrer_host": None, "viewed_at": "2026-10-27T08:00:00Z"}
    json.dumps(event.data)


def test_new_event_accepts_datetime_objects_but_not_naive_ones() -> None:
    aware = make(data=view(viewed_at=dt.datetime(2026, 10, 27, 9, tzinfo=dt.UTC)))
    assert aware.data["viewed_at"] == "2026-10-27T09:00:00Z"
    with pytest.raises(InvalidEvent) as caught:
        make(data=view(viewed_at=dt.datetime(2026, 10, 27, 9)))
    assert caught.value.field == "data.viewed_at"


def test_new_event_can_produce_an_older_version() -> None:
    event = make(data={"path": "/", "country": "GB", "viewed_at": "2026-10-27T09:00:00Z"}, version=1)
    assert event.version == 1 and event.dataschema.endswith(":v1")


def test_producer_refuses_an_unknown_field_and_names_it() -> None:
    with pytest.raises(InvalidEvent) as caught:
        make(data=view(ip_address="203.0.113.9"))
    assert caught.value.field == "data.ip_address"
    assert caught.value.event_type == "page.viewed"
    assert "data.ip_address" in str(caught.value) and "Unknown field" in str(caught.value)


def test_producer_strictness_reaches_nested_objects() -> None:
    recipients = batch()["recipients"]
    recipients[1]["phone"] = "01632 960000"
    with pytest.raises(InvalidEvent) as caught:
        new_event("newsletter.batch_requested", "b1", batch(recipients=recipients), source="/tests", version=1)
    assert caught.value.field == "data.recipients.1.phone"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"page": "/", "viewed_at": "2026-10-27T09:00:00Z"}, "data.country"),  # missing required
        (view(country="gb"), "data.country"),  # not ISO alpha-2
        (view(page="/stories?token=abc"), "data.page"),  # query strings can carry tokens
        (view(viewed_at="yesterday"), "data.viewed_at"),
    ],
)
def test_invalid_data_names_the_field(data: dict, field: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        make(data=data)
    assert caught.value.field == field
    assert field in caught.value.errors


def test_choices_lengths_and_types_are_enforced() -> None:
    published = copy.deepcopy(sample("story.published", 1)["data"])
    for field, bad in [
        ("role", "volunteer"),
        ("themes", ["networking", "networking"]),
        ("themes", []),
        ("usage", ["billboards"]),
        ("photo_url", "javascript:alert(1)"),
        ("title", "x" * 151),
    ]:
        with pytest.raises(InvalidEvent) as caught:
            new_event("story.published", "s1", {**published, field: bad}, source="/tests")
        assert caught.value.field.startswith(f"data.{field}"), (field, caught.value)
    with pytest.raises(InvalidEvent) as caught:
        new_event("newsletter.batch_requested", "b1", batch(batch_number="1"), source="/tests", version=1)
    assert caught.value.field == "data.batch_number"
    too_many = [{"subscriber_id": str(i), "email": f"s{i}@example.com", "name": None} for i in range(1001)]
    with pytest.raises(InvalidEvent) as caught:
        new_event("newsletter.batch_requested", "b1", batch(recipients=too_many), source="/tests", version=1)
    assert caught.value.field == "data.recipients"
    v2 = copy.deepcopy(sample("newsletter.batch_requested", 2)["data"])
    with pytest.raises(InvalidEvent) as caught:  # SendGrid's limit per call
        new_event("newsletter.batch_requested", "b1", v2 | {"recipient_count": 1001}, source="/tests")
    assert caught.value.field == "data.recipient_count"


def test_envelope_arguments_are_checked() -> None:
    with pytest.raises(UnknownEventType) as caught:
        new_event("partner.exploded", "p1", {}, source="/tests")
    assert caught.value.field == "type"
    assert isinstance(caught.value, InvalidEvent) and isinstance(caught.value, KeyError)
    with pytest.raises(InvalidEvent, match="subject"):
        new_event("page.viewed", "", view(), source="/tests")
    with pytest.raises(InvalidEvent, match="traceparent"):
        make(traceparent="not-a-trace")
    with pytest.raises(UnknownEventType):
        make(version=7)


def test_invalid_event_survives_pickling() -> None:
    error = UnknownEventType("unknown event type 'x.y'", field="type", event_type="x.y")
    copy_ = pickle.loads(pickle.dumps(error))
    assert type(copy_) is UnknownEventType and copy_.field == "type" and str(copy_) == str(error)


# --- the wire ----------------------------------------------------------------------------------------------------


def test_to_json_is_structured_mode_cloudevents_the_sdk_reads() -> None:
    event = make(correlationid="corr-1", traceparent=TRACE)
    raw = to_json(event)
    message = json.loads(raw)
    assert message["specversion"] == "1.0"
    assert message["datacontenttype"] == "application/json"
    assert message["time"].endswith("Z")
    assert message["dataschema"] == event.dataschema

    parsed = JSONFormat().read(None, raw)
    assert parsed.get_id() == event.id
    assert parsed.get_source() == "/tests"
    assert parsed.get_type() == "page.viewed"
    assert parsed.get_subject() == "subject-1"
    assert parsed.get_time() == event.time
    assert parsed.get_data() == event.data
    assert parsed.get_extension("correlationid") == "corr-1"
    assert parsed.get_extension("traceparent") == TRACE


def test_extensions_are_omitted_when_none() -> None:
    message = json.loads(to_json(make()))
    assert "correlationid" not in message and "traceparent" not in message
    JSONFormat().read(None, to_json(make()))


def test_to_kafka_keys_by_subject() -> None:
    event = make()
    key, value, headers = to_kafka(event)
    assert key == b"subject-1"
    assert value == to_json(event)
    assert headers == [("content-type", CONTENT_TYPE.encode())]


def test_round_trip() -> None:
    event = make(correlationid="corr-1", traceparent=TRACE)
    assert from_kafka(*to_kafka(event)[1:]) == event
    assert from_json(to_json(event)) == event


# --- consuming -----------------------------------------------------------------------------------------------


def wire(event_type: str = "page.viewed", version: int | None = None, **changes: object) -> dict:
    message = copy.deepcopy(sample(event_type, version or REGISTRY.latest_version(event_type)))
    message.update(changes)
    return message


def encode(message: dict) -> bytes:
    return json.dumps(message).encode()


def test_consumer_ignores_unknown_data_fields_even_nested() -> None:
    data = wire("newsletter.batch_requested", 1)["data"]
    data["priority"] = "high"
    data["recipients"][0]["locale"] = "en-GB"
    loaded = REGISTRY.spec("newsletter.batch_requested", 1).load(data, strict=False)
    assert "priority" not in loaded
    assert "locale" not in loaded["recipients"][0]
    assert loaded["recipients"][0]["email"] == "amira@example.net"


def test_an_old_batch_command_reads_as_the_latest_without_addresses() -> None:
    event = from_json(encode(wire("newsletter.batch_requested", 1)))
    assert event.version == 2 and event.data["recipient_count"] == 2
    assert "recipients" not in event.data and "@" not in json.dumps(event.data)


def test_consumer_ignores_unknown_envelope_extensions_and_bad_traceparent() -> None:
    event = from_json(encode(wire(partitionkey="x", traceparent="garbage")))
    assert event.traceparent is None


def test_consumer_still_requires_required_fields() -> None:
    message = wire()
    del message["data"]["country"]
    with pytest.raises(InvalidEvent) as caught:
        from_json(encode(message))
    assert caught.value.field == "data.country"


def test_consumer_errors_name_the_field_of_the_version_sent() -> None:
    message = wire(version=1)
    message["data"]["path"] = "no-leading-slash"
    with pytest.raises(InvalidEvent) as caught:
        from_json(encode(message))
    assert caught.value.field == "data.path"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (b"\xff\xfe", None),
        (encode(wire(specversion="0.3")), "specversion"),
        (encode(wire(type="page.exploded", dataschema="urn:nmd:event:page.exploded:v1")), "type"),
        (encode(wire(dataschema="urn:nmd:event:page.viewed:v9")), "dataschema"),
        (encode(wire(dataschema="urn:nmd:event:story.published:v1")), "dataschema"),
        (encode(wire(dataschema="https://example.com/schema.json")), "dataschema"),
        (encode(wire(time="27/10/2026")), "time"),
        (encode(wire(time="2026-10-27T09:00:00")), "time"),  # no offset
        (encode(wire(data="a string")), "data"),
        (encode(wire(datacontenttype="text/xml")), "datacontenttype"),
        (encode(wire(id=7)), "id"),
    ],
)
def test_invalid_messages_raise_invalid_event(raw: bytes, field: str | None) -> None:
    with pytest.raises(InvalidEvent) as caught:
        from_json(raw)
    assert caught.value.field == field
    str(caught.value)


@pytest.mark.parametrize(
    "attribute", ["specversion", "id", "source", "type", "time", "subject", "dataschema", "data"]
)
def test_missing_envelope_attribute(attribute: str) -> None:
    message = wire()
    del message[attribute]
    with pytest.raises(InvalidEvent) as caught:
        from_json(encode(message))
    assert caught.value.field == attribute


def test_from_kafka_checks_headers() -> None:
    value = to_json(make())
    assert from_kafka(value, [("content-type", b"application/cloudevents+json")]).type == "page.viewed"
    assert from_kafka(value, None).type == "page.viewed"
    with pytest.raises(InvalidEvent):
        from_kafka(value, [("ce_type", b"page.viewed")])  # binary mode: we never produce it
    with pytest.raises(InvalidEvent):
        from_kafka(value, [("content-type", b"application/avro")])
    with pytest.raises(InvalidEvent):
        from_kafka(None)  # type: ignore[arg-type]  (a tombstone)


def test_time_is_normalised_to_utc() -> None:
    event = from_json(encode(wire(time="2026-10-27T10:00:00+01:00")))
    assert event.time == dt.datetime(2026, 10, 27, 9, tzinfo=dt.UTC)
    assert json.loads(to_json(event))["time"] == "2026-10-27T09:00:00Z"


def test_free_form_context_must_be_json() -> None:
    data = copy.deepcopy(sample("email.requested", 1)["data"])
    data["context"]["deadline"] = dt.date(2026, 10, 27)
    with pytest.raises(InvalidEvent) as caught:
        new_event("email.requested", "k1", data, source="/tests")
    assert caught.value.field == "data"
    data["context"]["deadline"] = "27 October 2026"
    event = new_event("email.requested", "k1", data, source="/tests")
    assert event.data["context"]["deadline"] == "27 October 2026"
