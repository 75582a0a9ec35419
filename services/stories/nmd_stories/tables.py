"""The stories database. Shared by every feature, so it lives here rather than beside one of them.

The private columns (contact email, display name, age, consent) never leave this database except through the
author's own emails; the public ones are chosen in publishing.public_fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from nmd_contracts.vocab import MENTOR_ROLES
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
)

metadata = MetaData()

# submitted → published ⇄ (unpublished | hidden); submitted → rejected; any → withdrawn (erased).
STATUSES = ("submitted", "published", "rejected", "unpublished", "hidden", "withdrawn")

stories = Table(
    "stories",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("slug", String(120), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    # Nullable because withdrawal erases them.
    Column("title", String(150)),
    Column("body", Text),
    Column("credit", String(20), nullable=False),  # full_name | first_name | anonymous
    Column("display_name", String(100)),
    Column("role", String(20), nullable=False),
    Column("partner_name", String(200)),
    Column("country", String(2)),
    Column("contact_email", String(254)),
    Column("usage", JSON, nullable=False),
    Column("consent_version", String(40), nullable=False),
    Column("consent_at", DateTime(timezone=True), nullable=False),
    Column("under_18", Boolean, nullable=False),
    Column("photo_key", String(300)),
    # What the automatic checks found: {"personal_data": [...], "profanity": [...], "duplicate_of": ..., ...}
    Column("flags", JSON, nullable=False),
    Column("featured", Boolean, nullable=False, default=False),
    Column("reject_reason", Text),
    # Reports since a moderator last looked; reset when the story is published again.
    Column("open_reports", Integer, nullable=False, default=0),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True)),
    Index("stories_status_submitted", "status", "submitted_at"),
)

story_themes = Table(
    "story_themes",
    metadata,
    Column("story_id", String(36), ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("theme", String(40), primary_key=True),
)

story_reports = Table(
    "story_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("story_id", String(36), ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(20), nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
)


def load_story(conn: Connection, story_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    """One story as a dict (themes included), locked for the rest of the transaction when asked."""
    query = select(stories).where(stories.c.id == story_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    story = story_dict(row)
    story["themes"] = themes_of(conn, story_id)
    return story


def story_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    # SQLite hands back naive datetimes; they were written in UTC.
    return {
        k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v for k, v in row.items()
    }


def themes_of(conn: Connection, story_id: str) -> list[str]:
    rows = conn.execute(select(story_themes.c.theme).where(story_themes.c.story_id == story_id)).scalars()
    return sorted(
        rows, key=lambda theme: MENTOR_ROLES.index(theme) if theme in MENTOR_ROLES else len(MENTOR_ROLES)
    )


def set_themes(conn: Connection, story_id: str, themes: list[str]) -> None:
    conn.execute(delete(story_themes).where(story_themes.c.story_id == story_id))
    if themes:
        conn.execute(insert(story_themes), [{"story_id": story_id, "theme": theme} for theme in themes])
