"""The one place that builds kafka-python clients, so every producer and consumer has the same guarantees."""

from __future__ import annotations

from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition

from nmd_runtime import settings

settings.declare("KAFKA_COMPRESSION", "gzip", "Producer compression: gzip, none (lz4/zstd need extra packages).")
settings.declare("KAFKA_LINGER_MS", "5", "How long the producer waits to fill a batch.")


def producer(**overrides: Any) -> KafkaProducer:
    """Idempotent producer with acks from every in-sync replica: retries never duplicate or reorder."""
    compression = settings.env("KAFKA_COMPRESSION")
    config: dict[str, Any] = settings.kafka_settings() | {
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 5,
        "compression_type": None if compression == "none" else compression,
        "linger_ms": int(settings.env("KAFKA_LINGER_MS")),
        "batch_size": 128 * 1024,
        "max_block_ms": 10_000,
        "request_timeout_ms": 15_000,
        "delivery_timeout_ms": 60_000,
    }
    return KafkaProducer(**(config | overrides))


def consumer(group_id: str | None, **overrides: Any) -> KafkaConsumer:
    """Manual commits only: an offset is committed after the handler's database transaction."""
    config: dict[str, Any] = settings.kafka_settings() | {
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 500,
        "session_timeout_ms": 30_000,
        "heartbeat_interval_ms": 3_000,
        "isolation_level": "read_committed",
    }
    return KafkaConsumer(**(config | overrides))


def admin() -> KafkaAdminClient:
    return KafkaAdminClient(**settings.kafka_settings())


def start_group_at_end(group_id: str, topics: list[str], **overrides: Any) -> None:
    """Commit the current end of each topic for a consumer group that has none yet, so it reads only what comes
    next: a new mailer group must not resend a week of old commands, and a test's fresh group must not read every
    earlier test's events."""
    client = consumer(group_id, **overrides)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in client.partitions_for_topic(t) or ()]
        missing = set(topics) - {tp.topic for tp in partitions}
        if missing:
            raise ValueError(f"topics {sorted(missing)} do not exist")
        ends = client.end_offsets(partitions)
        client.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in ends.items()})
    finally:
        client.close()
