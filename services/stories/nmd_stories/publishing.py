"""What a published story shows in public, and the moderation decisions that change it.

These are plain functions over a connection, free of Flask, so the rules are testable and the web layer stays
thin. Each runs inside the caller's transaction and records its events in the outbox there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nmd_contracts.vocab import MENTOR_ROLES
from nmd_runtime import outbox
from sqlalchemy import Connection, update

from nmd_stories import author_emails, checks, photos, story_text
from nmd_stories.tables import load_story, set_themes, stories

SOURCE = author_emails.SOURCE
EDITABLE = ("submitted", "published", "unpublished", "hidden")
PUBLISHABLE = ("submitted", "unpublished", "hidden")
REJECTABLE = ("submitted", "unpublished", "hidden")
ON_THE_WALL = ("published",)
# story.unpublished's reason for each way off the wall.
UNPUBLISH_REASONS = {"unpublished": "moderator", "hidden": "reports"}


class Refused(Exception):
    """The decision does not fit the story's state (publishing a withdrawn story, featuring a draft...)."""


# --- what the public sees ---


def public_credit(story: dict[str, Any]) -> str | None:
    """The name shown with the story: none for an under-18 or an anonymous story, whatever else was typed."""
    if story["under_18"] or story["credit"] == "anonymous":
        return None
    name = " ".join((story.get("display_name") or "").split())
    if not name:
        return None
    return name.split(" ")[0] if story["credit"] == "first_name" else name


def public_photo_url(story: dict[str, Any]) -> str | None:
    if story["under_18"] or not story.get("photo_key"):
        return None
    return photos.public_url(story["photo_key"])


def public_fields(story: dict[str, Any]) -> dict[str, Any]:
    """Exactly the data of story.published: never the contact email, age, consent or real name behind a credit."""
    return {
        "story_id": story["id"],
        "slug": story["slug"],
        "title": story["title"],
        "body_html": story_text.body_html(story["body"]),
        "credit": public_credit(story),
        "role": story["role"],
        "themes": list(story["themes"]),
        "partner_name": story.get("partner_name"),
        "country": story.get("country"),
        "photo_url": public_photo_url(story),
        "usage": list(story["usage"]),
        "published_at": story["published_at"],
    }


# --- decisions ---


def _story(conn: Connection, story_id: str, allowed: tuple[str, ...], action: str) -> dict[str, Any]:
    story = load_story(conn, story_id, for_update=True)
    if story is None:
        raise LookupError(story_id)
    if story["status"] not in allowed:
        raise Refused(f"A story that is {story['status']} cannot be {action}.")
    return story


def _save(conn: Connection, story: dict[str, Any], now: datetime, **values: Any) -> dict[str, Any]:
    conn.execute(update(stories).where(stories.c.id == story["id"]).values(updated_at=now, **values))
    story.update(values, updated_at=now)
    return story


def _announce(conn: Connection, story: dict[str, Any]) -> None:
    outbox.publish(conn, "story.published", story["id"], public_fields(story), source=SOURCE)


def publish(conn: Connection, story_id: str, now: datetime) -> dict[str, Any]:
    """Put the story on the wall (again, after it was hidden or unpublished); its reports start afresh."""
    story = _story(conn, story_id, PUBLISHABLE, "published")
    first_time = story["published_at"] is None
    story = _save(conn, story, now, status="published", published_at=story["published_at"] or now, open_reports=0)
    _announce(conn, story)
    if first_time:
        author_emails.tell_published(conn, story)
    return story


def reject(conn: Connection, story_id: str, reason: str, now: datetime) -> dict[str, Any]:
    story = _story(conn, story_id, REJECTABLE, "rejected")
    story = _save(conn, story, now, status="rejected", reject_reason=reason, featured=False)
    outbox.publish(
        conn,
        "story.rejected",
        story_id,
        {"story_id": story_id, "reason": reason, "rejected_at": now},
        source=SOURCE,
    )
    author_emails.tell_rejected(conn, story, reason)
    return story


def feature(conn: Connection, story_id: str, featured: bool, now: datetime) -> dict[str, Any]:
    story = _story(conn, story_id, ON_THE_WALL, "featured")
    if story["featured"] == featured:
        return story
    story = _save(conn, story, now, featured=featured)
    outbox.publish(
        conn,
        "story.featured",
        story_id,
        {"story_id": story_id, "featured": featured, "changed_at": now},
        source=SOURCE,
    )
    return story


def take_down(conn: Connection, story_id: str, status: str, now: datetime) -> dict[str, Any]:
    """Off the wall until a moderator publishes it again: `unpublished` by a moderator, `hidden` after reports.

    Read models are told with story.unpublished (not story.withdrawn, which means erase everything); a later
    story.published puts the story back. A hidden story a moderator then unpublishes is already off the wall, so
    only leaving "published" is announced.
    """
    story = _story(conn, story_id, ("published", "hidden"), "taken down")
    was_on_the_wall = story["status"] in ON_THE_WALL
    story = _save(conn, story, now, status=status, featured=False)
    if was_on_the_wall:
        data = {"story_id": story_id, "reason": UNPUBLISH_REASONS[status], "unpublished_at": now}
        outbox.publish(conn, "story.unpublished", story_id, data, source=SOURCE)
    return story


def edit(
    conn: Connection, story_id: str, title: str, body: str, themes: list[str], now: datetime
) -> dict[str, Any]:
    """A moderator's correction; the checks run again, and a story already on the wall is re-announced."""
    story = _story(conn, story_id, EDITABLE, "edited")
    body = story_text.normalise(body)
    flags = checks.run_checks(conn, title, body, story_id=story_id)
    themes = [theme for theme in MENTOR_ROLES if theme in themes]
    set_themes(conn, story_id, themes)
    story = _save(conn, story, now, title=title, body=body, flags=flags)
    story["themes"] = themes
    if story["status"] == "published":
        _announce(conn, story)
    return story


def redact_personal_data(conn: Connection, story_id: str, now: datetime) -> dict[str, Any]:
    """The one-click redaction: every email address and phone number in title and text replaced by a mark."""
    story = _story(conn, story_id, EDITABLE, "redacted")
    return edit(conn, story_id, checks.redact(story["title"]), checks.redact(story["body"]), story["themes"], now)
