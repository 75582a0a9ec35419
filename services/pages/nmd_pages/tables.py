"""What every feature's tables share: one metadata, the read-model version, and a portable upsert.

The version goes up in the same transaction as any change to the public read models (partners, stories,
subscribers); web processes cache rendered pages per version, and the worker republishes static pages after it
moves.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Connection, Engine, MetaData, String, Table, insert, select, update

metadata = MetaData()

read_model_state = Table(
    "read_model_state",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

PUBLIC = "public"


def ensure_state_row(engine: Engine) -> None:
    with engine.begin() as conn:
        if conn.execute(select(read_model_state.c.name).where(read_model_state.c.name == PUBLIC)).first() is None:
            conn.execute(insert(read_model_state).values(name=PUBLIC, version=0))


def bump_version(conn: Connection) -> None:
    conn.execute(
        update(read_model_state)
        .where(read_model_state.c.name == PUBLIC)
        .values(version=read_model_state.c.version + 1)
    )


def read_version(conn: Connection) -> int:
    return int(
        conn.execute(
            select(read_model_state.c.version).where(read_model_state.c.name == PUBLIC)
        ).scalar_one_or_none()
        or 0
    )


def instant(value: str | dt.datetime) -> dt.datetime:
    """An event's RFC 3339 timestamp (event data is JSON: "2026-10-27T09:00:00Z") as an aware datetime."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
