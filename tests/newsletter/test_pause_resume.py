"""Pause, resume and cancel an issue being sent; batches held while paused are sent once after resuming."""

from __future__ import annotations

from datetime import UTC, datetime

from nmd_newsletter import dispatch, issues
from nmd_newsletter.tables import issue_batches
from sqlalchemy import select

from tests.newsletter.conftest import add_confirmed, run_commands


def scheduled_issue(engine, interests: list[str] | None = None) -> str:
    with engine.begin() as conn:
        issue_id = issues.create_issue(
            conn, {"subject": "S", "body_markdown": "B", "audience_interests": interests or []}, "tester"
        )
        issues.schedule(conn, issue_id, datetime.now(UTC))
    return issue_id


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
