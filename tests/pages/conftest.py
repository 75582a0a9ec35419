"""Fixtures of the pages tests: the catalogue's topics, the app on a fresh PostgreSQL database, a worker thread
with consumer groups of its own, and events produced as the partners, stories and newsletter services would."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from nmd_contracts.envelope import Event, new_event, to_kafka
from nmd_contracts.topics import provision, topic_for
from nmd_pages import read_models, worker
from nmd_pages.app import create_app
from nmd_runtime import kafka
from nmd_runtime.kafka import start_group_at_end
from sqlalchemy import Engine

FIXED = dt.datetime(2026, 10, 24, 9, 15, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def pages_topics(kafka_bootstrap: str) -> str:
    provision(kafka_bootstrap)
    return kafka_bootstrap


@pytest.fixture
def kafka_env(pages_topics: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", pages_topics)
    return pages_topics


@pytest.fixture
def clock() -> dict[str, dt.datetime]:
    """The app's clock; a test moves it by assigning clock["now"]."""
    return {"now": FIXED}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = worker.prepare(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app(database_url: str, engine: Engine, clock: dict[str, dt.datetime], tmp_path: Any) -> Iterator[Flask]:
    app = create_app(
        database_url,
        TESTING=True,
        RATE_LIMITS_ENABLED=False,
        PAGES_VERSION_TTL=0.0,
        PAGES_TOTAL_TTL=0.0,
        PAGES_CLOCK=lambda: clock["now"],
        STAFF_DATABASE_URL=f"sqlite:///{tmp_path / 'staff.db'}",
    )
    yield app
    app.extensions["nmd_pages_views"].queue.flush()  # before the test's database is dropped


@pytest.fixture
def run_worker(engine: Engine, kafka_env: str) -> Iterator[Callable[..., threading.Thread]]:
    """Start the pages worker in a thread with fresh consumer groups; stopped after the test."""
    stops: list[tuple[threading.Event, threading.Thread]] = []

    def start(**options: Any) -> threading.Thread:
        stop = threading.Event()
        suffix = uuid.uuid4().hex[:8]
        groups = {
            "read_model_group": f"test.pages.read.{suffix}",
            "page_views_group": f"test.pages.views.{suffix}",
        }
        # Only what this test sends: the shared broker holds every earlier test's partners and stories.
        start_group_at_end(groups["read_model_group"], read_models.topics())
        start_group_at_end(groups["page_views_group"], [topic_for("page.viewed")])
        thread = threading.Thread(
            target=worker.run,
            args=(engine,),
            kwargs={"stop": stop, **groups} | options,
            daemon=True,
        )
        thread.start()
        stops.append((stop, thread))
        return thread

    yield start
    for stop, thread in stops:
        stop.set()
        thread.join(timeout=60)


class Upstream:
    """Publishes events as the other services do (catalogue topic, key = subject)."""

    def __init__(self) -> None:
        self.producer = kafka.producer()

    def send(self, event_type: str, subject: str, data: dict[str, Any]) -> Event:
        event = new_event(event_type, subject, data, source="/tests/pages")
        key, value, headers = to_kafka(event)
        self.producer.send(topic_for(event_type), key=key, value=value, headers=headers).get(timeout=30)
        return event

    def close(self) -> None:
        self.producer.close(timeout=5)


@pytest.fixture
def upstream(kafka_env: str) -> Iterator[Upstream]:
    sender = Upstream()
    yield sender
    sender.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def apply(engine: Engine, event_type: str, subject: str, data: dict[str, Any]) -> None:
    """Apply an event straight through the read-model handler, for tests that are not about Kafka."""
    from nmd_pages.read_models import HANDLERS

    event = new_event(event_type, subject, data, source="/tests/pages")
    with engine.begin() as conn:
        HANDLERS[event_type](conn, event)
