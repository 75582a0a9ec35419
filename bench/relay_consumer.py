"""The consumer side of bench.relay, as its own process (its own core): idempotent apply of every event."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime

from nmd_runtime.consumer import EventConsumer, Subscription
from nmd_runtime.database import make_engine, migrate
from nmd_runtime.tables import metadata as runtime_metadata


def main() -> None:
    engine = make_engine(os.environ["BENCH_DB"])
    migrate(engine, runtime_metadata)
    expected = int(os.environ["BENCH_EVENTS"])
    latencies: list[float] = []
    applied = 0
    last = 0.0

    def count(_conn, event) -> None:
        nonlocal applied, last
        applied += 1
        last = time.time()
        if os.environ.get("BENCH_LATENCIES"):
            latencies.append((datetime.now(UTC) - event.time).total_seconds() * 1000)

    group = f"bench-{os.getpid()}"
    subscription = Subscription(group, [os.environ["BENCH_TOPIC"]], {"page.viewed": count}, chunk_size=200)
    consumer = EventConsumer(engine, subscription)
    stop = threading.Event()
    while applied < expected:
        consumer.poll_once(timeout_ms=200)
    stop.set()
    consumer.consumer.close()
    print(json.dumps({"applied": applied, "last_applied": last, "latencies_ms": latencies}))


if __name__ == "__main__":
    main()
