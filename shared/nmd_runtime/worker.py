"""A service's worker process: the outbox relay and the service's consumers, each on its own thread,
stopped cleanly by SIGTERM (the message in hand is finished and committed, then the group is left)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from nmd_runtime.consumer import EventConsumer, Subscription
from nmd_runtime.outbox import Relay

log = logging.getLogger(__name__)


def run_worker(
    engine: Engine,
    subscriptions: list[Subscription],
    *,
    relay: bool = True,
    relay_batch_size: int = 1000,
    extra_loops: list[Callable[[threading.Event], None]] | None = None,
    stop: threading.Event | None = None,
) -> None:
    stop = stop or threading.Event()
    _stop_on_signals(stop)
    loops: list[Callable[[threading.Event], None]] = list(extra_loops or [])
    if relay:
        loops.append(Relay(engine, batch_size=relay_batch_size).run)
    loops += [EventConsumer(engine, subscription).run for subscription in subscriptions]
    failed = threading.Event()
    threads = [
        threading.Thread(target=_guarded(loop, stop, failed), name=loop.__qualname__, daemon=True)
        for loop in loops
    ]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=60)
    if failed.is_set():
        # A loop died: exit non-zero so the supervisor restarts the whole worker rather than it limping on.
        raise SystemExit(1)
    log.info("worker stopped")


def _guarded(
    loop: Callable[[threading.Event], None], stop: threading.Event, failed: threading.Event
) -> Callable[[], None]:
    def run() -> None:
        try:
            loop(stop)
        except Exception:
            log.exception("worker loop %s failed", loop.__qualname__)
            failed.set()
            stop.set()

    return run


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
