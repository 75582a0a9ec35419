"""The topic catalogue routes every event type to exactly one topic, with the agreed configuration."""

from __future__ import annotations

import pytest
from nmd_contracts.errors import UnknownEventType
from nmd_contracts.introspect import describe_schema
from nmd_contracts.registry import REGISTRY
from nmd_contracts.topics import DEAD_LETTER_TOPIC, SERVICES, load_catalogue, main, topic_for

DAY_MS = 24 * 3600 * 1000
CATALOGUE = load_catalogue()


def test_every_registered_type_is_on_exactly_one_topic() -> None:
    for event_type in REGISTRY.types():
        homes = [t.name for t in CATALOGUE.values() if event_type in t.event_types]
        assert len(homes) == 1, (event_type, homes)
        assert topic_for(event_type) == homes[0]
    listed = {t for topic in CATALOGUE.values() if topic.name != DEAD_LETTER_TOPIC for t in topic.event_types}
    assert listed == set(REGISTRY.types())


def test_unknown_type_has_no_topic() -> None:
    with pytest.raises(UnknownEventType):
        topic_for("partner.exploded")


def test_the_agreed_topics() -> None:
    assert set(CATALOGUE) == {
        "partners.events",
        "stories.events",
        "subscribers.events",
        "notifications.email",
        "newsletter.deliveries",
        "newsletter.events",
        "email.events",
        "page.views",
        DEAD_LETTER_TOPIC,
    }
    assert topic_for("email.requested") == "notifications.email"
    assert topic_for("newsletter.batch_requested") == "newsletter.deliveries"
    assert topic_for("page.viewed") == "page.views"
    assert CATALOGUE["newsletter.deliveries"].partitions == 12
    for topic in CATALOGUE.values():
        assert topic.replication == 3
        assert topic.cleanup_policy == "delete"  # read models replay from the beginning: nothing is compacted
        assert set(topic.producers) <= set(SERVICES) and set(topic.consumers) <= set(SERVICES)


def test_retention() -> None:
    for name in ("partners.events", "stories.events", "subscribers.events", "newsletter.events"):
        assert CATALOGUE[name].retention_ms == -1
    assert CATALOGUE["page.views"].retention_ms == 30 * DAY_MS
    assert CATALOGUE["notifications.email"].retention_ms == 7 * DAY_MS
    assert CATALOGUE["newsletter.deliveries"].retention_ms == 7 * DAY_MS
    dead = CATALOGUE[DEAD_LETTER_TOPIC]
    assert dead.retention_ms == 30 * DAY_MS and dead.event_types == ("*",)


def test_commands_travel_on_their_own_topics() -> None:
    for spec in REGISTRY.specs():
        topic = CATALOGUE[topic_for(spec.type)]
        assert all(REGISTRY.spec(t).is_command == spec.is_command for t in topic.event_types), topic.name


def _has_personal_field(fields: dict) -> list[str]:
    found = []
    for name, desc in fields.items():
        if desc.get("format") == "email" or name in {"email", "ip", "ip_address", "phone", "to", "to_name"}:
            found.append(name)
        found += _has_personal_field(desc.get("fields", {}))
        found += _has_personal_field(desc.get("items", {}).get("fields", {}))
    return found


def test_topics_kept_forever_carry_no_contact_details() -> None:
    """Kept-forever topics cannot forget: an email address there would survive every erasure request."""
    for topic in CATALOGUE.values():
        if topic.retention_ms != -1:
            continue
        for event_type in topic.event_types:
            for version in range(1, REGISTRY.latest_version(event_type) + 1):
                fields = describe_schema(REGISTRY.spec(event_type, version).schema)
                assert not _has_personal_field(fields), (topic.name, event_type)


def test_kafka_configs_follow_the_replication_actually_used() -> None:
    topic = CATALOGUE["partners.events"]
    assert topic.kafka_configs(3) == {"cleanup.policy": "delete", "min.insync.replicas": "2", "retention.ms": "-1"}
    assert topic.kafka_configs(1)["min.insync.replicas"] == "1"


def test_list_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "newsletter.deliveries" in out and "p=12" in out
