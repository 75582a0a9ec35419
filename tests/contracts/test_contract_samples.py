"""Golden samples: each registered (type, version) has one, and each still validates, upcasts to the latest version
and parses with the official CloudEvents SDK. This is the BACKWARD compatibility proof."""

from __future__ import annotations

import json

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event
from cloudevents.core.formats.json import JSONFormat
from nmd_contracts.envelope import from_json, from_kafka
from nmd_contracts.registry import REGISTRY
from nmd_contracts.samples import parse_name, sample, sample_bytes, sample_names

SPECS = REGISTRY.specs()
IDS = [f"{s.type}.v{s.version}" for s in SPECS]


def test_one_sample_per_registered_version_and_no_strays() -> None:
    on_disk = {parse_name(name) for name in sample_names()}
    registered = {(s.type, s.version) for s in SPECS}
    assert on_disk == registered


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_sample_validates_strictly_at_its_own_version(spec) -> None:
    message = sample(spec.type, spec.version)
    assert message["type"] == spec.type
    assert message["dataschema"] == spec.dataschema
    # Strict: the sample is exactly what a producer of that version sent, no field more or less.
    assert spec.load(message["data"], strict=True) == message["data"]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_sample_upcasts_to_latest_and_validates_there(spec) -> None:
    message = sample(spec.type, spec.version)
    latest = REGISTRY.latest_version(spec.type)
    version, data = REGISTRY.upcast(spec.type, spec.version, message["data"])
    assert version == latest
    REGISTRY.spec(spec.type, latest).load(data, strict=True)  # upcasters produce complete, valid data

    event = from_json(sample_bytes(spec.type, spec.version))
    assert event.version == latest
    assert event.id == message["id"] and event.subject == message["subject"]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_sample_parses_with_the_cloudevents_sdk(spec) -> None:
    raw = sample_bytes(spec.type, spec.version)
    message = json.loads(raw)
    parsed = JSONFormat().read(None, raw)
    assert parsed.get_specversion() == "1.0"
    assert parsed.get_type() == spec.type
    assert parsed.get_id() == message["id"]
    assert parsed.get_subject() == message["subject"]
    assert parsed.get_dataschema() == spec.dataschema
    assert parsed.get_data() == message["data"]
    assert parsed.get_extension("correlationid") == message.get("correlationid")

    # And as a Kafka record in structured mode, through the SDK's Kafka binding.
    record = KafkaMessage(
        headers={"content-type": b"application/cloudevents+json; charset=utf-8"},
        key=message["subject"].encode(),
        value=raw,
    )
    assert from_kafka_event(record).get_type() == spec.type


def test_v1_page_view_reads_as_v2() -> None:
    event = from_kafka(sample_bytes("page.viewed", 1))
    assert event.version == 2
    assert event.dataschema == "urn:nmd:event:page.viewed:v2"
    assert event.data == {
        "page": "/role-of-a-mentor",
        "country": "unknown",
        "referrer_host": None,
        "viewed_at": "2025-10-27T07:15:42Z",
    }
