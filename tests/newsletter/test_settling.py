"""The ambiguous window: SendGrid took a send but we never heard (timeout). It is settled by the webhook's
processed
event, never by sending blindly; and sent again only if no processed event came within the settle window."""

from __future__ import annotations

import uuid

from nmd_contracts.envelope import new_event
from nmd_newsletter import transactional
from nmd_newsletter.mail import make_backend
from nmd_newsletter.transactional import transactional_sends
from sqlalchemy import select

from tests.waiting import wait_for


def command(to: str) -> tuple[str, object]:
    key = f"story_acknowledgement:{uuid.uuid4()}"
    data = {
        "template": "story_acknowledgement",
        "to": to,
        "idempotency_key": key,
        "context": {"title": "My mentor", "author_name": "Sam", "withdraw_url": "https://m.example/w/1"},
    }
    return key, new_event("email.requested", key, data, source="/tests")


def status(engine, key: str) -> str:
    with engine.connect() as conn:
        return conn.execute(
            select(transactional_sends.c.status).where(transactional_sends.c.idempotency_key == key)
        ).scalar()


def handle(engine, event) -> None:
    handler = transactional.handler(make_backend())
    with engine.begin() as conn:
        handler(conn, event)


def test_accepted_but_unanswered_is_settled_by_the_processed_event(engine, fake_sendgrid, served, monkeypatch):
    monkeypatch.setenv("SENDGRID_TIMEOUT", "0.5")
    to = f"sam-{uuid.uuid4().hex[:6]}@example.org"
    key, event = command(to)
    fake_sendgrid.fail_next("hang", count=1, hang_seconds=1.5, accept=True)
    handle(engine, event)
    assert status(engine, key) == "unsettled"
    handle(engine, event)  # the command redelivered meanwhile: still no blind resend
    wait_for(lambda: fake_sendgrid.count(to) == 1, timeout=20)
    wait_for(fake_sendgrid.idle, timeout=20)  # its processed event reached our webhook
    transactional.settle(engine, make_backend())
    assert status(engine, key) == "sent"
    assert fake_sendgrid.count(to) == 1


def test_refused_and_unanswered_is_sent_again_after_the_window(engine, fake_sendgrid, served, monkeypatch):
    monkeypatch.setenv("SENDGRID_TIMEOUT", "0.5")
    monkeypatch.setenv("NEWSLETTER_SETTLE_SECONDS", "1")
    to = f"sam-{uuid.uuid4().hex[:6]}@example.org"
    key, event = command(to)
    fake_sendgrid.fail_next("hang", count=1, hang_seconds=1.0, accept=False)
    handle(engine, event)
    assert status(engine, key) == "unsettled"
    assert transactional.settle(engine, make_backend()) == 0  # inside the window: wait
    wait_for(lambda: transactional.settle(engine, make_backend()) == 1, timeout=10)
    assert status(engine, key) == "sent" and fake_sendgrid.count(to) == 1
    with engine.connect() as conn:
        row = conn.execute(select(transactional_sends).where(transactional_sends.c.idempotency_key == key)).one()
    assert row.attempts == 2 and row.mail is None  # the address is not kept once sent
