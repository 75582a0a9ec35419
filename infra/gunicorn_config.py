"""gunicorn settings of every web process: `gunicorn -c python:infra.gunicorn_config ...`.

Command-line options (the bind address, say) override these.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Any

from nmd_runtime import observability, settings

WEB_CONCURRENCY = settings.declare(
    "WEB_CONCURRENCY",
    "2",
    "gunicorn worker processes per web process (more than one: set PROMETHEUS_MULTIPROC_DIR).",
)
WEB_THREADS = settings.declare("WEB_THREADS", "4", "Threads per gunicorn worker process.")
WEB_TIMEOUT = settings.declare(
    "WEB_TIMEOUT", "30", "Seconds before gunicorn restarts a worker stuck on a request."
)

workers = int(WEB_CONCURRENCY.read())
threads = int(WEB_THREADS.read())
worker_class = "gthread"
timeout = int(WEB_TIMEOUT.read())
graceful_timeout = 20
# Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections across workers; with
# one shared socket whichever worker woke first took them, and a burst of keep-alive connections could all land
# on one worker while the other idled (measured: half the throughput in 2 runs of 15).
reuse_port = True
# One JSON line per request comes from the app's own logs; gunicorn's access log would repeat it.
accesslog = None
errorlog = "-"
loglevel = settings.env("LOG_LEVEL").lower()
# Only the proxy in front (gateway, nginx, the ingress controller) may set X-Forwarded-Proto.
FORWARDED_ALLOW_IPS = settings.declare(
    "FORWARDED_ALLOW_IPS",
    "127.0.0.1,::1",
    "Peers whose X-Forwarded-Proto gunicorn believes: the proxy in front ('*' in a cluster network).",
)
forwarded_allow_ips = FORWARDED_ALLOW_IPS.read()


def on_starting(server: Any) -> None:
    refuse_a_taken_address(server.cfg.address)
    # The metrics folder must start empty, or a restart would add the previous run's counters to the new ones.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def refuse_a_taken_address(addresses: list[Any]) -> None:
    """With reuse_port the kernel lets a second server share an address someone already listens on (an old
    server left running would quietly answer half the requests): stop unless the address is free."""
    for address in addresses:
        if not isinstance(address, tuple):
            continue  # a Unix socket: gunicorn itself refuses one in use
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        with socket.socket(family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed server's TIME_WAITs are fine
            try:
                probe.bind(address[:2])
            except OSError as error:
                raise SystemExit(f"{address[0]}:{address[1]} is already in use: {error.strerror}") from error


def child_exit(server: Any, worker: Any) -> None:
    observability.gunicorn_child_exit(server, worker)
