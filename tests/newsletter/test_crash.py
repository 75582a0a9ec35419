"""A sender worker SIGKILLed in the middle of an issue to 20,000 recipients, then restarted: every recipient gets
exactly one email at the fake SendGrid, none is skipped, and the batch caught in the ambiguous window is settled by
SendGrid's processed events rather than sent again."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from nmd_newsletter.issues import create_issue, schedule
from nmd_newsletter.tables import issue_batches, issues
from sqlalchemy import select

from tests.newsletter.conftest import add_confirmed
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
RECIPIENTS = 20_000


def start_sender(database_url: str, flag: Path) -> subprocess.Popen:
    env = os.environ | {
        "NEWSLETTER_DATABASE_URL": database_url,
        "CRASH_AFTER_BATCHES": "5",
        "CRASH_FLAG": str(flag),
        "PYTHONPATH": str(REPO),
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.newsletter.crashing_sender", "--roles", "sender,dispatch,settle"],
        cwd=REPO,
        env=env,
    )


def test_sender_killed_mid_issue_then_restarted_sends_each_recipient_exactly_once(
    app, engine, fake_sendgrid, served, database_url, tmp_path
) -> None:
    audience = add_confirmed(engine, RECIPIENTS)
    with engine.begin() as conn:
        issue_id = create_issue(
            conn, {"subject": "Crash test", "body_markdown": "Hello", "audience_interests": []}, "tester"
        )
        schedule(conn, issue_id, datetime.now(UTC))
    flag = tmp_path / "crashed"
    sender = start_sender(database_url, flag)
    try:
        assert sender.wait(timeout=240) == -9, "the sender should have killed itself"
        crashed_batch = flag.read_text()
        accepted_before_restart = fake_sendgrid.stats.recipients
        assert 5 * 1000 <= accepted_before_restart < RECIPIENTS
        sender = start_sender(database_url, flag)

        def issue_status() -> str:
            with engine.connect() as conn:
                return conn.execute(select(issues.c.status).where(issues.c.issue_id == issue_id)).scalar()

        wait_for(
            lambda: issue_status() == "sent",
            timeout=300,
            message=lambda: f"issue {issue_status()}, {fake_sendgrid.stats.recipients} accepted",
        )
    finally:
        sender.terminate()
        sender.wait(timeout=60)

    counts = fake_sendgrid.counts()
    assert set(audience) <= set(counts), "somebody was skipped"
    assert set(counts.values()) == {1}, f"sent twice: {[e for e, n in counts.items() if n > 1][:5]}"
    assert len(counts) == RECIPIENTS
    with engine.connect() as conn:
        batches = conn.execute(select(issue_batches).where(issue_batches.c.issue_id == issue_id)).all()
        sent = conn.execute(select(issues.c.sent_count).where(issues.c.issue_id == issue_id)).scalar()
    assert sent == RECIPIENTS and len(batches) == RECIPIENTS // 1000
    assert {b.status for b in batches} == {"sent"} and max(b.attempts for b in batches) == 1
    crashed = next(b for b in batches if b.batch_id == crashed_batch)
    assert crashed.unsettled_since is not None and crashed.processed_seen
