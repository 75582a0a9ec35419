"""Starting an issue: fix its audience, freeze its content, cut it into batches, queue a command per batch.

The audience, the content and every batch's ledger row commit in one transaction (a crash before leaves the issue
scheduled; it starts again from scratch). The commands follow in chunks, each chunk committing with the count of
commands queued, so a crash mid-way is resumed where it stopped, and senders start on the first batches at once.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

from nmd_contracts.vocab import MAX_BATCH_RECIPIENTS
from nmd_runtime.outbox import publish
from sqlalchemy import Connection, Engine, String, and_, cast, func, insert, literal, or_, select, text, update

from nmd_newsletter import SOURCE
from nmd_newsletter.issues import render_issue
from nmd_newsletter.ledger import now
from nmd_newsletter.tables import interests_list, issue_batches, issue_recipients, issues, subscribers

log = logging.getLogger(__name__)
BATCH_SIZE = MAX_BATCH_RECIPIENTS


def due_issues(conn: Connection) -> list[str]:
    rows = conn.execute(select(issues.c.issue_id).where(issues.c.status == "scheduled", issues.c.send_at <= now()))
    return [r.issue_id for r in rows]


def fix_audience(conn: Connection, issue_id: str, interests: list[str], batch_size: int | None = None) -> int:
    """Copy the audience inside the database (one INSERT ... SELECT, no rows through Python): confirmed,
    matching interests, not suppressed; numbered into batches."""
    where = [subscribers.c.status == "confirmed"]
    if interests:
        where.append(or_(*[subscribers.c.interests.like(f"%,{i},%") for i in interests]))
    numbered = select(
        text(":issue_id").bindparams(issue_id=issue_id),
        subscribers.c.subscriber_id,
        text(f"((ROW_NUMBER() OVER (ORDER BY subscriber_id)) - 1) / {int(batch_size or BATCH_SIZE)} + 1"),
    ).where(and_(*where))
    conn.execute(insert(issue_recipients).from_select(["issue_id", "subscriber_id", "batch_number"], numbered))
    # rowcount of INSERT ... SELECT is not reported by every driver: count what landed.
    return int(
        conn.execute(
            select(func.count()).select_from(issue_recipients).where(issue_recipients.c.issue_id == issue_id)
        ).scalar_one()
    )


def batch_recipients(conn: Connection, issue_id: str, batch_number: int) -> list[dict[str, Any]]:
    """The batch's recipients who are still subscribed: an unsubscribe, bounce or erasure since the audience was
    fixed is honoured."""
    rows = conn.execute(
        select(subscribers.c.subscriber_id, subscribers.c.email, subscribers.c.name)
        .join(issue_recipients, issue_recipients.c.subscriber_id == subscribers.c.subscriber_id)
        .where(
            issue_recipients.c.issue_id == issue_id,
            issue_recipients.c.batch_number == batch_number,
            subscribers.c.status == "confirmed",
        )
    )
    return [{"subscriber_id": sid, "email": email, "name": name} for sid, email, name in rows]


def batch_id_for(issue_id: str, batch_number: int) -> str:
    return f"{issue_id}:{batch_number}"


def create_batches(conn: Connection, issue_id: str) -> None:
    """One ledger row per batch, made from the audience inside the database."""
    batch_id = literal(f"{issue_id}:") + cast(issue_recipients.c.batch_number, String)
    per_batch = (
        select(
            literal(issue_id),
            batch_id,
            issue_recipients.c.batch_number,
            func.count(),
            literal("queued"),
            literal(0),
            literal(False),
            literal(0),
            literal(0),
            literal(now()),
        )
        .where(issue_recipients.c.issue_id == issue_id)
        .group_by(issue_recipients.c.batch_number)
    )
    conn.execute(
        insert(issue_batches).from_select(
            [
                "issue_id",
                "batch_id",
                "batch_number",
                "recipient_count",
                "status",
                "attempts",
                "processed_seen",
                "sent_count",
                "skipped_count",
                "updated_at",
            ],
            per_batch,
        )
    )


def queue_batch(conn: Connection, issue: Any, batch_number: int, recipient_count: int) -> None:
    batch_id = batch_id_for(issue.issue_id, batch_number)
    data = {
        "issue_id": issue.issue_id,
        "batch_id": batch_id,
        "batch_number": batch_number,
        "batch_count": issue.batch_count,
        "subject": issue.subject,
        "recipient_count": recipient_count,
        "requested_at": now(),
    }
    publish(conn, "newsletter.batch_requested", batch_id, data, source=SOURCE)


def start_issue(engine: Engine, issue_id: str) -> bool:
    """Fix the audience, freeze the content and make every batch's ledger row, in one transaction; the commands
    follow in chunks (queue_commands), so the first batches are on their way while later ones are still cut."""
    with engine.begin() as conn:
        claimed = conn.execute(
            update(issues)
            .where(issues.c.issue_id == issue_id, issues.c.status == "scheduled")
            .values(status="sending", started_at=now())
        )
        if claimed.rowcount != 1:
            return False
        issue = conn.execute(select(issues).where(issues.c.issue_id == issue_id)).one()
        html, text_body = render_issue(conn, issue)
        count = fix_audience(conn, issue_id, interests_list(issue.audience_interests))
        batch_count = math.ceil(count / BATCH_SIZE)
        create_batches(conn, issue_id)
        conn.execute(
            update(issues)
            .where(issues.c.issue_id == issue_id)
            .values(html=html, text=text_body, recipient_count=count, batch_count=batch_count, batches_queued=0)
        )
        if count == 0:
            complete(conn, issue_id)
    log.info("issue %s started: %s recipients in %s batches", issue_id, count, batch_count)
    queue_commands(engine, issue_id)
    return True


def queue_commands(engine: Engine, issue_id: str, chunk: int = 100) -> None:
    """Put the issue's remaining batch commands in the outbox, `chunk` per transaction. Resumable: the count queued
    commits with the commands, so a dispatcher that dies mid-way is continued by the next one."""
    while True:
        with engine.begin() as conn:
            issue = conn.execute(
                select(issues).where(issues.c.issue_id == issue_id).with_for_update(skip_locked=True)
            ).first()
            if (
                issue is None
                or issue.status not in ("sending", "paused")
                or issue.batches_queued >= issue.batch_count
            ):
                return
            last = min(issue.batches_queued + chunk, issue.batch_count)
            batches = conn.execute(
                select(issue_batches.c.batch_number, issue_batches.c.recipient_count)
                .where(
                    issue_batches.c.issue_id == issue_id,
                    issue_batches.c.batch_number.between(issue.batches_queued + 1, last),
                )
                .order_by(issue_batches.c.batch_number)
            )
            for batch_number, recipient_count in batches:
                queue_batch(conn, issue, batch_number, recipient_count)
            conn.execute(update(issues).where(issues.c.issue_id == issue_id).values(batches_queued=last))


def unqueued_issues(conn: Connection) -> list[str]:
    rows = conn.execute(
        select(issues.c.issue_id).where(
            issues.c.status.in_(("sending", "paused")), issues.c.batches_queued < issues.c.batch_count
        )
    )
    return [r.issue_id for r in rows]


def complete(conn: Connection, issue_id: str) -> None:
    issue = conn.execute(select(issues).where(issues.c.issue_id == issue_id)).one()
    conn.execute(update(issues).where(issues.c.issue_id == issue_id).values(status="sent", completed_at=now()))
    publish(
        conn,
        "newsletter.issue_completed",
        issue_id,
        {
            "issue_id": issue_id,
            "batch_count": issue.batch_count,
            "recipient_count": issue.recipient_count,
            "sent_count": issue.sent_count,
            "skipped_count": issue.skipped_count,
            "completed_at": now(),
        },
        source=SOURCE,
    )


def requeue_held(conn: Connection, issue_id: str) -> None:
    """Resume: the batches that arrived while paused get a new command each (same batch id, same ledger row)."""
    issue = conn.execute(select(issues).where(issues.c.issue_id == issue_id)).one()
    held = conn.execute(
        select(issue_batches).where(issue_batches.c.issue_id == issue_id, issue_batches.c.status == "held")
    ).all()
    for batch in held:
        conn.execute(
            update(issue_batches)
            .where(issue_batches.c.batch_id == batch.batch_id)
            .values(status="queued", updated_at=now())
        )
        queue_batch(conn, issue, batch.batch_number, batch.recipient_count)


def run(engine: Engine, stop: threading.Event, interval: float = 1.0) -> None:
    """The dispatcher loop of the worker: start issues whose time has come."""
    while not stop.is_set():
        try:
            with engine.connect() as conn:
                due, unfinished = due_issues(conn), unqueued_issues(conn)
            for issue_id in due:
                start_issue(engine, issue_id)
            for issue_id in unfinished:
                queue_commands(engine, issue_id)
        except Exception:
            log.exception("starting issues failed")
        stop.wait(interval)
