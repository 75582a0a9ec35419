"""The partners worker: the outbox relay (partners.events and notifications.email) and an hourly clear-out of
applications whose email was never confirmed (30 days), with /healthz, /readyz and /metrics on
PARTNERS_WORKER_HEALTH_PORT. The service consumes no topics.

    nmd-partners-worker
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from nmd_runtime import logs, settings
from nmd_runtime.worker import run_worker
from sqlalchemy import Engine

from nmd_partners import SERVICE, lifecycle
from nmd_partners.app import make_engine

log = logging.getLogger(__name__)

HEALTH_PORT = settings.declare(
    "PARTNERS_WORKER_HEALTH_PORT",
    "9102",
    "Port of the partners worker's /healthz, /readyz and /metrics (0: any free port).",
)


LAPSE_EVERY = 3600.0


def run(engine: Engine, stop: threading.Event | None = None, health_port: int | None = None) -> None:
    """The relay, and the hourly clear-out of unconfirmed applications, until `stop` is set (or SIGTERM/SIGINT
    in the main thread)."""
    run_worker(engine, [], relay=True, extra_loops=[lapse_loop(engine)], stop=stop, health_port=health_port)


def lapse_loop(engine: Engine) -> Callable[[threading.Event], None]:
    def lapse_unconfirmed(stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                lifecycle.lapse_unverified(engine)
            except Exception:
                # The database may be away for a moment; the relay thread keeps going, and so do we.
                log.exception("clearing out unconfirmed applications failed")
            stop.wait(LAPSE_EVERY)

    return lapse_unconfirmed


def main() -> None:
    logs.configure_logging(f"{SERVICE}-worker")
    engine = make_engine()
    log.info("partners worker started")
    try:
        run(engine, health_port=int(HEALTH_PORT.read()))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
