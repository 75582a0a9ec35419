"""The subscriber count on the home page, from subscribers.events: the ids of confirmed subscribers, no more.

Kept as a set of ids rather than a running number, so a redelivered or replayed event cannot count twice.
"""

from __future__ import annotations

from nmd_contracts.envelope import Event
from nmd_runtime import database
from sqlalchemy import Column, Connection, String, Table, delete, func, select

from nmd_pages import tables

confirmed_subscribers = Table(
    "confirmed_subscribers",
    tables.metadata,
    Column("subscriber_id", String(64), primary_key=True),
)


def on_confirmed(conn: Connection, event: Event) -> None:
    database.upsert(conn, confirmed_subscribers, {"subscriber_id": event.data["subscriber_id"]}, ["subscriber_id"])
    tables.bump_version(conn)


def on_left(conn: Connection, event: Event) -> None:
    """Unsubscribed, suppressed or erased: no longer counted (erased: the id is forgotten too)."""
    conn.execute(
        delete(confirmed_subscribers).where(confirmed_subscribers.c.subscriber_id == event.data["subscriber_id"])
    )
    tables.bump_version(conn)


HANDLERS = {
    "subscriber.confirmed": on_confirmed,
    "subscriber.unsubscribed": on_left,
    "subscriber.suppressed": on_left,
    "subscriber.erased": on_left,
}


def subscriber_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(confirmed_subscribers)).scalar_one())
