"""An event written with a state change reaches the consumer exactly once in effect, in per-key order,
when the broker is down at write time, when the relay dies between publish and mark, and when the consumer
dies before committing its offsets."""

from __future__ import annotations

from nmd_runtime.tables import outbox
from sqlalchemy import func, select

from tests.runtime import ledger
from tests.runtime.kafka_state import committed, end_offsets, lag
from tests.waiting import wait_for

KEYS = ["partner-a", "partner-b", "story-c", "story-d", "subscriber-e"]
PER_KEY = 40
TOTAL = len(KEYS) * PER_KEY


def unpublished(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).where(outbox.c.published_at.is_(None))).scalar_one()


def settle(engine, broker, group: str, topic: str) -> None:
    """Everything published and every published record committed by the group: nothing more can arrive."""
    wait_for(lambda: unpublished(engine) == 0, timeout=120, message="outbox never drained")
    wait_for(lambda: lag(broker.bootstrap, group, topic) == 0, timeout=120, message="consumer never caught up")


def test_events_written_while_the_broker_is_down_arrive_once_and_in_order(
    own_broker, ledger_engine, processes, tmp_path
):
    topic = own_broker.create_topic()
    own_broker.stop()
    processes.start("relay")

    ledger.write_events(ledger_engine, topic, KEYS, PER_KEY)  # a request never waits on Kafka
    assert unpublished(ledger_engine) == TOTAL

    own_broker.start()
    processes.start("consume", TOPIC=topic)
    settle(ledger_engine, own_broker, processes.env["GROUP"], topic)
    ledger.assert_exactly_once_in_order(ledger_engine, KEYS, PER_KEY)


def test_relay_killed_between_publish_and_mark_causes_no_double_apply(
    own_broker, ledger_engine, processes, tmp_path
):
    topic = own_broker.create_topic()
    flag = tmp_path / "relay-crashed"
    ledger.write_events(ledger_engine, topic, KEYS, PER_KEY)

    crashed = processes.start("relay", CRASH_FLAG=str(flag))
    assert crashed.wait(timeout=120) == -9
    on_broker = sum(end_offsets(own_broker.bootstrap, topic).values())
    assert on_broker > 0 and unpublished(ledger_engine) == TOTAL, "the kill must land after publish, before mark"

    processes.start("relay")
    processes.start("consume", TOPIC=topic)
    settle(ledger_engine, own_broker, processes.env["GROUP"], topic)
    assert sum(end_offsets(own_broker.bootstrap, topic).values()) > TOTAL, "the broker holds duplicates"
    ledger.assert_exactly_once_in_order(ledger_engine, KEYS, PER_KEY)


def test_consumer_killed_before_committing_offsets_applies_nothing_twice(
    own_broker, ledger_engine, processes, tmp_path
):
    topic = own_broker.create_topic()
    flag = tmp_path / "consumer-crashed"
    group = processes.env["GROUP"]
    ledger.write_events(ledger_engine, topic, KEYS, PER_KEY)
    processes.start("relay")
    wait_for(lambda: unpublished(ledger_engine) == 0, timeout=120, message="outbox never drained")

    # Small transactions, so several have committed (without their offsets) when the kill comes.
    crashed = processes.start(
        "consume", TOPIC=topic, CRASH_AFTER_EVENTS=str(TOTAL * 3 // 4), CRASH_FLAG=str(flag), CHUNK="10"
    )
    assert crashed.wait(timeout=120) == -9
    applied_before_restart = ledger.applied_count(ledger_engine)
    committed_before_restart = sum(max(o, 0) for o in committed(own_broker.bootstrap, group, topic).values())
    assert applied_before_restart > committed_before_restart, "some applied events must be redelivered"

    processes.start("consume", TOPIC=topic)
    settle(ledger_engine, own_broker, group, topic)
    ledger.assert_exactly_once_in_order(ledger_engine, KEYS, PER_KEY)
