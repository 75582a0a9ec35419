"""The automatic sections of an issue, from small read models of the stories and partners events:
stories featured since the last issue (only those whose submitter allowed newsletter use), partners approved since,
and the days to go until National Mentoring Day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from nmd_contracts.envelope import Event
from nmd_runtime.database import insert_ignore
from nmd_runtime.settings import env
from sqlalchemy import Boolean, Column, Connection, DateTime, String, Table, delete, select, update

from nmd_newsletter.tables import metadata

LONDON = ZoneInfo("Europe/London")

featured_stories = Table(
    "section_stories",
    metadata,
    Column("story_id", String(64), primary_key=True),
    Column("slug", String(120), nullable=False),
    Column("title", String(150), nullable=False),
    Column("credit", String(100)),
    Column("for_newsletter", Boolean, nullable=False),
    Column("featured", Boolean, nullable=False, default=False),
    Column("featured_at", DateTime(timezone=True)),
)

approved_partners = Table(
    "section_partners",
    metadata,
    Column("partner_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("profile_url", String(2048), nullable=False),
    Column("approved_at", DateTime(timezone=True), nullable=False),
)


# --- read models
# --------------------------------------------------------------------------------------------------


def instant(value: str | datetime) -> datetime:
    """An event's RFC 3339 timestamp as an aware UTC datetime: SQLite's DateTime takes only datetimes, and both
    databases then compare it with the issues' own (UTC) start times."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without an offset: {value!r}")
    return parsed.astimezone(UTC)


def on_story_published(conn: Connection, event: Event) -> None:
    data = event.data
    values = {
        "slug": data["slug"],
        "title": data["title"],
        "credit": data.get("credit"),
        "for_newsletter": "newsletter" in data["usage"],
    }
    if not insert_ignore(conn, featured_stories, {"story_id": data["story_id"], "featured": False} | values):
        conn.execute(
            update(featured_stories).where(featured_stories.c.story_id == data["story_id"]).values(values)
        )


def on_story_featured(conn: Connection, event: Event) -> None:
    data = event.data
    conn.execute(
        update(featured_stories)
        .where(featured_stories.c.story_id == data["story_id"])
        .values(featured=data["featured"], featured_at=instant(data["changed_at"]) if data["featured"] else None)
    )


def on_story_off_the_wall(conn: Connection, event: Event) -> None:
    # Withdrawn (erased) or unpublished (kept, maybe published again): either way out of the sections. An
    # unpublished story comes back unfeatured (the stories service clears its flag), so its row goes too and a
    # later story.published starts it afresh.
    conn.execute(delete(featured_stories).where(featured_stories.c.story_id == event.data["story_id"]))


def on_partner_approved(conn: Connection, event: Event) -> None:
    data = event.data
    values = {"name": data["name"], "profile_url": data["profile_url"]}
    approved_at = instant(data.get("approved_at") or event.time)
    row = {"partner_id": data["partner_id"], "approved_at": approved_at} | values
    if not insert_ignore(conn, approved_partners, row):
        conn.execute(
            update(approved_partners).where(approved_partners.c.partner_id == data["partner_id"]).values(values)
        )


def on_partner_withdrawn(conn: Connection, event: Event) -> None:
    conn.execute(delete(approved_partners).where(approved_partners.c.partner_id == event.data["partner_id"]))


HANDLERS = {
    "story.published": on_story_published,
    "story.featured": on_story_featured,
    "story.unpublished": on_story_off_the_wall,
    "story.withdrawn": on_story_off_the_wall,
    "partner.approved": on_partner_approved,
    "partner.updated": on_partner_approved,
    "partner.withdrawn": on_partner_withdrawn,
}


# --- sections
# -----------------------------------------------------------------------------------------------------


def days_to_go(today: date | None = None) -> int:
    today = today or datetime.now(LONDON).date()
    day = date(today.year, 10, 27)
    if day < today:
        day = date(today.year + 1, 10, 27)
    return (day - today).days


def sections(conn: Connection, since: datetime | None) -> dict[str, Any]:
    base = env("PUBLIC_BASE_URL")
    stories = select(featured_stories).where(
        featured_stories.c.featured.is_(True), featured_stories.c.for_newsletter.is_(True)
    )
    partners = select(approved_partners)
    if since is not None:
        stories = stories.where(featured_stories.c.featured_at > since)
        partners = partners.where(approved_partners.c.approved_at > since)
    return {
        "stories": [
            {"title": r.title, "credit": r.credit, "url": f"{base}/story/{r.slug}"}
            for r in conn.execute(stories.order_by(featured_stories.c.featured_at.desc()).limit(10))
        ],
        "partners": [
            {"name": r.name, "url": r.profile_url}
            for r in conn.execute(partners.order_by(approved_partners.c.approved_at.desc()).limit(30))
        ],
        "days_to_go": days_to_go(),
    }
