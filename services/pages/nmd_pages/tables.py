"""What every feature's tables share: one metadata, the read-model version, and a portable upsert.

The version goes up in the same transaction as any change to the public read models (partners, stories,
subscribers); web processes cache rendered pages per version, and the worker republishes static pages after it
moves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Engine, MetaData, String, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

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


def upsert(
    conn: Connection,
    table: Table,
    values: dict[str, Any],
    keys: list[str],
    *,
    add: dict[str, Any] | None = None,
    keep: tuple[str, ...] = (),
) -> None:
    """Insert `values`, or on a key clash update the row: columns in `add` are incremented by their value,
    columns in `keep` are left as they were, the rest take the new values."""
    dialect = postgresql if conn.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(values)
    changes: dict[str, Any] = {
        name: statement.excluded[name] for name in values if name not in keys and name not in keep
    }
    for name, amount in (add or {}).items():
        changes[name] = table.c[name] + amount
    if changes:
        statement = statement.on_conflict_do_update(index_elements=keys, set_=changes)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    conn.execute(statement)


def instant(value: str | dt.datetime) -> dt.datetime:
    """An event's RFC 3339 timestamp (event data is JSON: "2026-10-27T09:00:00Z") as an aware datetime."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
