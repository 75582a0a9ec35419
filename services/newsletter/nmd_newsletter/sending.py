"""Sender workers: each `newsletter.batch_requested` command becomes ONE SendGrid request to the batch's recipients
still subscribed, one personalization each (their own link token and List-Unsubscribe header), at most once per
batch: ledger.py explains how a send whose outcome we never learnt is settled."""

from __future__ import annotations

import logging
from typing import Any

from nmd_contracts.envelope import Event
from nmd_runtime.outbox import publish
from nmd_runtime.settings import env
from sqlalchemy import Connection, Engine, select, update

from nmd_newsletter import SOURCE, ledger, settings
from nmd_newsletter.dispatch import batch_recipients, complete
from nmd_newsletter.issues import LINK_TOKEN
from nmd_newsletter.mail import Backend, Mail, OutcomeUnknown, Recipient, Rejected, Unavailable, deliver
from nmd_newsletter.subscribing import manage_links
from nmd_newsletter.tables import issue_batches, issues

log = logging.getLogger(__name__)
KEY = issue_batches.c.batch_id
_content: dict[str, tuple[str, str, str]] = {}


def _issue_content(conn: Connection, issue_id: str) -> tuple[str, str, str]:
    """(subject, html, text), frozen when sending started: cached for the life of the process."""
    if issue_id not in _content:
        row = conn.execute(
            select(issues.c.subject, issues.c.html, issues.c.text).where(issues.c.issue_id == issue_id)
        ).one()
        _content[issue_id] = (row.subject, row.html, row.text)
    return _content[issue_id]


