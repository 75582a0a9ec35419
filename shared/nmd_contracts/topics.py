"""The topic catalogue (topics.yaml) and idempotent provisioning with Kafka's admin client.

nmd-topics list
nmd-topics provision [--bootstrap HOST:PORT] [--replication N]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from nmd_contracts.errors import UnknownEventType
from nmd_contracts.registry import REGISTRY

DEAD_LETTER_TOPIC = "deadletters"
ANY_TYPE = "*"  # only the dead-letter topic may carry every type
SERVICES = ("partners", "stories", "newsletter", "pages")
CLEANUP_POLICIES = ("delete", "compact", "compact,delete")
TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code: another provisioner won the race, which is fine


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    replication: int
    cleanup_policy: str
    retention_ms: int | None  # None: the broker's default; -1: forever
    event_types: tuple[str, ...]
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    description: str

    def kafka_configs(self, replication: int) -> dict[str, str]:
        """Topic-level configs for a cluster where the topic gets `replication` replicas."""
        configs = {
            "cleanup.policy": self.cleanup_policy,
            # acks=all then needs two live copies when there are three; a single dev broker can only need one.
            "min.insync.replicas": str(max(1, min(2, replication - 1))),
        }
        if self.retention_ms is not None:
            configs["retention.ms"] = str(self.retention_ms)
        return configs


@functools.cache
def _catalogue() -> tuple[Topic, ...]:
    raw = yaml.safe_load(resources.files("nmd_contracts").joinpath("topics.yaml").read_text("utf-8"))
    topics = tuple(_topic(entry) for entry in raw["topics"])
    _check(topics)
    return topics


def _topic(entry: dict[str, Any]) -> Topic:
    return Topic(
        name=entry["name"],
        partitions=int(entry["partitions"]),
        replication=int(entry["replication"]),
        cleanup_policy=entry["cleanup_policy"],
        retention_ms=None if entry.get("retention_ms") is None else int(entry["retention_ms"]),
        event_types=tuple(entry["event_types"]),
        producers=tuple(entry.get("producers") or ()),
        consumers=tuple(entry.get("consumers") or ()),
        description=" ".join(entry["description"].split()),
    )


def _check(topics: tuple[Topic, ...]) -> None:
    """Refuse a catalogue that would route an event type nowhere, twice, or onto a misconfigured topic."""
    names = [t.name for t in topics]
    if len(set(names)) != len(names):
        raise ValueError("topics.yaml: a topic is listed twice")
    if DEAD_LETTER_TOPIC not in names:
        raise ValueError(f"topics.yaml: the dead-letter topic {DEAD_LETTER_TOPIC!r} is missing")
    seen: dict[str, str] = {}
    for topic in topics:
        if topic.partitions < 1 or topic.replication < 1 or topic.cleanup_policy not in CLEANUP_POLICIES:
            raise ValueError(f"topics.yaml: {topic.name}: bad partitions, replication or cleanup_policy")
        unknown_services = set(topic.producers + topic.consumers) - set(SERVICES)
        if unknown_services:
            raise ValueError(f"topics.yaml: {topic.name}: unknown services {sorted(unknown_services)}")
        if topic.name == DEAD_LETTER_TOPIC:
            if topic.event_types != (ANY_TYPE,):
                raise ValueError(f"topics.yaml: {DEAD_LETTER_TOPIC} takes every type: event_types: ['*']")
            continue
        for event_type in topic.event_types:
            REGISTRY.spec(event_type)  # raises for a type nobody registered
            if event_type in seen:
                raise ValueError(f"topics.yaml: {event_type} is on both {seen[event_type]} and {topic.name}")
            seen[event_type] = topic.name
    missing = set(REGISTRY.types()) - set(seen)
    if missing:
        raise ValueError(f"topics.yaml: no topic for {sorted(missing)}")


def load_catalogue() -> dict[str, Topic]:
    return {topic.name: topic for topic in _catalogue()}


@functools.cache
def _routes() -> dict[str, str]:
    return {t: topic.name for topic in _catalogue() if topic.name != DEAD_LETTER_TOPIC for t in topic.event_types}


def topic_for(event_type: str) -> str:
    try:
        return _routes()[event_type]
    except KeyError:
        raise UnknownEventType(
            f"no topic for event type {event_type!r}", field="type", event_type=event_type
        ) from None


def provision(
    bootstrap_servers: str,
    replication: int | None = None,
    *,
    topics: Iterable[Topic] | None = None,
    **admin_configs: Any,
) -> list[str]:
    """Create the catalogue's missing topics (the dead-letter topic included); return the names created.

    Existing topics are left as they are: changing partitions or configs of a live topic is an operator's decision.
    `topics` replaces the catalogue (tests provision uniquely named copies); `admin_configs` go to KafkaAdminClient
    (security_protocol, sasl_mechanism, ...).
    """
    from kafka.admin import KafkaAdminClient  # imported here so that reading contracts never needs kafka-python
    from kafka.errors import for_code

    wanted = list(topics if topics is not None else _catalogue())
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="nmd-topics", **admin_configs)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if not missing:
            return []
        brokers = len(admin.describe_cluster()["brokers"])
        request = {}
        for topic in missing:
            factor = replication if replication is not None else min(topic.replication, brokers)
            request[topic.name] = {
                "num_partitions": topic.partitions,
                "replication_factor": factor,
                "configs": topic.kafka_configs(factor),
            }
        response = admin.create_topics(request, raise_errors=False)
        created = []
        for result in response["topics"]:
            if result["error_code"] == 0:
                created.append(result["name"])
            elif result["error_code"] != TOPIC_ALREADY_EXISTS:
                error = for_code(result["error_code"])
                raise error(f"creating {result['name']}: {result.get('error_message') or error.__name__}")
        # The broker answers before every partition has a leader; producers started right after would fail.
        admin.wait_for_topics(created, timeout_ms=30_000)
        return [t.name for t in missing if t.name in created]
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nmd-topics", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="print the catalogue")
    provision_cmd = commands.add_parser("provision", help="create missing topics (idempotent)")
    provision_cmd.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
        help="bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS or localhost:9092)",
    )
    provision_cmd.add_argument("--replication", type=int, help="replication factor (default: catalogue's, capped)")
    args = parser.parse_args(argv)

    if args.command == "list":
        for topic in _catalogue():
            retention = {-1: "forever", None: "broker default"}.get(topic.retention_ms)
            retention = retention or f"{topic.retention_ms // 86_400_000}d"
            print(
                f"{topic.name:24} p={topic.partitions:<3} r={topic.replication} {topic.cleanup_policy} {retention}"
            )
            print(f"{'':24} types: {', '.join(topic.event_types)}")
            print(f"{'':24} {', '.join(topic.producers)} -> {', '.join(topic.consumers) or '(operators)'}")
        return 0
    created = provision(args.bootstrap, args.replication)
    print(f"created {len(created)} topic(s): {', '.join(created)}" if created else "all topics exist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
