"""Visitors report a published story (spam, offensive, personal data); enough reports hide it for a moderator.

Hiding is reversible, unlike withdrawal: the story keeps its text and comes back if a moderator publishes it again
(which also clears its reports). A report stores only the reason and the time; no address, no cookie.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import Schema, ValidationError, fields
from nmd_contracts import fields as f
from nmd_runtime import settings, web
from sqlalchemy import Connection, insert, update

from nmd_stories import publishing
from nmd_stories.tables import load_story, stories, story_reports

THRESHOLD = settings.declare(
    "STORY_REPORT_THRESHOLD", "3", "Visitor reports that hide a published story until a moderator looks again."
)
REASONS = ("spam", "offensive", "personal_data")
REASON_LABELS = {
    "spam": "It is spam or advertising",
    "offensive": "It is offensive",
    "personal_data": "It shows someone's personal details",
}


def threshold() -> int:
    return max(1, int(THRESHOLD.read()))


def report(conn: Connection, story_id: str, reason: str, now: datetime, limit: int) -> dict[str, Any]:
    """Count one report; the one that reaches `limit` hides the story. LookupError unless it is on the wall."""
    story = load_story(conn, story_id, for_update=True)
    if story is None or story["status"] not in ("published", "hidden"):
        raise LookupError(story_id)
    conn.execute(insert(story_reports).values(story_id=story_id, reason=reason, reported_at=now))
    reports = story["open_reports"] + 1
    conn.execute(update(stories).where(stories.c.id == story_id).values(open_reports=reports))
    story["open_reports"] = reports
    if story["status"] == "published" and reports >= limit:
        story = publishing.take_down(conn, story_id, "hidden", now)
    return story


class StoryReport(Schema):
    reason = f.one_of(REASONS, required=True)


def _record(story_id: str, reason: str) -> None:
    with current_app.extensions["nmd_stories"]["engine"].begin() as conn:
        report(conn, story_id[:64], reason, datetime.now(UTC), threshold())


# --- the form, linked from each story's page ---

report_form = Blueprint("stories_report", __name__)


def _page(story_id: str, values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response:
    page = render_template(
        "stories/report.html", story_id=story_id, values=values, errors=errors, reasons=REASON_LABELS, done=False
    )
    return Response(page, status=status, mimetype="text/html")


@report_form.get("/stories/report/<story_id>")
def report_page(story_id: str) -> Response:
    return _page(story_id, {}, {})


@report_form.post("/stories/report/<story_id>")
@web.rate_limit(10, 3600)
def report_story(story_id: str) -> Response:
    values = {"reason": request.form.get("reason", "")}
    if not web.honeypot_tripped(request.form):
        try:
            data = StoryReport().load(values)
        except ValidationError as error:
            return _page(story_id, values, web.form_errors(error), 422)
        try:
            _record(story_id, data["reason"])
        except LookupError:
            web.abort_with(404, "There is no published story here.")
    return Response(render_template("stories/report.html", story_id=story_id, done=True), mimetype="text/html")


# --- the API ---

reports_api = SmorestBlueprint(
    "stories_reports_api",
    __name__,
    url_prefix="/api/stories",
    description="Report a published story to the moderators.",
)


class ReportReceived(Schema):
    received = fields.Boolean(required=True)


@reports_api.post("/<story_id>/reports")
@reports_api.arguments(StoryReport)
@reports_api.response(202, ReportReceived)
@reports_api.alt_response(404, description="No published story has this id.")
@web.rate_limit(10, 3600)
def report_story_api(data: dict[str, Any], story_id: str) -> dict[str, Any]:
    try:
        _record(story_id, data["reason"])
    except LookupError:
        web.abort_with(404, "There is no published story with this id.")
    return {"received": True}
