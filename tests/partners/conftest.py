"""Fixtures of the partners tests: the app on a fresh PostgreSQL database of each test, a local media folder, and
helpers to read what went into the outbox (the Kafka tests read the real topics instead)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from nmd_contracts.envelope import Event, from_json
from nmd_partners.app import create_app, make_engine
from nmd_runtime.tables import outbox
from PIL import Image
from sqlalchemy import Engine, select

PUBLIC = "http://localhost:8080"


@pytest.fixture
def partners_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NMD_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MEDIA_BACKEND", "local")
    monkeypatch.delenv("MEDIA_DIR", raising=False)
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setenv("SECRET_KEY", "partners-test-secret")
    return tmp_path


@pytest.fixture
def engine(database_url: str, partners_env: Path) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app(engine: Engine, partners_env: Path) -> Flask:
    app = create_app(engine=engine)
    app.config.update(
        TESTING=True, RATE_LIMITS_ENABLED=False, STAFF_DATABASE_URL=f"sqlite:///{partners_env / 'staff.db'}"
    )
    return app


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


def registration(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Riverside Academy",
        "type": "school",
        "website": "https://www.riverside-academy.example.org/",
        "country": "GB",
        "region": "Kent",
        "size_band": "250-999",
        "pledge": "Every sixth former will meet a mentor from a local employer on the day.",
        "contact_name": "Ada Lovelace",
        "contact_email": "ada@riverside-academy.example.org",
        "contact_phone": "+44 20 7946 0000",
        "listing_consent": True,
        "accept_terms": True,
    }
    return data | overrides


def events(engine: Engine, topic: str | None = None) -> list[Event]:
    """What this service has put in its outbox (in order), decoded as a consumer would."""
    query = select(outbox.c.topic, outbox.c.value).order_by(outbox.c.id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [from_json(row.value) for row in rows if topic is None or row.topic == topic]


def of_type(engine: Engine, event_type: str) -> list[Event]:
    return [event for event in events(engine) if event.type == event_type]


def token_from(url: str, kind: str) -> str:
    match = re.search(rf"/partners/{kind}/([^/?#]+)", url)
    assert match, url
    return match.group(1)


def png_bytes(size: tuple[int, int] = (16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 40, 130)).save(buffer, format="PNG")
    return buffer.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def register(client: Any, **overrides: Any) -> str:
    response = client.post("/api/partners", json=registration(**overrides))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def verification_url(engine: Engine, partner_id: str) -> str:
    emails = [
        e
        for e in of_type(engine, "email.requested")
        if e.data["template"] == "partner_verification" and partner_id in e.data["idempotency_key"]
    ]
    assert emails, "no verification email requested"
    return str(emails[-1].data["context"]["verify_url"])


def verify(client: Any, engine: Engine, partner_id: str) -> None:
    token = token_from(verification_url(engine, partner_id), "verify")
    response = client.post("/api/partners/verification", json={"token": token})
    assert response.status_code == 200, response.get_json()


def approve(app: Flask, partner_id: str, roles: tuple[str, ...] = ("partnerships",)) -> Any:
    from nmd_runtime.staff import sign_in_test_client

    staff_client = app.test_client()
    csrf = sign_in_test_client(staff_client, *roles)
    return staff_client.post(
        f"/api/partners/staff/applications/{partner_id}/approve", headers={"X-CSRF-Token": csrf}
    )
