"""SendGrid's signed Event Webhook: verified, de-duplicated, published to email.events; and what those events drive
(suppression, issue statistics). The `processed` events also settle sends whose outcome we never learnt."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from functools import cache
from typing import Any

from flask import Blueprint, current_app, request
from nmd_contracts.envelope import Event, InvalidEvent
from nmd_contracts.vocab import SENDGRID_EVENTS
from nmd_runtime import web
from nmd_runtime.database import insert_ignore, insert_on_conflict
from nmd_runtime.outbox import publish
from nmd_runtime.settings import env
from sendgrid.helpers.eventwebhook import EventWebhook
from sqlalchemy import Column, Connection, DateTime, Integer, String, Table, select, update

from nmd_newsletter import SOURCE, subscribing
from nmd_newsletter.tables import issue_batches, metadata, subscribers
from nmd_newsletter.transactional import transactional_sends

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

# sg_event_ids already taken in: SendGrid delivers at least once.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("sg_event_id", String(100), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

issue_stats = Table(
    "issue_stats",
    metadata,
    Column("issue_id", String(36), primary_key=True),
    Column("event", String(30), primary_key=True),
    Column("count", Integer, nullable=False, default=0),
)


# --- verification
# -------------------------------------------------------------------------------------------------


@cache
def _public_key(b64_key: str) -> Any:
    return EventWebhook().convert_public_key_to_ecdsa(b64_key)


def signature_valid(body: str, signature: str, timestamp: str) -> bool:
    key = env("SENDGRID_WEBHOOK_PUBLIC_KEY")
    if not key or not signature or not timestamp:
        return False
    try:
        if abs(time.time() - int(timestamp)) > int(env("SENDGRID_WEBHOOK_MAX_AGE")):
            return False  # an old signed post replayed
        return bool(EventWebhook().verify_signature(body, signature, timestamp, _public_key(key)))
    except (ValueError, TypeError):
        return False


# --- taking events in
# ---------------------------------------------------------------------------------------------


def delivery_event_data(raw: dict[str, Any]) -> dict[str, Any] | None:
    """Our email.delivery_event data from one SendGrid event (custom_args arrive as top-level keys)."""
    if raw.get("event") not in SENDGRID_EVENTS or not raw.get("sg_event_id") or not raw.get("email"):
        return None
    try:
        timestamp = datetime.fromtimestamp(int(raw.get("timestamp") or time.time()), UTC)
    except (TypeError, ValueError, OverflowError):
        timestamp = datetime.now(UTC)
    bounce_type = raw.get("type") if raw.get("event") == "bounce" else None

    def text(name: str) -> str | None:
        value = raw.get(name)
        return str(value) if value not in (None, "") else None

    return {
        "sg_event_id": str(raw["sg_event_id"]),
        "event": raw["event"],
        "email": str(raw["email"]),
        "timestamp": timestamp,
        "message_id": text("sg_message_id"),
        "issue_id": text("issue_id"),
        "batch_id": text("batch_id"),
        "subscriber_id": text("subscriber_id"),
        "idempotency_key": text("idempotency_key"),
        "reason": (text("reason") or "")[:2000] or None,
        "bounce_type": bounce_type if bounce_type in ("bounce", "blocked") else None,
    }


def _new_ids(conn: Connection, ids: list[str]) -> set[str]:
    now = datetime.now(UTC)
    statement = (
        insert_on_conflict(conn, webhook_events)
        .values([{"sg_event_id": i, "received_at": now} for i in ids])
        .on_conflict_do_nothing()
        .returning(webhook_events.c.sg_event_id)
    )
    return {row.sg_event_id for row in conn.execute(statement)}


def take_in(conn: Connection, raw_events: list[Any]) -> int:
    """Record and publish the events not seen before; mark batches and emails SendGrid processed. Returns how
    many were new."""
    events = [data for raw in raw_events if isinstance(raw, dict) and (data := delivery_event_data(raw))]
    if not events:
        return 0
    fresh = _new_ids(conn, list({e["sg_event_id"] for e in events}))
    taken = 0
    for data in events:
        if data["sg_event_id"] not in fresh:
            continue
        fresh.discard(data["sg_event_id"])
        try:
            publish(conn, "email.delivery_event", data["subscriber_id"] or data["email"], data, source=SOURCE)
        except InvalidEvent as error:
            log.warning("ignoring webhook event %s: %s", data["sg_event_id"], error)
            continue
        taken += 1
    _settle_processed(conn, events)
    return taken


def _settle_processed(conn: Connection, events: list[dict[str, Any]]) -> None:
    processed = [e for e in events if e["event"] == "processed"]
    batch_ids = {e["batch_id"] for e in processed if e["batch_id"]}
    keys = {e["idempotency_key"] for e in processed if e["idempotency_key"]}
    if batch_ids:
        conn.execute(
            update(issue_batches)
            .where(issue_batches.c.batch_id.in_(batch_ids), issue_batches.c.processed_seen.is_(False))
            .values(processed_seen=True)
        )
    if keys:
        conn.execute(
            update(transactional_sends)
            .where(
                transactional_sends.c.idempotency_key.in_(keys), transactional_sends.c.processed_seen.is_(False)
            )
            .values(processed_seen=True)
        )


blueprint = Blueprint("webhook", __name__)


@blueprint.post("/webhooks/sendgrid")
def sendgrid_webhook() -> Any:
    body = request.get_data(as_text=True)
    signature, timestamp = request.headers.get(SIGNATURE_HEADER, ""), request.headers.get(TIMESTAMP_HEADER, "")
    if not signature or not timestamp:
        web.json_error(401, "signature", "the request is not signed")
    if not signature_valid(body, signature, timestamp):
        web.json_error(403, "signature", "the signature does not match")
    try:
        events = json.loads(body)
    except ValueError:
        web.json_error(400, "_json", "the body is not JSON")
    if not isinstance(events, list):
        web.json_error(400, "_json", "the body must be a list of events")
    with current_app.extensions["nmd_newsletter_engine"].begin() as conn:
        taken = take_in(conn, events)
    return {"received": len(events), "new": taken}


# --- what the events drive
# ----------------------------------------------------------------------------------------

SUPPRESSING = {"dropped": "dropped", "spamreport": "spamreport", "group_unsubscribe": "group_unsubscribe"}


def _subscriber_id(conn: Connection, data: dict[str, Any]) -> str | None:
    if data.get("subscriber_id"):
        return str(data["subscriber_id"])
    row = conn.execute(
        select(subscribers.c.subscriber_id).where(subscribers.c.email == data["email"].lower())
    ).first()
    return row.subscriber_id if row else None


def count_for_issue(conn: Connection, issue_id: str, event: str) -> None:
    insert_ignore(conn, issue_stats, {"issue_id": issue_id, "event": event, "count": 0})
    conn.execute(
        update(issue_stats)
        .where(issue_stats.c.issue_id == issue_id, issue_stats.c.event == event)
        .values(count=issue_stats.c.count + 1)
    )


def handle_delivery_event(conn: Connection, event: Event) -> None:
    data = event.data
    if data.get("issue_id"):
        count_for_issue(conn, data["issue_id"], data["event"])
    kind = data["event"]
    hard_bounce = kind == "bounce" and data.get("bounce_type") != "blocked"
    if not (hard_bounce or kind in SUPPRESSING or kind == "unsubscribe"):
        return
    subscriber_id = _subscriber_id(conn, data)
    if subscriber_id is None:
        return
    if kind == "unsubscribe":
        subscribing.unsubscribe(conn, subscriber_id, "email_client", data.get("issue_id"))
    else:
        subscribing.suppress(conn, subscriber_id, "bounce" if hard_bounce else SUPPRESSING[kind])
