"""Rebuild the public read models from the beginning of their topics:

    python -m nmd_pages.rebuild [--database-url URL]

Reads partners.events, stories.events and subscribers.events from offset 0 up to their end offsets at the start
(no consumer group, so the worker's committed offsets are left alone), and swaps the result in within one
database transaction: pages show the old read models until the new ones are complete, never a half-built one.
The handlers are the worker's own, so a replay gives the state the worker built. Run it with the worker stopped,
or accept that events the worker applies during the rebuild may be applied again on top (they are all
insert-or-replace and delete, so the outcome is the same).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable

from kafka import TopicPartition
from nmd_contracts.envelope import InvalidEvent, from_kafka
from nmd_runtime import kafka
from sqlalchemy import Engine, delete

from nmd_pages import read_models, tables

log = logging.getLogger(__name__)


def rebuild(engine: Engine, poll_ms: int = 1000) -> int:
    """Returns the number of events applied."""
    consumer = kafka.consumer(None)
    applied = 0
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in read_models.topics()
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        with engine.begin() as conn:
            for table in read_models.TABLES:
                conn.execute(delete(table))
            while any(consumer.position(tp) < end[tp] for tp in partitions):
                for tp, records in consumer.poll(timeout_ms=poll_ms).items():
                    for record in records:
                        if record.offset >= end[tp]:
                            continue
                        applied += _apply(conn, record)
            tables.bump_version(conn)
    finally:
        consumer.close()
    return applied


def _apply(conn: object, record: object) -> int:
    try:
        event = from_kafka(record.value, record.headers)  # type: ignore[attr-defined]
    except InvalidEvent as error:
        # The live consumer dead-lettered this one too: it never reached the read models.
        log.warning("skipping unreadable event: %s", error)
        return 0
    handler = read_models.HANDLERS.get(event.type)
    if handler is None:
        return 0
    try:
        with conn.begin_nested():  # type: ignore[attr-defined]
            handler(conn, event)  # type: ignore[arg-type]
    except Exception as error:
        log.warning("skipping event %s the handler refused: %s", event.id, error)
        return 0
    return 1


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nmd-pages-rebuild", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(list(argv) if argv is not None else None)
    from nmd_pages.worker import prepare

    applied = rebuild(prepare(args.database_url))
    print(f"read models rebuilt from {applied} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
