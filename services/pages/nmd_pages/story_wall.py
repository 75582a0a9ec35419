"""The story wall: published stories, read only from stories.events, at /stories and /story/<slug>.

Only stories whose submitter allowed the story wall are kept. Unpublishing (by a moderator, or after visitor
reports) takes a story off until it is published again. A withdrawal deletes the story and folds its page address
out of the page-view counts, so nothing of it stays behind.
"""

from __future__ import annotations

from typing import Any

import nh3
from flask import Blueprint, abort, render_template, request
from markupsafe import Markup
from marshmallow import Schema, ValidationError, fields, validate
from nmd_contracts.envelope import Event
from nmd_contracts.vocab import MENTOR_ROLES, STORY_ROLES
from nmd_runtime import database, web
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Index,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)

from nmd_pages import page_views, tables
from nmd_pages.countries import country_name
from nmd_pages.mentor_roles import LABELS as THEME_LABELS
from nmd_pages.site import public_page, site

stories = Table(
    "wall_stories",
    tables.metadata,
    Column("story_id", String(64), primary_key=True),
    Column("slug", String(120), nullable=False),
    Column("title", String(150), nullable=False),
    Column("body_html", Text, nullable=False),
    Column("credit", String(100)),
    Column("role", String(20), nullable=False),
    # ",theme_a,theme_b,": a LIKE on ",theme," filters the same way on SQLite and PostgreSQL.
    Column("themes", String(400), nullable=False),
    Column("partner_name", String(200)),
    Column("country", String(2)),
    Column("photo_url", String(2048)),
    Column("featured", Boolean, nullable=False, default=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Index("wall_stories_slug", "slug"),
    Index("wall_stories_published", "published_at"),
)

ROLE_LABELS = {"mentor": "Mentor", "mentee": "Mentee", "organisation": "Organisation", "other": "Other"}
WITHDRAWN_PAGE = "/story/withdrawn"
WALL_SIZE = 60


def story_page(slug: str) -> str:
    return f"/story/{slug}"


# --- the read model ----------------------------------------------------------------------------------------------


def on_story_published(conn: Connection, event: Event) -> None:
    data = event.data
    if "story_wall" not in data["usage"]:
        # Published for other channels only: make sure an earlier wall version is gone too.
        _remove(conn, data["story_id"])
        return
    values = {
        "story_id": data["story_id"],
        "slug": data["slug"],
        "title": data["title"],
        # Sanitised upstream; cleaned again because HTML from elsewhere is never trusted as it is.
        "body_html": nh3.clean(data["body_html"]),
        "credit": data.get("credit"),
        "role": data["role"],
        "themes": "," + ",".join(data["themes"]) + ",",
        "partner_name": data.get("partner_name"),
        "country": data.get("country"),
        "photo_url": data.get("photo_url"),
        "featured": False,
        "published_at": tables.instant(data["published_at"]),
    }
    database.upsert(conn, stories, values, ["story_id"], keep=("featured",))
    tables.bump_version(conn)


def on_story_featured(conn: Connection, event: Event) -> None:
    conn.execute(
        update(stories).where(stories.c.story_id == event.data["story_id"]).values(featured=event.data["featured"])
    )
    tables.bump_version(conn)


def on_story_unpublished(conn: Connection, event: Event) -> None:
    """Off the wall for now (a moderator's decision or visitor reports): only the row goes. Its page-view counts
    stay, because a later story.published brings the story back at the same address."""
    removed = conn.execute(delete(stories).where(stories.c.story_id == event.data["story_id"]))
    if removed.rowcount:
        tables.bump_version(conn)


def on_story_withdrawn(conn: Connection, event: Event) -> None:
    _remove(conn, event.data["story_id"])


def _remove(conn: Connection, story_id: str) -> None:
    slug = conn.execute(select(stories.c.slug).where(stories.c.story_id == story_id)).scalar_one_or_none()
    if slug is None:
        return
    conn.execute(delete(stories).where(stories.c.story_id == story_id))
    page_views.forget_page(conn, story_page(slug), WITHDRAWN_PAGE)
    tables.bump_version(conn)


HANDLERS = {
    "story.published": on_story_published,
    "story.featured": on_story_featured,
    "story.unpublished": on_story_unpublished,
    "story.withdrawn": on_story_withdrawn,
}


def latest(conn: Connection, limit: int = 3) -> list[Any]:
    """Featured stories first, then the newest."""
    query = select(stories).order_by(stories.c.featured.desc(), stories.c.published_at.desc()).limit(limit)
    return list(conn.execute(query).mappings().all())


def story_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(stories)).scalar_one())


# --- the pages ---------------------------------------------------------------------------------------------------


class WallFilter(Schema):
    theme = fields.String(load_default=None, validate=validate.OneOf(MENTOR_ROLES))
    role = fields.String(load_default=None, validate=validate.OneOf(STORY_ROLES))
    country = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z]{2}$"))


def _filters() -> dict[str, Any]:
    raw = {key: value for key, value in request.args.items() if value and key in ("theme", "role", "country")}
    try:
        return WallFilter().load(raw)
    except ValidationError as error:
        web.abort_with(422, "That filter is not one the story wall offers.", error.messages)  # type: ignore[arg-type]


blueprint = Blueprint("story_wall", __name__)


@blueprint.get("/stories")
@public_page
def wall() -> str:
    chosen = _filters()
    query = select(stories).order_by(stories.c.featured.desc(), stories.c.published_at.desc()).limit(WALL_SIZE)
    if chosen["theme"]:
        query = query.where(stories.c.themes.like(f"%,{chosen['theme']},%"))
    if chosen["role"]:
        query = query.where(stories.c.role == chosen["role"])
    if chosen["country"]:
        query = query.where(stories.c.country == chosen["country"])
    with site().engine.connect() as conn:
        shown = conn.execute(query).mappings().all()
        countries = conn.execute(
            select(stories.c.country).where(stories.c.country.is_not(None)).distinct()
        ).scalars()
        country_options = sorted(((c, country_name(c)) for c in countries), key=lambda pair: pair[1])
        total = story_count(conn)
    return render_template(
        "pages/stories.html",
        stories=shown,
        total=total,
        chosen=chosen,
        country_options=country_options,
        theme_options=list(THEME_LABELS.items()),
        role_options=list(ROLE_LABELS.items()),
        theme_labels=THEME_LABELS,
        role_labels=ROLE_LABELS,
        country_name=country_name,
        themes_of=themes_of,
    )


def themes_of(story: Any) -> list[str]:
    return [theme for theme in story["themes"].split(",") if theme]


@blueprint.get("/story/<slug>")
@public_page
def story(slug: str) -> str:
    with site().engine.connect() as conn:
        found = conn.execute(select(stories).where(stories.c.slug == slug)).mappings().first()
    if found is None:
        abort(404)
    return render_template(
        "pages/story.html",
        story=found,
        body=Markup(nh3.clean(found["body_html"])),
        theme_labels=THEME_LABELS,
        role_labels=ROLE_LABELS,
        country_name=country_name,
        themes=themes_of(found),
    )
