"""A small JSON API for other sites and the campaign's social posts: the countdown and the headline figures."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from nmd_pages import directory, page_views, story_wall, subscribers
from nmd_pages.countdown import countdown
from nmd_pages.site import now, site

blueprint = Blueprint("site_api", __name__, url_prefix="/api/site", description="Countdown and campaign figures")


class CountdownSchema(Schema):
    year = fields.Integer(required=True, metadata={"description": "The edition counted down to, or under way."})
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "00:00 Europe/London, as UTC."})
    ends_at = fields.AwareDateTime(required=True, metadata={"description": "The first instant after the day."})
    is_today = fields.Boolean(required=True)
    days = fields.Integer(required=True)
    hours = fields.Integer(required=True)
    minutes = fields.Integer(required=True)


class FiguresSchema(Schema):
    partners = fields.Integer(required=True)
    stories = fields.Integer(required=True)
    subscribers = fields.Integer(required=True)
    page_views_this_year = fields.Integer(required=True)


@blueprint.route("/countdown")
class CountdownResource(MethodView):
    @blueprint.response(200, CountdownSchema)
    def get(self) -> Any:
        """Time left until the next National Mentoring Day (27 October, Europe/London)."""
        return countdown(site().calendar, now())


@blueprint.route("/figures")
class FiguresResource(MethodView):
    @blueprint.response(200, FiguresSchema)
    def get(self) -> Any:
        """Approved partners, stories on the wall, confirmed subscribers and page views since 1 January."""
        with site().engine.connect() as conn:
            figures = {
                "partners": directory.partner_count(conn),
                "stories": story_wall.story_count(conn),
                "subscribers": subscribers.subscriber_count(conn),
            }
        return figures | {"page_views_this_year": page_views.total_this_year(now())}
