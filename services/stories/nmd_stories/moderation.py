"""The moderators' pages (/stories/staff/...): the queue with its flags, and the decisions on one story.

Every route needs a signed-in moderator; the decisions themselves live in publishing.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError, fields, validate
from nmd_contracts import fields as f
from nmd_contracts.vocab import MENTOR_ROLES, STORY_ROLES
from nmd_runtime import web
from nmd_runtime.staff import staff_required
from sqlalchemy import exists, select

from nmd_stories import checks, publishing, story_text, submission
from nmd_stories.tables import STATUSES, load_story, stories, story_dict, story_themes

FLAGS = ("personal_data", "profanity", "duplicate_of", "reported")
FLAG_LABELS = {
    "personal_data": "Personal data",
    "profanity": "Profanity",
    "duplicate_of": "Possible duplicate",
    "reported": "Reported by visitors",
}
QUEUE_LIMIT = 200

moderation = Blueprint("stories_staff", __name__, url_prefix="/stories/staff")


class QueueFilters(Schema):
    status = fields.String(load_default="submitted", validate=validate.OneOf((*STATUSES, "all")))
    flag = f.optional(f.one_of(FLAGS))
    role = f.optional(f.one_of(STORY_ROLES))
    theme = f.optional(f.one_of(MENTOR_ROLES))


class Rejection(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class Edit(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    story = fields.String(
        required=True, validate=validate.Length(min=submission.MIN_STORY, max=submission.MAX_STORY)
    )
    themes = f.choice_set(MENTOR_ROLES, min_items=1, required=True)


def _engine() -> Any:
    return current_app.extensions["nmd_stories"]["engine"]


def raised_flags(story: dict[str, Any]) -> list[str]:
    return checks.flag_names(story["flags"] or {}) + (["reported"] if story["open_reports"] else [])


def queue(filters: dict[str, Any]) -> list[dict[str, Any]]:
    query = select(stories).order_by(stories.c.submitted_at).limit(QUEUE_LIMIT)
    if filters["status"] != "all":
        query = query.where(stories.c.status == filters["status"])
    if filters.get("role"):
        query = query.where(stories.c.role == filters["role"])
    if filters.get("theme"):
        query = query.where(
            exists().where(story_themes.c.story_id == stories.c.id, story_themes.c.theme == filters["theme"])
        )
    with _engine().connect() as conn:
        found = [story_dict(row) for row in conn.execute(query).mappings()]
    for story in found:
        story["raised_flags"] = raised_flags(story)
    return [s for s in found if not filters.get("flag") or filters["flag"] in s["raised_flags"]]


@moderation.get("/")
@staff_required("moderator")
def queue_page() -> Response:
    values = {name: request.args.get(name) or None for name in ("status", "flag", "role", "theme")}
    try:
        filters = QueueFilters().load({k: v for k, v in values.items() if v is not None})
        errors: dict[str, str] = {}
    except ValidationError as error:
        filters, errors = QueueFilters().load({}), web.form_errors(error)
    page = render_template(
        "stories/staff_queue.html",
        stories=queue(filters),
        filters=filters,
        errors=errors,
        statuses=STATUSES,
        flag_labels=FLAG_LABELS,
        roles=submission.ROLE_LABELS,
        themes=submission.THEME_LABELS,
    )
    return Response(page, status=422 if errors else 200, mimetype="text/html")


def _story_page(
    story_id: str, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None, status: int = 200
) -> Response:
    with _engine().connect() as conn:
        story = load_story(conn, story_id)
    if story is None:
        web.abort_with(404, "There is no story with this id.")
    preview = story_text.body_html(story["body"]) if story["body"] else ""
    page = render_template(
        "stories/staff_story.html",
        story=story,
        flags=story["flags"] or {},
        raised=raised_flags(story),
        flag_labels=FLAG_LABELS,
        preview=preview,
        credit=publishing.public_credit(story),
        photo_url=publishing.public_photo_url(story) if story["photo_key"] else None,
        errors=errors or {},
        values=values or {"title": story["title"], "story": story["body"], "themes": story["themes"]},
        themes=submission.THEME_LABELS,
        done=request.args.get("done"),
        can=_possible(story["status"]),
    )
    return Response(page, status=status, mimetype="text/html")


def _possible(status: str) -> dict[str, bool]:
    return {
        "publish": status in publishing.PUBLISHABLE,
        "reject": status in publishing.REJECTABLE,
        "edit": status in publishing.EDITABLE,
        "feature": status in publishing.ON_THE_WALL,
        "unpublish": status in ("published", "hidden"),
    }


@moderation.get("/<story_id>")
@staff_required("moderator")
def story_page(story_id: str) -> Response:
    return _story_page(story_id)


def _decide(story_id: str, done: str, decision: Callable[..., Any], *args: Any) -> Response:
    try:
        with _engine().begin() as conn:
            decision(conn, story_id, *args, datetime.now(UTC))
    except LookupError:
        web.abort_with(404, "There is no story with this id.")
    except publishing.Refused as refused:
        web.abort_with(409, str(refused))
    return redirect(url_for("stories_staff.story_page", story_id=story_id, done=done), code=303)


@moderation.post("/<story_id>/publish")
@staff_required("moderator")
def publish(story_id: str) -> Response:
    return _decide(story_id, "published", publishing.publish)


@moderation.post("/<story_id>/reject")
@staff_required("moderator")
def reject(story_id: str) -> Response:
    try:
        data = Rejection().load({"reason": request.form.get("reason", "").strip()})
    except ValidationError as error:
        return _story_page(story_id, web.form_errors(error), status=422)
    return _decide(story_id, "rejected", publishing.reject, data["reason"])


@moderation.post("/<story_id>/feature")
@staff_required("moderator")
def feature(story_id: str) -> Response:
    featured = request.form.get("featured") == "yes"
    return _decide(story_id, "featured" if featured else "unfeatured", publishing.feature, featured)


@moderation.post("/<story_id>/unpublish")
@staff_required("moderator")
def unpublish(story_id: str) -> Response:
    return _decide(story_id, "unpublished", publishing.take_down, "unpublished")


@moderation.post("/<story_id>/redact")
@staff_required("moderator")
def redact(story_id: str) -> Response:
    return _decide(story_id, "redacted", publishing.redact_personal_data)


@moderation.post("/<story_id>/edit")
@staff_required("moderator")
def edit(story_id: str) -> Response:
    values = {
        "title": request.form.get("title", "").strip(),
        "story": story_text.normalise(request.form.get("story", "")),
        "themes": request.form.getlist("themes"),
    }
    try:
        data = Edit().load(values)
    except ValidationError as error:
        return _story_page(story_id, web.form_errors(error), values, status=422)
    return _decide(story_id, "edited", publishing.edit, data["title"], data["story"], data["themes"])
