"""The exactly-once rule for outbound mail, shared by transactional sends and newsletter batches.

Before a request leaves for SendGrid its ledger row says `sending`, committed. After the 202 the row says `sent`,
in the same transaction as the consumed command's processed-event record. A row found still `sending` therefore
means a send whose outcome we never learnt (crash, timeout): it becomes `unsettled`, and only SendGrid's
`processed` webhook event (custom_args name the row) or a settle window without one decides between `sent` and
sending again. Nothing is ever re-sent just because we are unsure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nmd_runtime.database import insert_ignore
from sqlalchemy import Column, Connection, Engine, Table, select, update

SENDING, UNSETTLED, SENT, QUEUED, FAILED = "sending", "unsettled", "sent", "queued", "failed"


def now() -> datetime:
    return datetime.now(UTC)


def begin_attempt(
    engine: Engine, table: Table, key: Column, value: str, *, create: bool = False, **values: Any
) -> str | None:
    """Claim the row for one send attempt, committed before the request leaves.

    Returns the status found: None or "queued" (the caller sends now: the row is `sending`); "sending" (an earlier
    attempt's outcome is unknown: the row is now `unsettled`); anything else (sent, unsettled, failed...: do not
    send)."""
    with engine.begin() as conn:
        if create:
            insert_ignore(
                conn,
                table,
                {key.name: value, "status": QUEUED, "attempts": 0, "processed_seen": False, "updated_at": now()}
                | values,
            )
        row = conn.execute(select(table.c.status).where(key == value).with_for_update()).first()
        if row is None:
            return None if create else "missing"
        if row.status == QUEUED:
            conn.execute(
                update(table)
                .where(key == value)
                .values(status=SENDING, attempts=table.c.attempts + 1, updated_at=now(), **values)
            )
        elif row.status == SENDING:
            conn.execute(
                update(table)
                .where(key == value)
                .values(status=UNSETTLED, unsettled_since=now(), updated_at=now(), **values)
            )
        return row.status


def claim_unsettled(engine: Engine, table: Table, key: Column, value: str) -> bool:
    """The settle loop takes an unsettled row back to `sending` for a resend; False if someone else settled it."""
    with engine.begin() as conn:
        result = conn.execute(
            update(table)
            .where(key == value, table.c.status == UNSETTLED)
            .values(status=SENDING, attempts=table.c.attempts + 1, unsettled_since=None, updated_at=now())
        )
        return result.rowcount == 1


def mark(conn: Connection | Engine, table: Table, key: Column, value: str, status: str, **values: Any) -> None:
    statement = update(table).where(key == value).values(status=status, updated_at=now(), **values)
    if isinstance(conn, Engine):
        with conn.begin() as own:
            own.execute(statement)
    else:
        conn.execute(statement)


def mark_unsettled(engine: Engine, table: Table, key: Column, value: str) -> None:
    mark(engine, table, key, value, UNSETTLED, unsettled_since=now())


def due_for_settling(conn: Connection, table: Table, settle_seconds: float, *, idempotent: bool) -> list[Any]:
    """Unsettled rows that SendGrid confirmed (processed seen) or whose settle window ran out unconfirmed."""
    cutoff = now() - timedelta(seconds=0 if idempotent else settle_seconds)
    return list(
        conn.execute(
            select(table)
            .where(
                table.c.status == UNSETTLED,
                (table.c.processed_seen.is_(True)) | (table.c.unsettled_since <= cutoff),
            )
            .limit(200)
        )
    )
