"""The relay deletes outbox rows published long ago (Kafka keeps them), and nothing it has still to publish."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from nmd_runtime.database import make_engine, migrate
from nmd_runtime.outbox import Relay, prune_published
from nmd_runtime.tables import metadata, outbox
from sqlalchemy import insert, select

from tests.waiting import wait_for


def test_rows_published_long_ago_are_deleted_and_recent_or_pending_ones_kept(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}")
    migrate(engine, metadata)
    now = datetime.now(UTC)
    ages = {"old": now - timedelta(days=8), "recent": now - timedelta(days=1)}
    with engine.begin() as conn:
        for event_id, published_at in ages.items():
            conn.execute(insert(outbox).values(**_row(event_id, now), published_at=published_at))

    def kept() -> set[str]:
        with engine.connect() as conn:
            return {row.event_id for row in conn.execute(select(outbox.c.event_id))}

    def producer() -> None:
        raise AssertionError("nothing is pending: the relay has nothing to send")

    stop = threading.Event()
    relay = threading.Thread(target=Relay(engine, producer_factory=producer, idle_wait=0.05).run, args=(stop,))
    relay.start()
    try:
        wait_for(lambda: kept() == {"recent"}, timeout=10, message=lambda: f"kept {kept()}")
    finally:
        stop.set()
        relay.join(timeout=10)


def test_a_row_not_yet_published_is_never_pruned_however_old(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}")
    migrate(engine, metadata)
    with engine.begin() as conn:
        conn.execute(insert(outbox).values(**_row("waiting", datetime.now(UTC) - timedelta(days=30))))
    assert prune_published(engine, older_than_seconds=0) == 0
    with engine.connect() as conn:
        assert conn.execute(select(outbox.c.event_id)).scalars().all() == ["waiting"]


def _row(event_id: str, created_at: datetime) -> dict[str, object]:
    return {
        "event_id": event_id,
        "topic": "page.views",
        "key": event_id,
        "value": b"{}",
        "headers": [],
        "created_at": created_at,
    }
