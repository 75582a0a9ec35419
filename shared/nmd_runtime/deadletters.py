"""The dead-letter topic: what a consumer group could not apply, with why, and a command to replay it."""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kafka import OffsetAndMetadata, TopicPartition
from nmd_contracts.topics import DEAD_LETTER_TOPIC

from nmd_runtime import kafka

log = logging.getLogger(__name__)

PREFIX = "dlq."
REPLAYED_FROM = "replayed-from-offset"


class DeadLetterWriter:
    """Sends a failed record, unchanged, with its error and origin in headers, and waits for the ack:
    the caller commits the record's offset only once the dead letter is safe."""

    def __init__(self) -> None:
        self._producer: Any = None

    def write(self, record: Any, group: str, error: BaseException, *, attempts: int) -> None:
        if self._producer is None:
            self._producer = kafka.producer()
        headers = [(k, v) for k, v in (record.headers or []) if not k.startswith(PREFIX)]
        headers += [
            (PREFIX + name, str(value).encode())
            for name, value in {
                "error": str(error)[:2000],
                "error_type": type(error).__name__,
                "attempts": attempts,
                "group": group,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "failed_at": datetime.now(UTC).isoformat(),
            }.items()
        ]
        self._producer.send(DEAD_LETTER_TOPIC, key=record.key, value=record.value, headers=headers).get(timeout=30)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)


@dataclass(frozen=True)
class DeadLetter:
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    offset: int
    partition: int

    def origin(self, name: str) -> str:
        return dict(self.headers).get(PREFIX + name, b"").decode()

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if not k.startswith(PREFIX)]


def read_all(timeout_ms: int = 2000) -> list[DeadLetter]:
    """Every dead letter still on the topic, oldest first."""
    consumer = kafka.consumer(None, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(DEAD_LETTER_TOPIC, p) for p in consumer.partitions_for_topic(DEAD_LETTER_TOPIC) or []
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for tp, records in consumer.poll(timeout_ms=timeout_ms).items():
                letters += [DeadLetter(r.key, r.value, list(r.headers), r.offset, tp.partition) for r in records]
        return letters
    finally:
        consumer.close()


def replay(group: str) -> int:
    """Send the group's dead letters, as they stand now, back to their original topics.

    A replay group of its own remembers how far it got, so a second replay does not resend; letters written
    while replaying (a message that fails again) wait for the next replay instead of looping. Other groups on
    the original topic see the event again and skip it: their consumers are idempotent."""
    consumer = kafka.consumer(f"deadletters-replay.{group}")
    producer = kafka.producer()
    sent = 0
    try:
        partitions = [
            TopicPartition(DEAD_LETTER_TOPIC, p) for p in consumer.partitions_for_topic(DEAD_LETTER_TOPIC)
        ]
        consumer.assign(partitions)
        end = consumer.end_offsets(partitions)
        for tp in partitions:
            committed = consumer.committed(tp)
            consumer.seek(tp, committed) if committed is not None else consumer.seek_to_beginning(tp)
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for tp, records in consumer.poll(timeout_ms=1000).items():
                for record in records:
                    if record.offset < end[tp]:
                        sent += _replay_one(producer, record, group)
        producer.flush()
        consumer.commit({tp: OffsetAndMetadata(end[tp], "", -1) for tp in partitions})
    finally:
        producer.close(timeout=10)
        consumer.close()
    return sent


def _replay_one(producer: Any, record: Any, group: str) -> int:
    letter = DeadLetter(record.key, record.value, list(record.headers), record.offset, record.partition)
    if letter.origin("group") != group:
        return 0
    kept = [(k, v) for k, v in letter.original_headers() if k != REPLAYED_FROM]
    headers = [*kept, (REPLAYED_FROM, str(record.offset).encode())]
    producer.send(letter.origin("topic"), key=letter.key, value=letter.value, headers=headers)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nmd-deadletters", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="count dead letters by consumer group and error")
    replay_parser = commands.add_parser("replay", help="send a group's dead letters back to their topics")
    replay_parser.add_argument("--group", required=True)
    args = parser.parse_args(argv)
    if args.command == "list":
        counts = Counter((d.origin("group"), d.origin("topic"), d.origin("error_type")) for d in read_all())
        for (group, topic, error), count in sorted(counts.items()):
            print(f"{count:6d}  {group}  {topic}  {error}")
        return 0
    print(f"replayed {replay(args.group)} dead letters of {args.group}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
