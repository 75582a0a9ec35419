"""The home page: the countdown, the latest stories, how many partners and subscribers, and the calls to action."""

from __future__ import annotations

from flask import Blueprint, render_template

from nmd_pages import directory, story_wall, subscribers
from nmd_pages.countdown import countdown
from nmd_pages.site import now, public_page, site

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
@public_page
def home() -> str:
    state = site()
    current = now()
    with state.engine.connect() as conn:
        stories = story_wall.latest(conn)
        partners = directory.partner_count(conn)
        subscribed = subscribers.subscriber_count(conn)
    timer = countdown(state.calendar, current)
    return render_template(
        "pages/home.html",
        timer=timer,
        theme=state.calendar.theme(timer.year),
        edition=state.calendar.edition_number(timer.year),
        stories=stories,
        partner_count=partners,
        subscriber_count=subscribed,
        upcoming=state.calendar.upcoming(current)[:3],
        theme_labels=story_wall.THEME_LABELS,
        zone=state.calendar.zone,
        country_name=story_wall.country_name,
        role_labels=story_wall.ROLE_LABELS,
    )
