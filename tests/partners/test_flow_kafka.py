"""Through the real broker: register → verify → approve → withdraw, with the worker's relay on a thread, read back
from partners.events and notifications.email as a downstream consumer reads them."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from flask import Flask
from kafka import KafkaConsumer, TopicPartition
from nmd_contracts import topics
from nmd_partners import worker
from nmd_runtime.staff import sign_in_test_client
from sqlalchemy import Engine

from tests.kafka_events import TopicReader
from tests.partners.conftest import PUBLIC, png_bytes, registration, token_from


@pytest.fixture(scope="session")
def partners_topics(kafka_bootstrap: str) -> str:
    topics.provision(kafka_bootstrap)
    return kafka_bootstrap


@pytest.fixture
def running_worker(engine: Engine, partners_topics: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The partners worker (the outbox relay) on a thread, publishing to the test broker."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", partners_topics)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(engine, stop), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the worker did not stop"


@pytest.fixture
def readers(partners_topics: str) -> Iterator[tuple[TopicReader, TopicReader]]:
    events = TopicReader(partners_topics, "partners.events")
    emails = TopicReader(partners_topics, "notifications.email")
    yield events, emails
    events.close()
    emails.close()


def test_register_verify_approve_withdraw_through_the_broker(
    app: Flask,
    client: Any,
    engine: Engine,
    running_worker: None,
    readers: tuple[TopicReader, TopicReader],
    partners_topics: str,
) -> None:
    events, emails = readers
    contact = "ada@riverside-academy.example.org"
    # Other tests may share the broker: every wait below matches this flow's own ids only.
    correlation_id = f"kafka-flow-{uuid.uuid4()}"

    # Register through the HTML form, with a logo, as a visitor without JavaScript would.
    form = registration()
    form["listing_consent"] = form["accept_terms"] = "yes"
    response = client.post(
        "/partners/register",
        content_type="multipart/form-data",
        headers={"X-Correlation-ID": correlation_id},
        data={**form, "logo": (io.BytesIO(png_bytes()), "logo.png", "image/png")},
    )
    assert response.status_code == 303

    registered = events.wait_for(lambda e: e.type == "partner.registered" and e.correlationid == correlation_id)
    partner_id = registered.subject
    assert registered.data["name"] == "Riverside Academy"

    verification = emails.wait_for(
        lambda e: e.data["template"] == "partner_verification" and partner_id in e.data["idempotency_key"]
    )
    assert verification.correlationid == correlation_id
    assert verification.data["to"] == contact
    assert verification.subject == verification.data["idempotency_key"]
    token = token_from(verification.data["context"]["verify_url"], "verify")
    assert client.post(f"/partners/verify/{token}").status_code == 200
    verified = events.wait_for(lambda e: e.type == "partner.email_verified" and e.subject == partner_id)
    assert verified.data["partner_id"] == partner_id

    # A partnerships member approves it on the review page.
    staff = app.test_client()
    csrf = sign_in_test_client(staff, "partnerships")
    assert staff.post(f"/partners/staff/{partner_id}/approve", data={"csrf_token": csrf}).status_code == 303

    approved = events.wait_for(lambda e: e.type == "partner.approved" and e.subject == partner_id)
    profile = approved.data
    assert profile["partner_id"] == partner_id
    assert profile["slug"] == "riverside-academy"
    assert profile["profile_url"] == f"{PUBLIC}/partner/riverside-academy"
    assert profile["name"] == "Riverside Academy" and profile["type"] == "school"
    assert profile["country"] == "GB" and profile["region"] == "Kent" and profile["size_band"] == "250-999"
    assert profile["logo_url"].startswith(f"{PUBLIC}/partners/media/partners/logos/")
    assert profile["pledge"].startswith("Every sixth former")
    assert not {"contact_name", "contact_email", "contact_phone"} & set(profile)

    welcome = emails.wait_for(
        lambda e: e.data["template"] == "partner_approved" and partner_id in e.data["idempotency_key"]
    )
    assert welcome.data["to"] == contact
    context = welcome.data["context"]
    assert context["profile_url"] == profile["profile_url"]
    assert client.get(context["badge_url"].removeprefix(PUBLIC)).status_code == 200
    assert profile["profile_url"] in context["badge_html"]

    # The partner withdraws with the manage link from the welcome email.
    manage = token_from(context["manage_url"], "manage")
    assert client.post(f"/partners/manage/{manage}/withdraw").status_code == 200
    withdrawn = events.wait_for(lambda e: e.type == "partner.withdrawn" and e.subject == partner_id)
    assert withdrawn.data["partner_id"] == partner_id

    # One partition per partner, so a consumer sees its events in the order they happened.
    assert [e.type for e in events.of(partner_id)] == [
        "partner.registered",
        "partner.email_verified",
        "partner.approved",
        "partner.withdrawn",
    ]
    # An email.requested command for each email sent along the way.
    assert sorted(e.data["template"] for e in emails.events if partner_id in e.data["idempotency_key"]) == [
        "partner_approved",
        "partner_verification",
    ]

    # The official CloudEvents SDK reads what we produced.
    _assert_sdk_parses(partners_topics, "partners.events", approved.id)


def test_a_rejection_reaches_the_broker_with_its_email(
    app: Flask,
    client: Any,
    engine: Engine,
    running_worker: None,
    readers: tuple[TopicReader, TopicReader],
) -> None:
    events, emails = readers
    partner_id = client.post("/api/partners", json=registration()).get_json()["id"]
    verification = emails.wait_for(lambda e: partner_id in e.data["idempotency_key"])
    token = token_from(verification.data["context"]["verify_url"], "verify")
    client.post("/api/partners/verification", json={"token": token})

    staff = app.test_client()
    csrf = sign_in_test_client(staff, "admin")
    reason = "The website does not mention mentoring or young people."
    response = staff.post(
        f"/api/partners/staff/applications/{partner_id}/reject",
        json={"reason": reason},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 200
    rejected = events.wait_for(lambda e: e.type == "partner.rejected" and e.subject == partner_id)
    assert rejected.data["reason"] == reason
    email = emails.wait_for(
        lambda e: e.data["template"] == "partner_rejected" and partner_id in e.data["idempotency_key"]
    )
    assert email.data["context"]["reason"] == reason


def _assert_sdk_parses(bootstrap: str, topic: str, event_id: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=5000)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        for record in consumer:
            parsed = JSONFormat().read(None, record.value)
            if parsed.get_id() == event_id:
                assert parsed.get_type() == "partner.approved"
                return
        raise AssertionError(f"event {event_id} not found on {topic}")
    finally:
        consumer.close()
