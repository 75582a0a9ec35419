"""Pause, resume and cancel an issue being sent; batches held while paused are sent once after resuming."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from nmd_contracts.envelope import from_kafka
from nmd_newsletter import dispatch, issues, sending
from nmd_newsletter.mail import make_backend
from nmd_newsletter.tables import issue_batches, subscribers
from nmd_runtime.tables import outbox
from sqlalchemy import insert, select


def add_confirmed(engine, count: int, interests: str = "") -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(subscribers),
            [
                {
                    "subscriber_id": str(uuid.uuid4()),
                    "email": f"p{i}-{uuid.uuid4().hex[:4]}@example.org",
                    "interests": interests,
                    "status": "confirmed",
                    "consent_version": "2026-09-01",
                    "requested_at": now,
                    "requests": 1,
                    "confirmed_at": now,
                }
                for i in range(count)
            ],
        )


def scheduled_issue(engine, interests: list[str] | None = None) -> str:
    with engine.begin() as conn:
        issue_id = issues.create_issue(
            conn, {"subject": "S", "body_markdown": "B", "audience_interests": interests or []}, "tester"
        )
        issues.schedule(conn, issue_id, datetime.now(UTC))
    return issue_id


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


def batch_statuses(engine, issue_id: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(
            r.status
            for r in conn.execute(select(issue_batches.c.status).where(issue_batches.c.issue_id == issue_id))
        )


def test_paused_batches_wait_and_go_once_on_resume(engine, fake_sendgrid, monkeypatch) -> None:
    monkeypatch.setattr(dispatch, "BATCH_SIZE", 2)
    add_confirmed(engine, 5)
    issue_id = scheduled_issue(engine)
    assert dispatch.start_issue(engine, issue_id)
    with engine.begin() as conn:
        issues.pause(conn, issue_id)
    seen: set[int] = set()
    run_commands(engine, seen)
    assert batch_statuses(engine, issue_id) == ["held"] * 3 and fake_sendgrid.stats.recipients == 0
    with engine.begin() as conn:
        issues.resume(conn, issue_id)
    run_commands(engine, seen)
    run_commands(engine, seen)  # nothing new; and redelivering old commands would change nothing either
    assert batch_statuses(engine, issue_id) == ["sent"] * 3
    assert fake_sendgrid.stats.recipients == 5 and set(fake_sendgrid.counts().values()) == {1}
    with engine.connect() as conn:
        assert issues.progress(conn, issues._issue(conn, issue_id))["status"] == "sent"


def test_cancel_stops_the_rest_and_interests_narrow_the_audience(engine, fake_sendgrid, monkeypatch) -> None:
    monkeypatch.setattr(dispatch, "BATCH_SIZE", 2)
    add_confirmed(engine, 4, ",events,")
    add_confirmed(engine, 3, ",resources,")
    issue_id = scheduled_issue(engine, ["events"])
    dispatch.start_issue(engine, issue_id)
    with engine.begin() as conn:
        issues.cancel(conn, issue_id)
    run_commands(engine, set())
    assert batch_statuses(engine, issue_id) == ["cancelled"] * 2 and fake_sendgrid.stats.recipients == 0
