"""Transactional mail: each `email.requested` command rendered from its template and sent once per idempotency
key."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from nmd_contracts.envelope import Event
from nmd_runtime.settings import env
from sqlalchemy import JSON, Boolean, Column, Connection, DateTime, Engine, Integer, String, Table, Text

from nmd_newsletter import ledger, settings
from nmd_newsletter.mail import Backend, Mail, OutcomeUnknown, Recipient, Rejected, Unavailable, deliver
from nmd_newsletter.rendering import render_email
from nmd_newsletter.tables import metadata

log = logging.getLogger(__name__)

# The ledger of transactional sends. `mail` holds the rendered message only while it may have to be sent again,
# and is cleared once sent, so addresses do not pile up here.
transactional_sends = Table(
    "transactional_sends",
    metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("template", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("processed_seen", Boolean, nullable=False, default=False),
    Column("unsettled_since", DateTime(timezone=True)),
    Column("mail", JSON),
    Column("message_id", String(100)),
    Column("error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
)
KEY = transactional_sends.c.idempotency_key


def compose(data: dict[str, Any]) -> Mail:
    subject, html, text = render_email(data["template"], data["context"])
    key = data["idempotency_key"]
    return Mail(
        sender=env("TRANSACTIONAL_FROM"),
        subject=subject,
        text=text,
        html=html,
        recipients=[Recipient(data["to"], data.get("to_name"), custom_args={"idempotency_key": key})],
        label=f"{data['template']}-{hashlib.sha256(key.encode()).hexdigest()[:10]}",
        categories=[data["template"]],
    )


def handler(backend: Backend):  # type: ignore[no-untyped-def]
    def handle_email_requested(conn: Connection, event: Event) -> None:
        mail = compose(event.data)
        key = event.data["idempotency_key"]
        before = ledger.begin_attempt(
            conn.engine,
            transactional_sends,
            KEY,
            key,
            create=True,
            template=event.data["template"],
            mail=mail.to_json(),
        )
        if before == ledger.SENDING and backend.idempotent:
            ledger.claim_unsettled(conn.engine, transactional_sends, KEY, key)
        elif before not in (None, ledger.QUEUED):
            log.info("email %s already %s", key, before)
            return
        attempt(conn.engine, backend, key, mail, conn)

    return handle_email_requested


def attempt(engine: Engine, backend: Backend, key: str, mail: Mail, conn: Connection | None = None) -> None:
    """One send of a row already marked `sending`; its outcome lands in `conn` (the command's transaction)."""
    try:
        accepted = deliver(backend, mail)
    except OutcomeUnknown as unknown:
        log.warning("email %s: outcome unknown (%s), settling from webhook", key, unknown)
        ledger.mark_unsettled(engine, transactional_sends, KEY, key)
        return
    except Rejected as rejected:
        log.error("email %s refused: %s", key, rejected)
        ledger.mark(conn or engine, transactional_sends, KEY, key, ledger.FAILED, error=str(rejected), mail=None)
        return
    except Unavailable:
        ledger.mark(engine, transactional_sends, KEY, key, ledger.QUEUED)
        raise
    ledger.mark(
        conn or engine,
        transactional_sends,
        KEY,
        key,
        ledger.SENT,
        message_id=accepted.message_id,
        mail=None,
        sent_at=ledger.now(),
    )


def settle(engine: Engine, backend: Backend) -> int:
    """Decide unsettled sends: SendGrid processed them → sent; no sign of them after the window → send again."""
    with engine.connect() as conn:
        rows = ledger.due_for_settling(
            conn, transactional_sends, settings.settle_seconds(), idempotent=backend.idempotent
        )
    for row in rows:
        key = row.idempotency_key
        if row.processed_seen:
            ledger.mark(engine, transactional_sends, KEY, key, ledger.SENT, mail=None, sent_at=ledger.now())
        elif row.mail and ledger.claim_unsettled(engine, transactional_sends, KEY, key):
            log.info("email %s: no processed event within the window, sending again", key)
            try:
                attempt(engine, backend, key, Mail.from_json(row.mail))
            except Unavailable:
                # Certainly not sent; stays with the settle loop, which tries again on its next round.
                ledger.mark(
                    engine, transactional_sends, KEY, key, ledger.UNSETTLED, unsettled_since=row.unsettled_since
                )
    return len(rows)
