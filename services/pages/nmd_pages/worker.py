"""The pages worker: `python -m nmd_pages.worker`.

Threads: the outbox relay (page views to Kafka), the read-model consumer (partners, stories, subscribers), the
page-view aggregator, and the static publisher (re-renders the public pages after the read models change).
"""

from __future__ import annotations

import logging
import threading

from nmd_contracts.topics import topic_for
from nmd_runtime import logs, settings
from nmd_runtime.consumer import Subscription
from nmd_runtime.database import make_engine, migrate
from nmd_runtime.tables import metadata as runtime_metadata
from nmd_runtime.worker import run_worker
from sqlalchemy import Engine

from nmd_pages import page_views, read_models
from nmd_pages.publishing import StaticPublisher
from nmd_pages.tables import ensure_state_row, metadata

READ_MODEL_GROUP = settings.declare(
    "PAGES_READ_MODEL_GROUP", "pages.read-models", "Consumer group of the pages read models."
)
PAGE_VIEWS_GROUP = settings.declare(
    "PAGES_PAGE_VIEWS_GROUP", "pages.page-views", "Consumer group of the page-view aggregator."
)
HEALTH_PORT = settings.declare(
    "PAGES_WORKER_HEALTH_PORT",
    "9101",
    "Port of the pages worker's /healthz, /readyz and /metrics (0: any free port).",
)
PUBLISH_STATIC = settings.declare(
    "PAGES_PUBLISH_STATIC", "1", "1: the worker re-publishes the static site after read-model changes; 0: never."
)


def subscriptions(read_model_group: str | None = None, page_views_group: str | None = None) -> list[Subscription]:
    # Read models and counters live wholly in this database, so many events may share one transaction.
    return [
        Subscription(
            read_model_group or READ_MODEL_GROUP.read(),
            read_models.topics(),
            read_models.HANDLERS,
            chunk_size=100,
        ),
        Subscription(
            page_views_group or PAGE_VIEWS_GROUP.read(),
            [topic_for("page.viewed")],
            {"page.viewed": page_views.on_page_viewed},
            chunk_size=500,
        ),
    ]


def prepare(database_url: str | None = None) -> Engine:
    engine = make_engine(database_url or settings.database_url("pages"))
    migrate(engine, runtime_metadata, metadata)
    ensure_state_row(engine)
    return engine


def run(
    engine: Engine,
    *,
    stop: threading.Event | None = None,
    publisher: StaticPublisher | None = None,
    read_model_group: str | None = None,
    page_views_group: str | None = None,
    health_port: int | None = None,
) -> None:
    loops = [publisher.run] if publisher is not None else []
    run_worker(
        engine,
        subscriptions(read_model_group, page_views_group),
        relay=True,
        extra_loops=loops,
        stop=stop,
        health_port=health_port,
    )


def main() -> None:
    logs.configure_logging("pages-worker")
    engine = prepare()
    publisher = StaticPublisher.from_settings(engine) if PUBLISH_STATIC.read() == "1" else None
    logging.getLogger(__name__).info("pages worker starting")
    run(engine, publisher=publisher, health_port=int(HEALTH_PORT.read()))


if __name__ == "__main__":
    main()
