"""One SQLAlchemy engine per service database: PostgreSQL in production, SQLite on one machine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, Insert, MetaData, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite

from nmd_runtime import settings


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the web and worker processes read while the other writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def service_engine(service: str) -> Engine:
    return make_engine(settings.database_url(service))


def migrate(engine: Engine, *metadatas: MetaData) -> None:
    """Create every missing table; safe to run on each start."""
    for metadata in metadatas:
        metadata.create_all(engine)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def insert_on_conflict(conn: Connection, table: Table) -> Any:
    """An INSERT that can say ON CONFLICT (DO NOTHING / DO UPDATE, `excluded`, RETURNING) in the connection's
    dialect: PostgreSQL and SQLite share that syntax, SQLAlchemy's core INSERT does not have it."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]] | dict[str, Any]) -> int:
    """INSERT that skips rows whose key exists; returns how many were inserted."""
    return conn.execute(insert_on_conflict(conn, table).on_conflict_do_nothing(), rows).rowcount


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
    statement: Insert = insert_on_conflict(conn, table).values(values)
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
