"""Fixtures of the stories service's tests: the app on a fresh PostgreSQL database, its worker, the broker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from nmd_contracts import topics
from nmd_runtime.staff import sign_in_test_client
from nmd_stories import worker
from nmd_stories.app import create_app
from nmd_stories.submission import CURRENT_CONSENT
from sqlalchemy import Engine

STORY = (
    "I met my mentor in my first year at college, when I was sure I would drop out.\n\n"
    "She never told me what to do. She asked the questions that helped me decide for myself."
)


def story_form(**changes: Any) -> dict[str, Any]:
    """A valid submission, as the HTML form posts it."""
    form: dict[str, Any] = {
        "title": "The mentor who believed in me",
        "story": STORY,
        "credit": "full_name",
        "display_name": "Amira Khan",
        "role": "mentee",
        "themes": ["trust_and_rapport", "independence"],
        "partner_name": "Riverside Academy Trust",
        "country": "GB",
        "contact_email": "amira.khan@example.org",
        "usage": ["story_wall", "newsletter"],
        "consent": "yes",
        "consent_version": CURRENT_CONSENT,
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def story_json(**changes: Any) -> dict[str, Any]:
    """A valid submission, as the JSON API takes it."""
    data = story_form(**changes)
    data["consent"] = True
    if "under_18" in data:
        data["under_18"] = data["under_18"] in (True, "yes")
    return data


@pytest.fixture(scope="session")
def stories_topics(kafka_bootstrap: str) -> str:
    topics.provision(kafka_bootstrap)
    return kafka_bootstrap


@pytest.fixture
def media_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "media"
    monkeypatch.setenv("MEDIA_BACKEND", "local")
    monkeypatch.setenv("MEDIA_DIR", str(folder))
    return folder


@pytest.fixture
def app(database_url: str, media_dir: Path) -> Iterator[Flask]:
    app = create_app(database_url, RATE_LIMITS_ENABLED=False, TESTING=True)
    yield app
    engine(app).dispose()


def engine(app: Flask) -> Engine:
    return app.extensions["nmd_stories"]["engine"]  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def moderator(app: Flask) -> tuple[FlaskClient, str]:
    """A client signed in as a moderator, and its CSRF token."""
    staff_client = app.test_client()
    return staff_client, sign_in_test_client(staff_client, "moderator")


@pytest.fixture
def running_worker(app: Flask, stories_topics: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The stories worker (outbox relay) on a thread, publishing to the test broker."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stories_topics)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(engine(app), stop), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the worker did not stop"
