"""The stories worker: `python -m nmd_stories.worker`. It relays the outbox; the service consumes no topic."""

from __future__ import annotations

import threading

from nmd_runtime import database, logs, settings
from nmd_runtime import tables as runtime_tables
from nmd_runtime.worker import run_worker
from sqlalchemy import Engine

from nmd_stories.tables import metadata

HEALTH_PORT = settings.declare(
    "STORIES_WORKER_HEALTH_PORT",
    "9103",
    "Port of the stories worker's /healthz, /readyz and /metrics (0: any free port).",
)


def run(engine: Engine, stop: threading.Event | None = None, health_port: int | None = None) -> None:
    """Migrate, then relay the outbox until stopped (tests call this from a thread with their own `stop`)."""
    database.migrate(engine, runtime_tables.metadata, metadata)
    run_worker(engine, [], relay=True, stop=stop, health_port=health_port)


def main() -> None:
    logs.configure_logging("stories-worker")
    engine = database.make_engine(settings.database_url("stories"))
    run(engine, health_port=int(HEALTH_PORT.read()))


if __name__ == "__main__":
    main()
