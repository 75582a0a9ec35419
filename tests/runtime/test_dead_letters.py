"""A poison message goes to the dead-letter topic with its error, the messages behind it keep flowing,
and the replay command brings it back once the handler is fixed."""

from __future__ import annotations

import threading
import uuid

from kafka import KafkaProducer
from nmd_contracts.envelope import Event
from nmd_runtime import deadletters
from nmd_runtime.consumer import EventConsumer, Subscription
from nmd_runtime.outbox import Relay, record
from sqlalchemy import Connection

from tests.runtime import ledger
from tests.waiting import wait_for


def test_poison_and_unreadable_messages_are_dead_lettered_and_the_fixed_one_replays(
    own_broker, ledger_engine, monkeypatch
):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", own_broker.bootstrap)
    topic = own_broker.create_topic(partitions=1)
    group = f"dead-letter-test-{uuid.uuid4().hex[:8]}"
    handler_fixed = threading.Event()

    def handler(conn: Connection, event: Event) -> None:
        if event.subject == "poison" and not handler_fixed.is_set():
            raise RuntimeError("cannot apply the poison event")
        ledger.apply(conn, event)

    for key, seq in [("good", 1), ("poison", 1), ("good", 2)]:
        with ledger_engine.begin() as conn:
            record(conn, ledger.numbered_event(key, seq), topic=topic)
    Relay(ledger_engine).publish_pending()
    raw = KafkaProducer(bootstrap_servers=own_broker.bootstrap)
    raw.send(topic, key=b"junk", value=b'{"specversion": "1.0", "type": "no.such.event"}').get(timeout=30)
    raw.close()
    with ledger_engine.begin() as conn:
        record(conn, ledger.numbered_event("good", 3), topic=topic)
    Relay(ledger_engine).publish_pending()

    subscription = Subscription(group, [topic], {"page.viewed": handler}, max_attempts=3, first_backoff=0.01)
    stop = threading.Event()
    consumer = threading.Thread(target=EventConsumer(ledger_engine, subscription).run, args=(stop,))
    consumer.start()
    try:
        wait_for(
            lambda: [k for k, _ in ledger.applied_rows(ledger_engine)] == ["good"] * 3,
            timeout=60,
            message="the messages behind the poison were not processed",
        )
        letters = {d.origin("error_type"): d for d in _letters_of(group, expected=2)}
        assert set(letters) == {"RuntimeError", "InvalidEvent"}
        poison = letters["RuntimeError"]
        assert poison.origin("error") == "cannot apply the poison event"
        assert poison.origin("attempts") == "3"
        assert poison.origin("topic") == topic and poison.origin("offset") == "1"
        assert letters["InvalidEvent"].origin("attempts") == "0"

        handler_fixed.set()
        assert deadletters.replay(group) == 2
        wait_for(
            lambda: ("poison", 1) in ledger.applied_rows(ledger_engine),
            timeout=60,
            message="the replayed event was not applied",
        )
    finally:
        stop.set()
        consumer.join(timeout=60)
    assert sorted(ledger.applied_rows(ledger_engine)) == [("good", 1), ("good", 2), ("good", 3), ("poison", 1)]


def _letters_of(group: str, expected: int) -> list[deadletters.DeadLetter]:
    found: list[deadletters.DeadLetter] = []

    def enough() -> bool:
        found[:] = [d for d in deadletters.read_all() if d.origin("group") == group]
        return len(found) >= expected

    wait_for(enough, timeout=30, message="dead letters did not arrive")
    return found
