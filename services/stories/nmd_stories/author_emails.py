"""Emails to a story's author, asked of the newsletter service's mailer as email.requested commands.

The withdraw link signs the story id (never the address) and does not expire: an author may withdraw at any time.
"""

from __future__ import annotations

from typing import Any

from nmd_runtime import outbox, settings, tokens
from sqlalchemy import Connection

SOURCE = "/services/stories"
WITHDRAW_PURPOSE = "story-withdraw"


def public_base_url() -> str:
    return settings.env("PUBLIC_BASE_URL").rstrip("/")


def withdraw_url(story_id: str) -> str:
    return f"{public_base_url()}/stories/withdraw/{tokens.make_token(WITHDRAW_PURPOSE, story_id)}"


def story_url(slug: str) -> str:
    return f"{public_base_url()}/story/{slug}"


def author_name(story: dict[str, Any]) -> str:
    # The name given in the form (private: emails are not public), whatever credit was chosen for the wall.
    return (story.get("display_name") or "").strip() or "storyteller"


def _ask(conn: Connection, story: dict[str, Any], template: str, context: dict[str, Any]) -> None:
    if not story.get("contact_email"):
        return
    key = f"{template}:{story['id']}"
    data = {
        "template": template,
        "to": story["contact_email"],
        "to_name": (story.get("display_name") or None),
        "context": {"title": story["title"], "author_name": author_name(story), **context},
        "idempotency_key": key,
        "stream": "transactional",
    }
    # notifications.email is keyed by the idempotency key, so a command and its retries share a partition.
    outbox.publish(conn, "email.requested", key, data, source=SOURCE)


def acknowledge(conn: Connection, story: dict[str, Any]) -> None:
    _ask(conn, story, "story_acknowledgement", {"withdraw_url": withdraw_url(story["id"])})


def tell_published(conn: Connection, story: dict[str, Any]) -> None:
    _ask(
        conn,
        story,
        "story_published",
        {"story_url": story_url(story["slug"]), "withdraw_url": withdraw_url(story["id"])},
    )


def tell_rejected(conn: Connection, story: dict[str, Any], reason: str) -> None:
    _ask(conn, story, "story_rejected", {"reason": reason})
