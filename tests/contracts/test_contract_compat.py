"""The schema lock: live schemas may change within a version only compatibly, and the check can really fail."""

from __future__ import annotations

import copy

import pytest
from marshmallow import Schema, fields
from nmd_contracts import fields as f
from nmd_contracts.compat import REGENERATE, build_lock, compare_locks, read_lock
from nmd_contracts.events.pages import PageViewed
from nmd_contracts.events.partners import PartnerApproved
from nmd_contracts.events.stories import StoryPublished
from nmd_contracts.registry import REGISTRY, EventSpec, Registry
from nmd_contracts.vocab import STORY_ROLES


def test_live_schemas_match_the_lock() -> None:
    changes = compare_locks(read_lock(), build_lock())
    breaking = [str(c) for c in changes if c.breaking]
    assert not breaking, (
        "Breaking change within a schema version. Restore the schema and register the change as a new version "
        "with an upcaster and a golden sample:\n" + "\n".join(breaking)
    )
    assert not changes, f"Compatible schema change: regenerate the lock with `{REGENERATE}`:\n" + "\n".join(
        map(str, changes)
    )


def lock_with(event_type: str, schema: type[Schema], version: int = 1) -> dict:
    """The live lock, except that (event_type, version) now has `schema`."""
    registry = Registry()
    for spec in REGISTRY.specs():
        if (spec.type, spec.version) == (event_type, version):
            spec = EventSpec(spec.type, spec.version, schema, spec.description, spec.is_command)
        registry.add(spec)
    return build_lock(registry)


def changes_for(event_type: str, schema: type[Schema], version: int = 1) -> list:
    return compare_locks(read_lock(), lock_with(event_type, schema, version))


class PageViewedWithoutCountry(Schema):
    page = PageViewed._declared_fields["page"]
    referrer_host = PageViewed._declared_fields["referrer_host"]
    viewed_at = PageViewed._declared_fields["viewed_at"]


class ApprovedWithIntegerName(PartnerApproved):
    name = fields.Integer(required=True)


class ApprovedNeedingAContact(PartnerApproved):
    contact_phone = f.text(30, required=True)


class ApprovedWithRequiredWebsite(PartnerApproved):
    website = f.url(required=True)


class PublishedWithoutOtherRole(StoryPublished):
    role = f.one_of(tuple(r for r in STORY_ROLES if r != "other"), required=True)


class PublishedWithShorterTitles(StoryPublished):
    title = f.text(100, required=True)


class PublishedWithCreditRequired(StoryPublished):
    credit = f.text(100, required=True)


@pytest.mark.parametrize(
    ("event_type", "schema", "version", "expected"),
    [
        ("page.viewed", PageViewedWithoutCountry, 2, "page.viewed v2: data.country: field removed"),
        ("partner.approved", ApprovedWithIntegerName, 1, "type changed from string to integer"),
        ("partner.approved", ApprovedNeedingAContact, 1, "new required field"),
        ("partner.approved", ApprovedWithRequiredWebsite, 1, "now required"),
        ("story.published", PublishedWithoutOtherRole, 1, "choices removed: ['other']"),
        ("story.published", PublishedWithShorterTitles, 1, "max_length changed from 150 to 100"),
        ("story.published", PublishedWithCreditRequired, 1, "no longer nullable"),
    ],
)
def test_breaking_variants_are_rejected(
    event_type: str, schema: type[Schema], version: int, expected: str
) -> None:
    changes = changes_for(event_type, schema, version)
    breaking = [str(c) for c in changes if c.breaking]
    assert any(expected in c for c in breaking), changes


def test_removing_a_version_is_breaking() -> None:
    lock = copy.deepcopy(build_lock())
    del lock["events"]["page.viewed"]["1"]
    changes = compare_locks(read_lock(), lock)
    assert [str(c) for c in changes if c.breaking] == [
        "BREAKING: page.viewed v1: version removed (old messages and golden samples need it)"
    ]


class ApprovedWithOptionalBadge(PartnerApproved):
    badge_url = f.optional(f.url())


class PublishedWithLongerTitles(StoryPublished):
    title = f.text(200, required=True)


@pytest.mark.parametrize("schema", [ApprovedWithOptionalBadge, PublishedWithLongerTitles])
def test_compatible_variants_are_allowed_but_need_a_new_lock(schema: type[Schema]) -> None:
    event_type = "partner.approved" if issubclass(schema, PartnerApproved) else "story.published"
    changes = changes_for(event_type, schema)
    assert changes and not any(c.breaking for c in changes)


def test_the_lock_records_name_type_and_required() -> None:
    fields_ = read_lock()["events"]["page.viewed"]["2"]["fields"]
    assert fields_["page"]["type"] == "string" and fields_["page"]["required"] is True
    assert fields_["referrer_host"]["required"] is False and fields_["referrer_host"]["nullable"] is True
    assert fields_["viewed_at"]["format"] == "date-time"


def test_command_refuses_to_lock_in_a_breaking_change(tmp_path, monkeypatch, capsys) -> None:
    from nmd_contracts import compat

    lock_file = tmp_path / "schemas.lock.json"
    old = build_lock()
    # The lock once had a field the live schema lacks: to the checker, the live schema removed it.
    old["events"]["page.viewed"]["2"]["fields"]["session_id"] = {
        "type": "string",
        "required": True,
        "nullable": False,
    }
    compat.write_lock(old, lock_file)
    monkeypatch.setattr(compat, "LOCK_PATH", lock_file)
    assert compat.main([]) == 1
    assert compat.main(["--write"]) == 1
    assert compat.read_lock(lock_file) == old  # not overwritten
    assert "new version with an upcaster" in capsys.readouterr().err


def test_command_regenerates_the_lock_after_a_compatible_change(tmp_path, monkeypatch, capsys) -> None:
    from nmd_contracts import compat

    lock_file = tmp_path / "schemas.lock.json"
    old = build_lock()
    del old["events"]["page.viewed"]["2"]["fields"]["referrer_host"]  # live schema "added" an optional field
    compat.write_lock(old, lock_file)
    monkeypatch.setattr(compat, "LOCK_PATH", lock_file)
    assert compat.main([]) == 1
    assert REGENERATE in capsys.readouterr().err
    assert compat.main(["--write"]) == 0
    assert compat.main([]) == 0
    assert compat.read_lock(lock_file) == build_lock()
