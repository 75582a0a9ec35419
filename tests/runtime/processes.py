"""Relay and consumer as separate processes, so the fault tests can SIGKILL them for real.

Run as `python -m tests.runtime.processes relay|consume`; settings come from the environment."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from nmd_runtime.consumer import EventConsumer, Subscription
from nmd_runtime.database import make_engine, migrate
from nmd_runtime.outbox import Relay
from nmd_runtime.tables import metadata as runtime_metadata

from tests.runtime import ledger


def relay() -> None:
    engine = make_engine(os.environ["TEST_DATABASE_URL"])
    flag = Path(os.environ["CRASH_FLAG"]) if os.environ.get("CRASH_FLAG") else None

    def kill_before_mark(_acked: list[int]) -> None:
        # Published and acknowledged, not yet marked: the worst moment to die.
        if flag is not None and not flag.exists():
            flag.touch()
            os.kill(os.getpid(), signal.SIGKILL)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    Relay(engine, batch_size=int(os.environ.get("BATCH", "50")), before_mark=kill_before_mark, idle_wait=0.2).run(
        stop
    )


def consume() -> None:
    engine = make_engine(os.environ["TEST_DATABASE_URL"])
    migrate(engine, runtime_metadata, ledger.metadata)
    crash_after = int(os.environ.get("CRASH_AFTER_EVENTS", "0"))
    handler = ledger.crash_once_after(crash_after, Path(os.environ["CRASH_FLAG"])) if crash_after else ledger.apply
    subscription = Subscription(
        os.environ["GROUP"],
        [os.environ["TOPIC"]],
        {"page.viewed": handler},
        chunk_size=int(os.environ.get("CHUNK", "200")),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    EventConsumer(engine, subscription).run(stop)


if __name__ == "__main__":
    {"relay": relay, "consume": consume}[sys.argv[1]]()