def batch_mail(conn: Connection, issue_id: str, batch_id: str, recipients: list[dict[str, Any]]) -> Mail:
    subject, html, text = _issue_content(conn, issue_id)
    unsubscribe, sign = f"{env('PUBLIC_BASE_URL')}/newsletter/unsubscribe/", manage_links().make
    people = []
    for r in recipients:
        token = sign(f"{r['subscriber_id']}:{issue_id}")
        people.append(
            Recipient(
                r["email"],
                r.get("name"),
                substitutions={LINK_TOKEN: token},
                headers={"List-Unsubscribe": f"<{unsubscribe}{token}>"},
                custom_args={"subscriber_id": r["subscriber_id"]},
            )
        )
    return Mail(
        sender=env("NEWSLETTER_FROM"),
        subject=subject,
        text=text,
        html=html,
        recipients=people,
        label=f"newsletter-{issue_id}",
        custom_args={"issue_id": issue_id, "batch_id": batch_id},
        headers={
            "List-Id": f"National Mentoring Day News <{env('NEWSLETTER_LIST_ID')}>",
            # RFC 8058 one-click: the same for everyone, so said once for the whole request.
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        categories=["newsletter"],
    )


def _hold_or_cancel(conn: Connection, batch_id: str, issue_id: str) -> bool:
    status = conn.execute(select(issues.c.status).where(issues.c.issue_id == issue_id)).scalar()
    if status == "paused":
        ledger.mark(conn.engine, issue_batches, KEY, batch_id, "held")
        return True
    if status == "cancelled":
        ledger.mark(conn.engine, issue_batches, KEY, batch_id, "cancelled")
        return True
    return False


def handler(backend: Backend):  # type: ignore[no-untyped-def]
    def handle_batch(conn: Connection, event: Event) -> None:
        data = event.data
        batch_id, issue_id = data["batch_id"], data["issue_id"]
        status = conn.execute(select(issue_batches.c.status).where(batch_id == KEY)).scalar()
        if status in ("queued", None) and _hold_or_cancel(conn, batch_id, issue_id):
            return
        active = batch_recipients(conn, issue_id, data["batch_number"])
        skipped = data["recipient_count"] - len(active)
        before = ledger.begin_attempt(
            conn.engine, issue_batches, KEY, batch_id, sent_count=len(active), skipped_count=skipped
        )
        if before == ledger.SENDING and backend.idempotent:
            ledger.claim_unsettled(conn.engine, issue_batches, KEY, batch_id)
        elif before not in (None, ledger.QUEUED):
            log.info("batch %s already %s", batch_id, before)
            return
        attempt(conn.engine, backend, conn, issue_id, batch_id, active, skipped)

    return handle_batch


def attempt(
    engine: Engine,
    backend: Backend,
    conn: Connection | None,
    issue_id: str,
    batch_id: str,
    active: list[dict[str, Any]],
    skipped: int,
) -> None:
    """One send of a batch whose row is `sending`; the outcome is written in `conn` (the command's transaction)."""
    if not active:
        _finish(conn, engine, batch_id, issue_id, 0, skipped, None)
        return
    with engine.connect() as reading:
        mail = batch_mail(reading, issue_id, batch_id, active)
    try:
        accepted = deliver(backend, mail)
    except OutcomeUnknown as unknown:
        log.warning("batch %s: outcome unknown (%s); settling from processed events", batch_id, unknown)
        ledger.mark_unsettled(engine, issue_batches, KEY, batch_id)
        return
    except Rejected as rejected:
        log.error("batch %s refused: %s", batch_id, rejected)
        ledger.mark(conn or engine, issue_batches, KEY, batch_id, ledger.FAILED, error=str(rejected)[:2000])
        return
    except Unavailable:
        ledger.mark(engine, issue_batches, KEY, batch_id, ledger.QUEUED)
        raise
    _finish(conn, engine, batch_id, issue_id, len(active), skipped, accepted.message_id)


def _finish(
    conn: Connection | None,
    engine: Engine,
    batch_id: str,
    issue_id: str,
    sent: int,
    skipped: int,
    message_id: str | None,
) -> None:
    if conn is None:
        with engine.begin() as own:
            _finish_in(own, batch_id, issue_id, sent, skipped, message_id)
    else:
        _finish_in(conn, batch_id, issue_id, sent, skipped, message_id)


def _finish_in(
    conn: Connection, batch_id: str, issue_id: str, sent: int, skipped: int, message_id: str | None
) -> None:
    batch = conn.execute(select(issue_batches).where(batch_id == KEY).with_for_update()).one()
    if batch.status == ledger.SENT:
        return
    ledger.mark(
        conn,
        issue_batches,
        KEY,
        batch_id,
        ledger.SENT,
        sent_count=sent,
        skipped_count=skipped,
        message_id=message_id,
    )
    publish(
        conn,
        "newsletter.batch_sent",
        issue_id,
        {
            "issue_id": issue_id,
            "batch_id": batch_id,
            "batch_number": batch.batch_number,
            "sent_count": sent,
            "skipped_count": skipped,
            "sent_at": ledger.now(),
        },
        source=SOURCE,
    )
    conn.execute(
        update(issues)
        .where(issues.c.issue_id == issue_id)
        .values(
            batches_done=issues.c.batches_done + 1,
            sent_count=issues.c.sent_count + sent,
            skipped_count=issues.c.skipped_count + skipped,
        )
    )
    issue = conn.execute(
        select(issues.c.status, issues.c.batches_done, issues.c.batch_count).where(issues.c.issue_id == issue_id)
    ).one()
    if issue.batches_done >= issue.batch_count and issue.status in ("sending", "paused"):
        complete(conn, issue_id)


def settle(engine: Engine, backend: Backend) -> int:
    """Unsettled batches: SendGrid processed them → sent; nothing heard within the window → send them again."""
    with engine.connect() as conn:
        rows = ledger.due_for_settling(
            conn, issue_batches, settings.settle_seconds(), idempotent=backend.idempotent
        )
    for row in rows:
        if row.processed_seen:
            log.info("batch %s settled as sent by SendGrid's processed events", row.batch_id)
            _finish(None, engine, row.batch_id, row.issue_id, row.sent_count, row.skipped_count, row.message_id)
        elif ledger.claim_unsettled(engine, issue_batches, KEY, row.batch_id):
            log.info("batch %s: no processed event within the window, sending again", row.batch_id)
            with engine.connect() as conn:
                active = batch_recipients(conn, row.issue_id, row.batch_number)
            try:
                attempt(
                    engine, backend, None, row.issue_id, row.batch_id, active, row.recipient_count - len(active)
                )
            except Unavailable:
                ledger.mark(
                    engine, issue_batches, KEY, row.batch_id, ledger.UNSETTLED, unsettled_since=row.unsettled_since
                )
    return len(rows)
