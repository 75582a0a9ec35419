"""One SQLAlchemy engine per service database: PostgreSQL in production, SQLite on one machine."""

from __future__ import annotations

from sqlalchemy import Engine, MetaData, create_engine, event

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
