"""Read what services put on Kafka, as a downstream consumer would, for assertions in tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from nmd_contracts.envelope import Event, from_kafka


class TopicReader:
    """Reads a topic from the position it had when created, so a test sees only what happened after."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        partitions = [TopicPartition(topic, p) for p in self.consumer.partitions_for_topic(topic) or []]
        assert partitions, f"topic {topic} does not exist: provision the catalogue first"
        self.consumer.assign(partitions)
        self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            self.consumer.position(tp)  # resolve the lazy seek now, before the test acts
        self.events: list[Event] = []

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 30.0) -> Event:
        """The first event matching the predicate, reading on until the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if predicate(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(e.type, e.subject) for e in self.events]
                raise AssertionError(f"no matching event within {timeout}s; saw {seen}")
            for records in self.consumer.poll(timeout_ms=int(min(remaining, 0.5) * 1000)).values():
                self.events += [from_kafka(r.value, r.headers) for r in records]

    def of(self, subject: str) -> list[Event]:
        return [e for e in self.events if e.subject == subject]

    def close(self) -> None:
        self.consumer.close()
