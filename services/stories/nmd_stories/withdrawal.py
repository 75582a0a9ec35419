"""The author withdraws a story with the signed link from their emails: it leaves the wall at once and is erased.

Erased here means the title, text, names, contact email and photo are gone from this database and the media store;
story.withdrawn tells every read model to delete its copy. What stays is the id, role, country and themes, which
identify nobody and keep the counters right. The link's page asks before acting: mail scanners follow links.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template
from nmd_runtime import outbox, tokens, web
from sqlalchemy import Connection, delete, update

from nmd_stories import author_emails, photos
from nmd_stories.tables import load_story, stories, story_reports

ERASED = {
    "title": None,
    "body": None,
    "display_name": None,
    "partner_name": None,
    "contact_email": None,
    "photo_key": None,
    "reject_reason": None,
    "flags": {},
    "featured": False,
    "open_reports": 0,
}


def withdraw(conn: Connection, story_id: str, now: datetime) -> bool:
    """Erase the story and announce it; False when it was already withdrawn (the link was used before)."""
    story = load_story(conn, story_id, for_update=True)
    if story is None:
        raise LookupError(story_id)
    if story["status"] == "withdrawn":
        return False
    conn.execute(
        update(stories)
        .where(stories.c.id == story_id)
        .values(status="withdrawn", withdrawn_at=now, updated_at=now, **ERASED)
    )
    conn.execute(delete(story_reports).where(story_reports.c.story_id == story_id))
    outbox.publish(
        conn, "story.withdrawn", story_id, {"story_id": story_id, "withdrawn_at": now}, source=author_emails.SOURCE
    )
    if story["photo_key"]:
        # Inside the transaction: if the store cannot delete it, nothing is withdrawn and the author can retry.
        photos.store().delete(story["photo_key"])
    return True


def story_from_link(token: str) -> str:
    try:
        value = tokens.read_token(author_emails.WITHDRAW_PURPOSE, token, None)
    except tokens.BadLink:
        web.abort_with(404, "This withdraw link is not valid. Please use the link in our email to you.")
    if not isinstance(value, str):
        web.abort_with(404, "This withdraw link is not valid.")
    return value


withdrawal = Blueprint("stories_withdrawal", __name__)


def _engine() -> Any:
    return current_app.extensions["nmd_stories"]["engine"]


@withdrawal.get("/stories/withdraw/<token>")
def confirm_withdrawal(token: str) -> Response:
    story_id = story_from_link(token)
    with _engine().connect() as conn:
        story = load_story(conn, story_id)
    if story is None:
        web.abort_with(404, "This story no longer exists.")
    page = render_template("stories/withdraw.html", story=story, done=story["status"] == "withdrawn")
    return Response(page, mimetype="text/html")


@withdrawal.post("/stories/withdraw/<token>")
@web.rate_limit(20, 3600)
def withdraw_story(token: str) -> Response:
    story_id = story_from_link(token)
    try:
        with _engine().begin() as conn:
            withdraw(conn, story_id, datetime.now(UTC))
    except LookupError:
        web.abort_with(404, "This story no longer exists.")
    return Response(render_template("stories/withdraw.html", story=None, done=True), mimetype="text/html")
