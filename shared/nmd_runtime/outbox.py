"""Transactional outbox: an event is written in the same transaction as the state change that caused it,
and a relay publishes the rows to Kafka in order, marking each published only after the broker acknowledged it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from kafka.errors import KafkaError
from nmd_contracts.envelope import Event, new_event, to_kafka
from nmd_contracts.topics import topic_for
from sqlalchemy import BigInteger, ColumnElement, Connection, Engine, any_, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY

from nmd_runtime import context, kafka
from nmd_runtime.database import is_postgres
from nmd_runtime.tables import outbox

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "nmd_outbox"
# Relays of one service agree on this lock so only one publishes at a time: order needs a single writer.
RELAY_LOCK_ID = 7_270_010


def record(conn: Connection, event: Event, *, topic: str | None = None) -> Event:
    """Add an event to the outbox inside the caller's open transaction (on its catalogue topic by default)."""
    key, value, headers = to_kafka(event)
    conn.execute(
        insert(outbox).values(
            event_id=event.id,
            topic=topic or topic_for(event.type),
            key=key.decode(),
            value=value,
            headers=[[name, header.decode()] for name, header in headers],
            created_at=datetime.now(UTC),
        )
    )
    if is_postgres(conn.engine):
        # Delivered to the relay's LISTEN only when this transaction commits.
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return event


def record_many(conn: Connection, events: list[Event]) -> None:
    """Add many events in one multi-row insert and one notification: for high-volume producers (page views),
    where a statement and a pg_notify per event would cost several times the events themselves."""
    if not events:
        return
    now = datetime.now(UTC)
    rows = []
    for event in events:
        key, value, headers = to_kafka(event)
        rows.append(
            {
                "event_id": event.id,
                "topic": topic_for(event.type),
                "key": key.decode(),
                "value": value,
                "headers": [[name, header.decode()] for name, header in headers],
                "created_at": now,
            }
        )
    conn.execute(insert(outbox), rows)
    if is_postgres(conn.engine):
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


def publish(conn: Connection, type: str, subject: str, data: dict[str, Any], *, source: str) -> Event:
    """Build a valid event carrying the current correlation id, and record it in the outbox."""
    event = new_event(
        type,
        subject,
        data,
        source=source,
        correlationid=context.correlation_id.get(),
        traceparent=context.traceparent.get(),
    )
    return record(conn, event)


class Relay:
    """Publishes outbox rows in id order; a row is marked only after every row before it was acknowledged."""

    def __init__(
        self,
        engine: Engine,
        *,
        # Rows read, sent and marked per round: each round waits for the broker's acknowledgements, so bigger
        # rounds amortise that wait (5,000 moved 13 % more events a second than 1,000 in bench/relay.py).
        batch_size: int = 5000,
        producer_factory: Callable[[], Any] = kafka.producer,
        idle_wait: float = 1.0,
        before_mark: Callable[[list[int]], None] | None = None,
        keep_published_seconds: float = 7 * 24 * 3600,
        prune_every: float = 3600.0,
    ) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.producer_factory = producer_factory
        self.idle_wait = idle_wait
        # Called with the acknowledged row ids just before they are marked: the fault tests kill the process here.
        self.before_mark = before_mark
        # Published rows are kept a while (for looking into), then deleted: Kafka is the record of them.
        self.keep_published_seconds = keep_published_seconds
        self.prune_every = prune_every
        self._producer: Any = None
        self.published = 0

    def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were marked published."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.value, outbox.c.headers)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            ).all()
        if not rows:
            return 0
        acked = self._send_in_order(rows)
        if acked and self.before_mark:
            self.before_mark(acked)
        if acked:
            with self.engine.begin() as conn:
                conn.execute(update(outbox).where(self._among(acked)).values(published_at=datetime.now(UTC)))
        self.published += len(acked)
        return len(acked)

    def _send_in_order(self, rows: list[Any]) -> list[int]:
        producer = self._ensure_producer()
        futures = []
        for row in rows:
            headers = [(name, value.encode()) for name, value in row.headers]
            try:
                futures.append(
                    (row.id, producer.send(row.topic, key=row.key.encode(), value=row.value, headers=headers))
                )
            except KafkaError as error:
                log.warning("outbox send stopped at row %s: %s", row.id, error)
                break
        producer.flush(timeout=30)
        acked: list[int] = []
        for row_id, future in futures:
            # Only the unbroken prefix counts: a row after a failure is resent, never overtaking it.
            if future.failed() or not future.is_done:
                log.warning("outbox row %s not acknowledged: %s", row_id, future.exception)
                break
            acked.append(row_id)
        return acked

    def _among(self, ids: list[int]) -> ColumnElement[bool]:
        # On PostgreSQL one array parameter: a thousand placeholders cost more to build and parse than the update.
        if is_postgres(self.engine):
            return outbox.c.id == any_(bindparam("ids", ids, type_=ARRAY(BigInteger)))
        return outbox.c.id.in_(ids)

    def _ensure_producer(self) -> Any:
        if self._producer is None:
            self._producer = self.producer_factory()
        return self._producer

    def run(self, stop: threading.Event) -> None:
        """Publish until stopped, waking on commit notifications (PostgreSQL) or a short poll (SQLite)."""
        waiter = _CommitWaiter(self.engine)
        next_prune = 0.0
        try:
            waiter.hold_lock(stop)
            while not stop.is_set():
                if time.monotonic() >= next_prune:
                    if pruned := prune_published(self.engine, self.keep_published_seconds):
                        log.info("outbox: %d rows published long ago deleted", pruned)
                    next_prune = time.monotonic() + self.prune_every
                try:
                    moved = self.publish_pending()
                except (KafkaError, OSError) as error:
                    log.warning("outbox relay waiting for Kafka: %s", error)
                    self._close_producer()
                    stop.wait(1.0)
                    continue
                if moved < self.batch_size:
                    waiter.wait(stop, self.idle_wait)
        finally:
            waiter.close()
            self._close_producer()

    def _close_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except KafkaError:
                log.exception("closing producer")
            self._producer = None


class _CommitWaiter:
    """Waits for the next committed outbox row: LISTEN/NOTIFY on PostgreSQL, a 20 ms poll on SQLite."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Any = None
        if is_postgres(engine):
            # A connection of its own, outside the pool: it stays in LISTEN and holds the relay lock.
            url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.connection = psycopg.connect(url, autocommit=True)
            self.connection.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def hold_lock(self, stop: threading.Event) -> None:
        if self.connection is None:
            return
        while not stop.is_set():
            got = self.connection.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK_ID,)).fetchone()[0]
            if got:
                return
            stop.wait(1.0)

    def wait(self, stop: threading.Event, timeout: float) -> None:
        if self.connection is None:
            deadline = time.monotonic() + timeout
            while not stop.is_set() and time.monotonic() < deadline:
                stop.wait(0.02)
                if _has_pending(self.engine):
                    return
            return
        for _ in self.connection.notifies(timeout=timeout, stop_after=1):
            pass

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def _has_pending(engine: Engine) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(select(outbox.c.id).where(outbox.c.published_at.is_(None)).limit(1)).first() is not None
        )


def prune_published(engine: Engine, older_than_seconds: float) -> int:
    """Delete rows published long ago: Kafka is the record of them now."""
    cutoff = datetime.fromtimestamp(time.time() - older_than_seconds, UTC)
    with engine.begin() as conn:
        result = conn.execute(
            outbox.delete().where(outbox.c.published_at.is_not(None), outbox.c.published_at < cutoff)
        )
    return result.rowcount
