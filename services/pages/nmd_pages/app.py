"""The pages web app: `gunicorn 'nmd_pages.app:create_app()'`."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from flask import Flask
from nmd_runtime import settings
from nmd_runtime.database import make_engine, migrate
from nmd_runtime.staff import staff_blueprint
from nmd_runtime.tables import metadata as runtime_metadata
from nmd_runtime.web import create_service_app

from nmd_pages import api, campaign_events, deadletters_page, directory, home, mentor_roles, page_views, story_wall
from nmd_pages.campaign import load_calendar
from nmd_pages.site import CachedPages, Site, now, system_clock
from nmd_pages.tables import ensure_state_row, metadata

STATIC_DIR = Path(__file__).resolve().parent / "static"


@functools.cache
def pages_asset(filename: str) -> str:
    """/pages/static/<file>?v=<content hash>: cacheable for a long time, refreshed by each release."""
    digest = hashlib.sha256((STATIC_DIR / filename).read_bytes()).hexdigest()[:10]
    return f"/pages/static/{filename}?v={digest}"


def create_app(database_url: str | None = None, **overrides: Any) -> Flask:
    """overrides go to app.config; PAGES_CLOCK (a callable returning an aware datetime) fixes the time."""
    engine = make_engine(database_url or settings.database_url("pages"))
    migrate(engine, runtime_metadata, metadata)
    ensure_state_row(engine)
    app, smorest = create_service_app(
        "pages", title="National Mentoring Day pages", import_name=__name__, database=engine
    )
    app.config.update(
        PAGES_VERSION_TTL=1.0,
        PAGES_TOTAL_TTL=page_views.TOTAL_TTL,
        PAGES_CLOCK=system_clock,
        PAGES_CALENDAR_FILE=None,
        GEOIP_DATABASE=page_views.GEOIP_DATABASE.read() or None,
    )
    app.config.update(overrides)
    app.extensions["nmd_pages"] = Site(
        engine,
        load_calendar(app.config["PAGES_CALENDAR_FILE"]),
        app.config["PAGES_CLOCK"],
        version_ttl=app.config["PAGES_VERSION_TTL"],
    )
    app.extensions["nmd_pages_views"] = page_views.ViewsExtension(
        engine, app.config["GEOIP_DATABASE"], app.config["PAGES_TOTAL_TTL"]
    )
    app.jinja_env.globals["pages_asset"] = pages_asset
    app.jinja_env.globals["page_views_total"] = lambda: page_views.total_this_year(now())
    app.register_blueprint(staff_blueprint)
    for blueprint in (
        home.blueprint,
        mentor_roles.blueprint,
        directory.blueprint,
        story_wall.blueprint,
        campaign_events.blueprint,
        page_views.staff_page_views,
        deadletters_page.blueprint,
    ):
        app.register_blueprint(blueprint)
    smorest.register_blueprint(api.blueprint)
    app.wsgi_app = CachedPages(app)  # type: ignore[method-assign]
    return app
