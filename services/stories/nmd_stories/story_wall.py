"""The public API of published stories: GET /api/stories (paginated, filtered) and GET /api/stories/<id>.

Only stories on the wall, and only their public fields (the same ones story.published carries).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from nmd_contracts import fields as f
from nmd_contracts.events.stories import StoryPublished
from nmd_contracts.vocab import MENTOR_ROLES, STORY_ROLES
from nmd_runtime import web
from sqlalchemy import Connection, exists, func, select

from nmd_stories import publishing
from nmd_stories.tables import load_story, stories, story_dict, story_themes

MAX_PER_PAGE = 50

wall = Blueprint(
    "stories_wall_api",
    __name__,
    url_prefix="/api/stories",
    description="Published mentoring stories, as shown on the story wall.",
)


class StoryFilters(Schema):
    theme = f.optional(f.one_of(MENTOR_ROLES))
    role = f.optional(f.one_of(STORY_ROLES))
    country = f.optional(f.country())
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PublicStory(StoryPublished):
    featured = fields.Boolean(required=True)


class StoryPage(Schema):
    items = fields.List(fields.Nested(PublicStory), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


def _with_themes(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_story: dict[str, list[str]] = defaultdict(list)
    ids = [row["id"] for row in rows]
    if ids:
        for story_id, theme in conn.execute(
            select(story_themes.c.story_id, story_themes.c.theme).where(story_themes.c.story_id.in_(ids))
        ):
            by_story[story_id].append(theme)
    return [row | {"themes": sorted(by_story[row["id"]], key=MENTOR_ROLES.index)} for row in rows]


def public_story(story: dict[str, Any]) -> dict[str, Any]:
    return publishing.public_fields(story) | {"featured": bool(story["featured"])}


def published_stories(conn: Connection, filters: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    where = [stories.c.status.in_(publishing.ON_THE_WALL)]
    if filters.get("role"):
        where.append(stories.c.role == filters["role"])
    if filters.get("country"):
        where.append(stories.c.country == filters["country"])
    if filters.get("theme"):
        where.append(
            exists().where(story_themes.c.story_id == stories.c.id, story_themes.c.theme == filters["theme"])
        )
    total = conn.execute(select(func.count()).select_from(stories).where(*where)).scalar_one()
    per_page = filters["per_page"]
    rows = conn.execute(
        select(stories)
        .where(*where)
        .order_by(stories.c.featured.desc(), stories.c.published_at.desc(), stories.c.id)
        .limit(per_page)
        .offset((filters["page"] - 1) * per_page)
    ).mappings()
    return _with_themes(conn, [story_dict(row) for row in rows]), total


@wall.get("")
@wall.arguments(StoryFilters, location="query")
@wall.response(200, StoryPage)
def list_stories(filters: dict[str, Any]) -> dict[str, Any]:
    with current_app.extensions["nmd_stories"]["engine"].connect() as conn:
        found, total = published_stories(conn, filters)
    return {
        "items": [public_story(story) for story in found],
        "page": filters["page"],
        "per_page": filters["per_page"],
        "total": total,
    }


@wall.get("/<story_id>")
@wall.response(200, PublicStory)
@wall.alt_response(404, description="No published story has this id.")
def one_story(story_id: str) -> dict[str, Any]:
    with current_app.extensions["nmd_stories"]["engine"].connect() as conn:
        story = load_story(conn, story_id[:64])
    if story is None or story["status"] not in publishing.ON_THE_WALL:
        web.abort_with(404, "There is no published story with this id.")
    return public_story(story)
