"""Provisioning against a real broker: creates what is missing, then nothing; replication and min.insync.replicas
follow the number of brokers (one dev broker, or the three-broker production shape)."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from nmd_contracts.topics import DEAD_LETTER_TOPIC, Topic, load_catalogue, provision


def _fresh_copies(names: list[str] | None = None) -> list[Topic]:
    # Uniquely named copies, so that the first run really creates every one of them.
    suffix = uuid.uuid4().hex[:8]
    return [
        dataclasses.replace(t, name=f"{t.name}.{suffix}")
        for t in load_catalogue().values()
        if names is None or t.name in names
    ]


def _check_provisioning(bootstrap: str, copies: list[Topic]) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        created = provision(bootstrap, topics=copies)
        assert sorted(created) == sorted(t.name for t in copies)
        assert provision(bootstrap, topics=copies) == []

        brokers = len(admin.describe_cluster()["brokers"])
        described = {t["name"]: t for t in admin.describe_topics([t.name for t in copies])}
        answer = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t.name) for t in copies])
        for topic in copies:
            partitions = described[topic.name]["partitions"]
            assert len(partitions) == topic.partitions
            assert all(len(p["replica_nodes"]) == min(topic.replication, brokers) for p in partitions)
            configs = {name: entry["value"] for name, entry in answer["topic"][topic.name].items()}
            assert configs["cleanup.policy"] == topic.cleanup_policy
            assert configs["retention.ms"] == str(topic.retention_ms)
            assert configs["min.insync.replicas"] == ("2" if brokers >= 3 else "1")
        return brokers
    finally:
        admin.delete_topics([t.name for t in copies], raise_errors=False)
        admin.close()


def test_provision_is_idempotent_on_fresh_topics(kafka_bootstrap: str) -> None:
    _check_provisioning(kafka_bootstrap, _fresh_copies())


@pytest.mark.cluster
def test_provision_uses_production_replication_on_a_cluster(kafka_cluster: str) -> None:
    brokers = _check_provisioning(kafka_cluster, _fresh_copies(["partners.events", "newsletter.deliveries"]))
    assert brokers >= 3


def test_provision_the_real_catalogue_twice(kafka_bootstrap: str) -> None:
    first = provision(kafka_bootstrap)
    assert set(first) <= set(load_catalogue())
    assert provision(kafka_bootstrap) == []
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        assert set(load_catalogue()) | {DEAD_LETTER_TOPIC} <= set(admin.list_topics())
    finally:
        admin.close()
