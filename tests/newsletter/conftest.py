"""Fixtures of the newsletter tests: the real broker and PostgreSQL, the fake SendGrid, the app served over real
HTTP (SendGrid's webhook must reach it), and the worker on a thread."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from nmd_contracts.envelope import from_kafka
from nmd_contracts.topics import provision
from nmd_newsletter import sending
from nmd_newsletter.mail import make_backend
from nmd_newsletter.tables import subscribers
from nmd_runtime.kafka import start_group_at_end
from nmd_runtime.tables import outbox
from sqlalchemy import insert, select
from werkzeug.serving import make_server

from tests.fakes.sendgrid_api import FakeSendGrid, _QuietHandler

API_KEY = "SG.test-key"


@pytest.fixture(scope="session")
def newsletter_topics(kafka_bootstrap: str) -> str:
    provision(kafka_bootstrap)
    return kafka_bootstrap


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    fake = FakeSendGrid(api_key=API_KEY).start()
    yield fake
    fake.stop()


@pytest.fixture
def newsletter_env(
    monkeypatch: pytest.MonkeyPatch, newsletter_topics: str, fake_sendgrid: FakeSendGrid, tmp_path: Any
) -> dict[str, str]:
    values = {
        "KAFKA_BOOTSTRAP_SERVERS": newsletter_topics,
        "NEWSLETTER_MAIL_BACKEND": "sendgrid",
        "SENDGRID_API_KEY": API_KEY,
        "SENDGRID_HOST": fake_sendgrid.url,
        "SENDGRID_TIMEOUT": "5",
        "SENDGRID_WEBHOOK_PUBLIC_KEY": fake_sendgrid.public_key,
        "NEWSLETTER_GROUP_PREFIX": f"nl-test-{uuid.uuid4().hex[:8]}",
        "NEWSLETTER_SETTLE_SECONDS": "60",
        "NMD_VAR_DIR": str(tmp_path / "var"),
        "PUBLIC_BASE_URL": "https://mentoring.example",
        "NEWSLETTER_WORKER_HEALTH_PORT": "0",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    start_groups_at_end(newsletter_topics, values["NEWSLETTER_GROUP_PREFIX"])
    return values


GROUP_TOPICS = {
    "mailer": ["notifications.email"],
    "senders": ["newsletter.deliveries"],
    "delivery-events": ["email.events"],
    "sections": ["stories.events", "partners.events"],
}


def start_groups_at_end(bootstrap: str, prefix: str) -> None:
    """Commit the current end of each topic for this test's fresh consumer groups, so the worker reads only
    what the
    test causes, not every earlier test's (and other services') messages from the beginning."""
    for name, topics in GROUP_TOPICS.items():
        start_group_at_end(f"{prefix}-{name}", topics, bootstrap_servers=bootstrap)


@pytest.fixture
def app(newsletter_env: dict[str, str], database_url: str) -> Iterator[Flask]:
    from nmd_newsletter.app import create_app

    flask_app = create_app(database_url, TESTING=True, RATE_LIMITS_ENABLED=False)
    yield flask_app
    flask_app.extensions["nmd_newsletter_engine"].dispose()


@pytest.fixture
def engine(app: Flask) -> Any:
    return app.extensions["nmd_newsletter_engine"]


@pytest.fixture
def served(app: Flask, fake_sendgrid: FakeSendGrid) -> Iterator[str]:
    """The app on a real port; the fake SendGrid posts its webhook events there."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    fake_sendgrid.webhook_url = f"{base}/webhooks/sendgrid"
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture
def worker(app: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """start(roles=...) runs nmd_newsletter.worker on a thread against the test database."""
    from nmd_newsletter import worker as worker_module

    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", database_url)
    stops: list[tuple[threading.Event, threading.Thread]] = []

    def start(roles: str = "mailer,sender,events,sections,dispatch,settle") -> None:
        stop = threading.Event()
        thread = threading.Thread(target=worker_module.main, args=(["--roles", roles], stop), daemon=True)
        thread.start()
        stops.append((stop, thread))

    yield start
    for stop, _thread in stops:
        stop.set()
    for _, thread in stops:
        thread.join(timeout=60)


def add_confirmed(engine, count: int, interests: str = "") -> list[str]:
    """`count` confirmed subscribers with addresses of their own, as if each had signed up and confirmed; their
    addresses."""
    now, run = datetime.now(UTC), uuid.uuid4().hex[:6]
    rows = [
        {
            "subscriber_id": str(uuid.uuid4()),
            "email": f"p{i}-{run}@example.org",
            "interests": interests,
            "status": "confirmed",
            "consent_version": "2026-09-01",
            "requested_at": now,
            "requests": 1,
            "confirmed_at": now,
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        conn.execute(insert(subscribers), rows)
    return [row["email"] for row in rows]


def run_commands(engine, seen: set[int]) -> None:
    """Deliver the batch commands now in the outbox (and not delivered before) to the sender handler."""
    handle = sending.handler(make_backend())
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.id, outbox.c.value)
            .where(outbox.c.topic == "newsletter.deliveries")
            .order_by(outbox.c.id)
        ).all()
    for row in rows:
        if row.id not in seen:
            seen.add(row.id)
            with engine.begin() as conn:
                handle(conn, from_kafka(row.value))
