"""A service's worker process: the outbox relay and the service's consumers, each on its own thread,
stopped cleanly by SIGTERM (the message in hand is finished and committed, then the group is left)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from nmd_runtime import observability
from nmd_runtime.consumer import EventConsumer, Subscription
from nmd_runtime.outbox import Relay

log = logging.getLogger(__name__)


def run_worker(
    engine: Engine,
    subscriptions: list[Subscription],
    *,
    relay: bool = True,
    extra_loops: list[Callable[[threading.Event], None]] | None = None,
    stop: threading.Event | None = None,
    health_port: int | None = None,
) -> None:
    """Run the loops until `stop` is set (or SIGTERM/SIGINT in the main thread). With `health_port` (0: any free
    port) /healthz, /readyz (the database answers) and /metrics are served for as long as the worker runs."""
    stop = stop or threading.Event()
    _stop_on_signals(stop)
    health = None
    if health_port is not None:
        health = observability.worker_health_server(health_port, [observability.database_check(engine)])
        log.info("worker health on port %s", health.server_address[1])
    try:
        _run_loops(engine, subscriptions, relay, extra_loops, stop)
    finally:
        if health is not None:
            health.shutdown()
            health.server_close()


def _run_loops(
    engine: Engine,
    subscriptions: list[Subscription],
    relay: bool,
    extra_loops: list[Callable[[threading.Event], None]] | None,
    stop: threading.Event,
) -> None:
    loops: list[Callable[[threading.Event], None]] = list(extra_loops or [])
    if relay:
        loops.append(Relay(engine).run)
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
