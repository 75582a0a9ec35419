"""docs/asyncapi.yaml is current, valid AsyncAPI 3.0, and its payload schemas accept the golden samples."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from nmd_contracts.asyncapi import default_output, main, message_id, render
from nmd_contracts.registry import REGISTRY
from nmd_contracts.samples import sample
from nmd_contracts.topics import load_catalogue
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

REPO = Path(__file__).resolve().parents[2]
DOC_PATH = REPO / "docs" / "asyncapi.yaml"
ASYNCAPI_SCHEMA = Path(__file__).with_name("data") / "asyncapi-3.0.0.schema.json.gz"


@pytest.fixture(scope="module")
def doc() -> dict:
    return yaml.safe_load(DOC_PATH.read_text("utf-8"))


def test_file_is_current() -> None:
    assert default_output() == DOC_PATH
    assert DOC_PATH.read_text("utf-8") == render(), "docs/asyncapi.yaml is stale: run `nmd-asyncapi`"
    assert main(["--check"]) == 0


def test_check_fails_when_stale(tmp_path: Path) -> None:
    stale = tmp_path / "asyncapi.yaml"
    stale.write_text(render().replace("partners.events", "partner.events", 1), "utf-8")
    assert main(["--check", "--output", str(stale)]) == 1
    assert main(["--check", "--output", str(tmp_path / "missing.yaml")]) == 1
    assert main(["--output", str(stale)]) == 0 and main(["--check", "--output", str(stale)]) == 0


def test_valid_asyncapi_3(doc: dict) -> None:
    schema = json.loads(gzip.decompress(ASYNCAPI_SCHEMA.read_bytes()))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]


def test_channels_are_topics_and_carry_every_version(doc: dict) -> None:
    for topic in load_catalogue().values():
        channel = doc["channels"][topic.name.replace(".", "-")]
        assert channel["address"] == topic.name
        assert channel["bindings"]["kafka"]["partitions"] == topic.partitions
        expected = {message_id(s) for s in REGISTRY.specs() if s.type in topic.event_types}
        if expected:
            assert set(channel["messages"]) == expected


def payload_validator(doc: dict, spec) -> jsonschema.Draft7Validator:
    registry = Registry().with_resource("urn:asyncapi", Resource.from_contents(doc, default_specification=DRAFT7))
    ref = {"$ref": f"urn:asyncapi#/components/messages/{message_id(spec)}/payload"}
    return jsonschema.Draft7Validator(ref, registry=registry, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("spec", REGISTRY.specs(), ids=lambda s: f"{s.type}.v{s.version}")
def test_payload_schema_accepts_the_golden_sample(doc: dict, spec) -> None:
    validator = payload_validator(doc, spec)
    message = sample(spec.type, spec.version)
    validator.validate(message)
    # ... and is not a blank cheque: an unknown data field or a missing required one is refused.
    extra = copy.deepcopy(message)
    extra["data"]["unexpected"] = 1
    assert not validator.is_valid(extra)
    required = doc["components"]["schemas"][f"{message_id(spec)}-data"].get("required", [])
    if required:
        missing = copy.deepcopy(message)
        del missing["data"][required[0]]
        assert not validator.is_valid(missing)
