"""Idempotent consumers: the handler's state change and the event id commit in one transaction, the offset
after it. A message that cannot be read goes straight to the dead-letter topic; a handler that keeps failing is
retried with backoff and then dead-lettered, so the partition keeps flowing."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import ConsumerRebalanceListener, OffsetAndMetadata, TopicPartition
from nmd_contracts.envelope import Event, InvalidEvent, from_kafka
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from nmd_runtime import context, deadletters, kafka
from nmd_runtime.tables import processed_events

log = logging.getLogger(__name__)

Handler = Callable[[Connection, Event], None]


@dataclass
class Subscription:
    """A consumer group of a service: which topics it reads and which handler takes each event type."""

    group_id: str
    topics: list[str]
    handlers: Mapping[str, Handler]
    max_attempts: int = 5
    first_backoff: float = 0.2
    max_backoff: float = 10.0
    # Records applied in one transaction: far fewer commits, same effect (see EventConsumer._process_chunk).
    # Only for handlers whose whole effect is in `conn`: a handler with its own connection or an outside call
    # (sending mail) must see each event commit on its own, so the default is one.
    chunk_size: int = 1
    consumer_options: dict[str, Any] = field(default_factory=dict)


class EventConsumer:
    def __init__(self, engine: Engine, subscription: Subscription) -> None:
        self.engine = engine
        self.subscription = subscription
        self.consumer = kafka.consumer(subscription.group_id, **subscription.consumer_options)
        self._done: dict[TopicPartition, int] = {}
        self.consumer.subscribe(subscription.topics, listener=_CommitBeforeRebalance(self))
        self._dead_letters = deadletters.DeadLetterWriter()
        self.handled = 0

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self._process_poll(stop, timeout_ms=500)
        finally:
            self.commit()
            self.consumer.close()
            self._dead_letters.close()

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Process one poll's worth of records (for tests and benchmarks driving the loop themselves)."""
        return self._process_poll(threading.Event(), timeout_ms)

    def _process_poll(self, stop: threading.Event, timeout_ms: int) -> int:
        count = 0
        for records in self.consumer.poll(timeout_ms=timeout_ms).values():
            for start in range(0, len(records), self.subscription.chunk_size):
                if stop.is_set():
                    break
                chunk = records[start : start + self.subscription.chunk_size]
                done = self._process_chunk(chunk, stop)
                if done:
                    self._done[TopicPartition(chunk[0].topic, chunk[0].partition)] = done[-1].offset + 1
                count += len(done)
        # Asynchronous here: losing this commit only means a redelivery, which the processed-events table
        # absorbs; shutdown and rebalances commit synchronously.
        self.commit(wait=False)
        return count

    def _process_chunk(self, chunk: list[Any], stop: threading.Event) -> list[Any]:
        """Apply a run of one partition's records in one transaction; on anything unusual (an unreadable
        message, a handler error, a race on the processed-events key) roll it all back and take the records
        one at a time, in order, so retries and dead letters behave exactly as for a single message."""
        try:
            self._apply_chunk(chunk)
            return chunk
        except Exception as error:
            log.info("chunk of %s fell back to one-by-one: %s", len(chunk), error)
        done = []
        for record in chunk:
            try:
                self._process(record, stop)
            except _Stopping:
                break  # not done: its offset stays uncommitted and it is redelivered after the restart
            done.append(record)
        return done

    def commit(self, wait: bool = True) -> None:
        if not self._done:
            return
        offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in self._done.items()}
        if wait:
            self.consumer.commit(offsets)
        else:
            self.consumer.commit_async(offsets)
        self._done.clear()

    def _process(self, record: Any, stop: threading.Event) -> None:
        try:
            event = from_kafka(record.value, record.headers)
        except InvalidEvent as error:
            log.error("unreadable message at %s/%s@%s: %s", record.topic, record.partition, record.offset, error)
            self._dead_letters.write(record, self.subscription.group_id, error, attempts=0)
            return
        handler = self.subscription.handlers.get(event.type)
        if handler is None:
            return
        self._handle_with_retries(record, event, handler, stop)

    def _handle_with_retries(self, record: Any, event: Event, handler: Handler, stop: threading.Event) -> None:
        backoff = self.subscription.first_backoff
        for attempt in range(1, self.subscription.max_attempts + 1):
            try:
                self._apply_once(record, event, handler)
                self.handled += 1
                return
            except Exception as error:
                log.warning("handler failed for %s (attempt %s): %s", event.id, attempt, error)
                if stop.is_set():
                    raise _Stopping from error
                if attempt == self.subscription.max_attempts:
                    self._dead_letters.write(record, self.subscription.group_id, error, attempts=attempt)
                    return
                stop.wait(min(backoff, self.subscription.max_backoff) * random.uniform(0.5, 1.5))
                backoff *= 2

    def _apply_chunk(self, chunk: list[Any]) -> None:
        events = [(record, from_kafka(record.value, record.headers)) for record in chunk]
        group = self.subscription.group_id
        with self.engine.begin() as conn:
            seen = set(
                conn.execute(
                    select(processed_events.c.event_id).where(
                        processed_events.c.consumer_group == group,
                        processed_events.c.event_id.in_({event.id for _, event in events}),
                    )
                ).scalars()
            )
            applied = []
            for record, event in events:
                handler = self.subscription.handlers.get(event.type)
                if handler is None or event.id in seen:
                    continue
                seen.add(event.id)
                with _caused_by(event):
                    handler(conn, event)
                applied.append(_processed_row(group, record, event))
            if applied:
                conn.execute(insert(processed_events), applied)
        self.handled += len(applied)

    def _apply_once(self, record: Any, event: Event, handler: Handler) -> None:
        group = self.subscription.group_id
        try:
            with self.engine.begin() as conn, _caused_by(event):
                seen = conn.execute(
                    select(processed_events.c.event_id).where(
                        processed_events.c.consumer_group == group, processed_events.c.event_id == event.id
                    )
                ).first()
                if seen:
                    return
                handler(conn, event)
                conn.execute(insert(processed_events).values(**_processed_row(group, record, event)))
        except IntegrityError:
            # Another member of the group applied it first (during a rebalance): nothing left to do.
            if not self._already_processed(event.id):
                raise

    def _already_processed(self, event_id: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(processed_events.c.event_id).where(
                        processed_events.c.consumer_group == self.subscription.group_id,
                        processed_events.c.event_id == event_id,
                    )
                ).first()
                is not None
            )


class _Stopping(Exception):
    """Shutdown came while a failing message was being retried: leave it for after the restart."""


@contextmanager
def _caused_by(event: Event) -> Iterator[None]:
    """Events a handler publishes carry the correlation id of the event that caused them."""
    token = context.correlation_id.set(event.correlationid or event.id)
    trace = context.traceparent.set(event.traceparent)
    try:
        yield
    finally:
        context.correlation_id.reset(token)
        context.traceparent.reset(trace)


def _processed_row(group: str, record: Any, event: Event) -> dict[str, Any]:
    return {
        "consumer_group": group,
        "event_id": event.id,
        "event_type": event.type,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "processed_at": datetime.now(UTC),
    }


class _CommitBeforeRebalance(ConsumerRebalanceListener):
    def __init__(self, owner: EventConsumer) -> None:
        self.owner = owner

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.owner.commit()

    def on_partitions_assigned(self, assigned: Any) -> None:
        pass
