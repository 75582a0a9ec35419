"""Benchmark: outbox → Kafka → consumer, beside raw kafka-python and Kafka's own producer tool, on one broker.

    make bench            (or: .venv/bin/python -m bench.relay [--events 100000] [--rate 1000] [--seconds 20])

Needs the local broker and PostgreSQL (`make infra-up`); KAFKA_BOOTSTRAP_SERVERS and BENCH_POSTGRES_URL override.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from kafka.admin import NewTopic
from nmd_contracts.envelope import new_event, to_kafka
from nmd_runtime import kafka, settings
from nmd_runtime.database import make_engine, migrate
from nmd_runtime.outbox import Relay, record
from nmd_runtime.tables import metadata as runtime_metadata
from nmd_runtime.tables import outbox
from sqlalchemy import insert

REPO = Path(__file__).resolve().parents[1]
SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://nmd:nmd@127.0.0.1:55432/postgres")


def sample_event(seq: int):
    data = {"page": f"/stories/{seq}", "country": "GB", "referrer_host": None, "viewed_at": datetime.now(UTC)}
    return new_event("page.viewed", f"page-{seq % 97}", data, source="/bench/relay")


def fresh_database(name: str) -> str:
    server = SERVER_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return SERVER_URL.rsplit("/", 1)[0] + "/" + name


def new_topic(prefix: str, partitions: int = 6) -> str:
    name = f"bench-{prefix}-{uuid.uuid4().hex[:8]}"
    admin = kafka.admin()
    admin.create_topics([NewTopic(name, partitions, 1)])
    admin.close()
    return name


def raw_producer(events: int) -> float:
    """kafka-python alone, same producer settings as the relay: events per second."""
    topic = new_topic("raw")
    messages = [to_kafka(sample_event(i)) for i in range(events)]
    producer = kafka.producer()
    start = time.perf_counter()
    for key, value, headers in messages:
        producer.send(topic, key=key, value=value, headers=headers)
    producer.flush()
    elapsed = time.perf_counter() - start
    producer.close()
    return events / elapsed


def kafka_perf_tool(events: int, record_size: int) -> float | None:
    """Kafka's own ProducerPerformance (Java) from the same jars, same acks, compression, linger and batch."""
    libs = sorted(Path.home().glob(".cache/nmd/kafka-*/libs"))
    if not libs:
        return None
    props = [
        f"bootstrap.servers={settings.env('KAFKA_BOOTSTRAP_SERVERS')}",
        "acks=all",
        "enable.idempotence=true",
        f"compression.type={settings.env('KAFKA_COMPRESSION')}",
        f"linger.ms={settings.env('KAFKA_LINGER_MS')}",
        "batch.size=131072",
    ]
    command = [
        "java",
        "-Xmx512m",
        "-cp",
        f"{libs[-1]}/*",
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        new_topic("java"),
        "--num-records",
        str(events),
        "--record-size",
        str(record_size),
        "--throughput",
        "-1",
        "--producer-props",
        *props,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.findall(r"([\d.]+) records/sec", output)
    return float(match[-1]) if match else None


def fill_outbox(engine, topic: str, events: int) -> None:
    rows = []
    for i in range(events):
        key, value, headers = to_kafka(sample_event(i))
        rows.append(
            {
                "event_id": str(i),
                "topic": topic,
                "key": key.decode(),
                "value": value,
                "headers": [[n, v.decode()] for n, v in headers],
                "created_at": datetime.now(UTC),
            }
        )
    with engine.begin() as conn:
        for start in range(0, events, 5000):
            conn.execute(insert(outbox), rows[start : start + 5000])


def relay_throughput(events: int) -> tuple[float, float]:
    """Two runs over committed outbox rows: the relay alone (nothing else competing for the two cores, like the
    raw producer it is compared with), then relay and consumer together, timed to the last applied event."""
    engine, topic, url = _filled_outbox("bench_relay", events)
    relay = Relay(engine)
    start = time.perf_counter()
    while relay.publish_pending():
        pass
    relay_alone = events / (time.perf_counter() - start)

    engine, topic, url = _filled_outbox("bench_relay_e2e", events)
    consumer = _consumer_process(url, topic, events)
    relay = Relay(engine)
    wall_start = time.time()
    while relay.publish_pending():
        pass
    result = json.loads(consumer.communicate(timeout=600)[0])
    return relay_alone, events / (result["last_applied"] - wall_start)


def _filled_outbox(database: str, events: int) -> tuple[Any, str, str]:
    url = fresh_database(database)
    engine = make_engine(url)
    migrate(engine, runtime_metadata)
    topic = new_topic("relay")
    fill_outbox(engine, topic, events)
    return engine, topic, url


def _consumer_process(url: str, topic: str, events: int, latencies: bool = False) -> subprocess.Popen:
    env = os.environ | {
        "BENCH_DB": url,
        "BENCH_TOPIC": topic,
        "BENCH_EVENTS": str(events),
        "BENCH_LATENCIES": "1" if latencies else "",
        "PYTHONPATH": str(REPO),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bench.relay_consumer"], env=env, stdout=subprocess.PIPE, text=True
    )


def _run_relay(url: str, stop: Any) -> None:
    Relay(make_engine(url)).run(stop)


def steady_latency(rate: int, seconds: int) -> tuple[float, float, float]:
    """Events written one per transaction at a steady rate; latency = applied by the consumer - event time."""
    url = fresh_database("bench_latency")
    engine = make_engine(url)
    migrate(engine, runtime_metadata)
    topic = new_topic("latency")
    events = rate * seconds
    consumer = _consumer_process(url, topic, events, latencies=True)
    # The relay runs in a process of its own, as in a service's worker.
    fork = multiprocessing.get_context("fork")
    stop = fork.Event()
    relay = fork.Process(target=_run_relay, args=(url, stop))
    relay.start()
    time.sleep(2)  # let the consumer join its group before the clock starts; the measurement starts after
    start = time.perf_counter()
    for i in range(events):
        due = start + i / rate
        if (pause := due - time.perf_counter()) > 0:
            time.sleep(pause)
        with engine.begin() as conn:
            record(conn, sample_event(i), topic=topic)
    output = consumer.communicate(timeout=600)[0]
    stop.set()
    relay.join()
    result = json.loads(output)
    ordered = sorted(result["latencies_ms"])
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99)], max(ordered)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=1_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--parts", default="producers,relay,latency", help="which measurements to run")
    args = parser.parse_args()
    parts = args.parts.split(",")
    size = len(to_kafka(sample_event(0))[1])
    print(f"record size                  {size} bytes", flush=True)
    if "producers" in parts or "relay" in parts:
        raw = raw_producer(args.events)
        print(f"raw kafka-python producer    {raw:10.0f} events/s", flush=True)
    if "producers" in parts:
        java = kafka_perf_tool(args.events, size)
        print(f"Kafka ProducerPerformance    {java or float('nan'):10.0f} events/s", flush=True)
    if "relay" in parts:
        relay, end_to_end = relay_throughput(args.events)
        print(f"outbox relay                 {relay:10.0f} events/s  ({relay / raw:.2f} of raw kafka-python)")
        print(f"outbox → consumer applied    {end_to_end:10.0f} events/s", flush=True)
    if "latency" not in parts:
        return
    p50, p99, worst = steady_latency(args.rate, args.seconds)
    print(f"latency at {args.rate}/s for {args.seconds}s   p50 {p50:.1f} ms  p99 {p99:.1f} ms  max {worst:.1f} ms")


if __name__ == "__main__":
    main()
