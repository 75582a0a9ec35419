"""Subscribing pages and API: validation, double opt-in links, preferences, unsubscribe page, erasure.
(The whole path through Kafka is in test_issue_flow; these check the rules and what goes into the outbox.)"""

from __future__ import annotations

import json
import re

from nmd_newsletter.subscribing import manage_token
from nmd_newsletter.tables import subscribers
from nmd_runtime.tables import outbox
from sqlalchemy import select


def outbox_events(engine, event_type: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.value)).all()
    return [m for m in (json.loads(r.value) for r in rows) if m["type"] == event_type]


def subscribe(client, email: str = "reader@example.org") -> str:
    assert (
        client.post(
            "/api/subscribers", json={"email": email, "consent": True, "interests": ["events"]}
        ).status_code
        == 202
    )
    command = outbox_events(client.application.extensions["nmd_newsletter_engine"], "email.requested")[-1]
    return re.search(r"/newsletter/confirm/(\S+)", command["data"]["context"]["confirm_url"]).group(1)


def test_form_errors_show_beside_fields_and_store_nothing(app, engine) -> None:
    page = app.test_client().post("/newsletter/subscribe", data={"email": "not-an-email", "name": "Zoë"})
    assert page.status_code == 422
    assert 'id="f-email-error"' in page.text and 'id="f-consent-error"' in page.text
    assert 'value="Zoë"' in page.text
    api = app.test_client().post(
        "/api/subscribers", json={"email": "a@example.org", "consent": False, "interests": ["nonsense"]}
    )
    assert api.status_code == 422 and {"consent", "interests.0"} <= set(api.json["errors"])
    bot = app.test_client().post(
        "/newsletter/subscribe",
        data={"email": "bot@example.org", "consent": "yes", "website_url_confirm": "http://spam"},
    )
    assert bot.status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(subscribers)).all() == []
    assert outbox_events(engine, "subscriber.requested") == []


def test_double_opt_in_and_events_without_personal_data(app, engine) -> None:
    client = app.test_client()
    token = subscribe(client, "Reader@Example.org")
    requested = outbox_events(engine, "subscriber.requested")
    assert len(requested) == 1 and "@" not in json.dumps(requested[0]["data"])
    assert requested[0]["data"]["consent_version"]
    assert client.get(f"/newsletter/confirm/{token}").status_code == 200  # a page with a button, nothing done
    with engine.connect() as conn:
        assert conn.execute(select(subscribers.c.status)).scalar() == "pending"
    assert client.post(f"/newsletter/confirm/{token}x").status_code == 404
    assert "You are subscribed" in client.post(f"/newsletter/confirm/{token}").text
    assert "already" in client.post(f"/newsletter/confirm/{token}").text
    confirmed = outbox_events(engine, "subscriber.confirmed")
    assert len(confirmed) == 1 and confirmed[0]["data"]["interests"] == ["events"]
    welcome = [
        e for e in outbox_events(engine, "email.requested") if e["data"]["template"] == "subscriber_welcome"
    ]
    assert len(welcome) == 1 and welcome[0]["data"]["to"] == "reader@example.org"
    assert "/newsletter/unsubscribe/" in welcome[0]["data"]["context"]["unsubscribe_url"]
    # Asking again for a confirmed address says the same and mails nothing.
    assert (
        client.post("/api/subscribers", json={"email": "reader@example.org", "consent": True}).status_code == 202
    )
    assert len(outbox_events(engine, "email.requested")) == 2
    assert len(outbox_events(engine, "subscriber.requested")) == 1


def test_preferences_unsubscribe_page_and_erasure(app, engine) -> None:
    client = app.test_client()
    client.post(f"/newsletter/confirm/{subscribe(client)}")
    with engine.connect() as conn:
        subscriber_id = conn.execute(select(subscribers.c.subscriber_id)).scalar()
    token = manage_token(subscriber_id)
    page = client.post(f"/newsletter/preferences/{token}", data={"interests": ["partner_news", "resources"]})
    assert page.status_code == 200 and "saved" in page.text
    assert outbox_events(engine, "subscriber.preferences_changed")[0]["data"]["interests"] == [
        "partner_news",
        "resources",
    ]
    assert client.post(f"/newsletter/preferences/{token}", data={"interests": ["bogus"]}).status_code == 422

    confirm_page = client.get(f"/newsletter/unsubscribe/{token}")
    assert confirm_page.status_code == 200 and f'action="/newsletter/unsubscribe/{token}"' in confirm_page.text
    with engine.connect() as conn:
        assert conn.execute(select(subscribers.c.status)).scalar() == "confirmed"  # GET changes nothing
    assert client.get("/newsletter/unsubscribe/forged.token").status_code == 404

    assert client.post("/api/subscribers/erase", json={"token": token}).status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(subscribers)).all() == []
    erased = outbox_events(engine, "subscriber.erased")
    assert [e["subject"] for e in erased] == [subscriber_id]
    assert client.get(f"/newsletter/preferences/{token}").status_code == 410
