"""Tables more than one feature reads: subscribers, issues and the issue's audience and batch ledger."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Interests are stored as ",a,b," so an audience query can match one with LIKE on SQLite and PostgreSQL alike.
subscribers = Table(
    "subscribers",
    metadata,
    Column("subscriber_id", String(36), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # lower-cased
    Column("name", String(200)),
    Column("interests", String(200), nullable=False),
    Column("status", String(20), nullable=False),  # pending, confirmed, unsubscribed, suppressed
    Column("consent_version", String(40), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("requests", Integer, nullable=False, default=1),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("left_at", DateTime(timezone=True)),
    Column("left_reason", String(40)),
    Index("subscribers_status", "status"),
)

issues = Table(
    "issues",
    metadata,
    Column("issue_id", String(36), primary_key=True),
    Column("subject", String(200), nullable=False),
    Column("body_markdown", Text, nullable=False),
    Column("audience_interests", String(200), nullable=False),  # ",a,b," or "" for everyone
    # draft, scheduled, sending, paused, sent, cancelled
    Column("status", String(20), nullable=False),
    Column("send_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    # Frozen when sending starts, so every batch (and a resend after a crash) carries the same content.
    Column("html", Text),
    Column("text", Text),
    Column("recipient_count", Integer, nullable=False, default=0),
    Column("batch_count", Integer, nullable=False, default=0),
    # How many batch commands are in the outbox: they are queued in chunks, so senders start within seconds.
    Column("batches_queued", Integer, nullable=False, default=0),
    Column("batches_done", Integer, nullable=False, default=0),
    Column("sent_count", Integer, nullable=False, default=0),
    Column("skipped_count", Integer, nullable=False, default=0),
)

# The audience, fixed when sending starts: who gets the issue, in which batch. One row per subscriber and issue.
issue_recipients = Table(
    "issue_recipients",
    metadata,
    # One index, for "this batch's recipients": fixing a million-strong audience writes one index instead of two
    # (5 s instead of 7 s). A subscriber is in an issue once because the audience is selected from subscribers.
    Column("issue_id", String(36), primary_key=True),
    Column("batch_number", Integer, primary_key=True),
    Column("subscriber_id", String(36), primary_key=True),
)

# The delivery ledger: one row per batch; status queued → sending → sent, or sending → unsettled → sent/queued.
issue_batches = Table(
    "issue_batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),  # "<issue id>:<batch number>"
    Column("issue_id", String(36), nullable=False),
    Column("batch_number", Integer, nullable=False),
    Column("recipient_count", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # queued, sending, unsettled, sent, held, cancelled, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("processed_seen", Boolean, nullable=False, default=False),
    Column("unsettled_since", DateTime(timezone=True)),
    Column("message_id", String(100)),
    Column("sent_count", Integer, nullable=False, default=0),
    Column("skipped_count", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("issue_batches_issue", "issue_id", "status"),
)


def interests_column(interests: list[str] | tuple[str, ...]) -> str:
    return f",{','.join(sorted(interests))}," if interests else ""


def interests_list(stored: str) -> list[str]:
    return [part for part in stored.split(",") if part]
