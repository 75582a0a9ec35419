"""A tiny consumer-side state for the runtime tests: each applied event appends a row, so a test can see
exactly what was applied, how often and in which order."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from nmd_contracts.envelope import Event, new_event
from nmd_runtime import outbox
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, func, insert, select

metadata = MetaData()
applied = Table(
    "applied",
    metadata,
    Column("row", Integer, primary_key=True, autoincrement=True),
    Column("key", String(50), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event_id", String(64), nullable=False),
)


def numbered_event(key: str, seq: int) -> Event:
    return new_event("page.viewed", key, _view(seq), source="/tests/runtime")


def _view(seq: int) -> dict:
    return {"page": f"/seq/{seq}", "country": "GB", "viewed_at": "2026-10-27T09:00:00+00:00"}


def write_events(engine: Engine, topic: str, keys: list[str], per_key: int) -> None:
    """Each event in its own transaction, as requests would write them; keys interleaved."""
    for seq in range(1, per_key + 1):
        for key in keys:
            with engine.begin() as conn:
                outbox.record(conn, numbered_event(key, seq), topic=topic)


def apply(conn: Connection, event: Event) -> None:
    seq = int(event.data["page"].rsplit("/", 1)[1])
    conn.execute(insert(applied).values(key=event.subject, seq=seq, event_id=event.id))


def crash_once_after(events: int, flag: Path):
    """A handler that SIGKILLs its own process, before the commit, when it reaches its n-th event (once)."""
    seen = 0

    def handler(conn: Connection, event: Event) -> None:
        nonlocal seen
        seen += 1
        if seen == events and not flag.exists():
            flag.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        apply(conn, event)

    return handler


def applied_rows(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [(r.key, r.seq) for r in conn.execute(select(applied.c.key, applied.c.seq).order_by(applied.c.row))]


def applied_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(applied)).scalar_one()


def assert_exactly_once_in_order(engine: Engine, keys: list[str], per_key: int) -> None:
    rows = applied_rows(engine)
    assert len(rows) == len(keys) * per_key, f"applied {len(rows)} events, expected {len(keys) * per_key}"
    for key in keys:
        seqs = [seq for k, seq in rows if k == key]
        assert seqs == list(range(1, per_key + 1)), f"key {key} applied as {seqs}"
